import { createHash } from 'crypto';
import { Arn, Aws, Duration, Lazy, Stack, Tags } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { Colour, COLOUR_TAG_KEY, imageParameterName, versionParameterName } from './private/contract';
import { CountAlarmOptions, FleetAlarmOptions, LatencyAlarmOptions } from './fleet-props';
import { FleetResourcesProvider } from './private/fleet-resources';
import { ALARM_DEFAULTS } from './private/validation';

/** What a {@link FleetColour} is built from: the fleet's resolved settings. */
export interface FleetColourProps {
  readonly colour: Colour;
  readonly vpc: ec2.IVpc;
  readonly vpcSubnets: ec2.SubnetSelection;
  readonly instanceType: ec2.InstanceType;
  readonly osType: ec2.OperatingSystemType;
  readonly userData?: ec2.UserData;
  readonly securityGroup: ec2.ISecurityGroup;
  readonly role: iam.IRole;
  readonly minCapacity: number;
  readonly maxCapacity: number;
  readonly healthCheckGracePeriod: Duration;
  readonly targetGroupProps: elbv2.ApplicationTargetGroupProps;
  readonly parameterPrefix: string;
  readonly initialImageId: string;
  readonly initialVersion: string;
  readonly alarms: FleetAlarmOptions;
  readonly notificationTopic?: sns.ITopic;
}

/**
 * One colour of a {@link BlueGreenFleet}: its launch template, Auto Scaling group,
 * target group, version parameters and built-in alarms.
 */
export class FleetColour extends Construct {
  /** Which colour this is. */
  public readonly colour: Colour;
  /** The colour's launch template (its image resolves from `imageParameterName` at launch). */
  public readonly launchTemplate: ec2.LaunchTemplate;
  /** The colour's Auto Scaling group. Its desired capacity is owned by the cutover workflow. */
  public readonly autoScalingGroup: autoscaling.AutoScalingGroup;
  /** The colour's target group. */
  public readonly targetGroup: elbv2.ApplicationTargetGroup;
  /** Name of the SSM parameter holding the image id this colour launches. */
  public readonly imageParameterName: string;
  /** Name of the SSM parameter holding the application version this colour runs. */
  public readonly versionParameterName: string;
  /** ARNs of the two parameters above. */
  public readonly parameterArns: string[];
  /** The built-in alarms of this colour (those enabled) that roll a cutover into this colour back. */
  public readonly alarms: cloudwatch.Alarm[] = [];
  /**
   * `HealthyHostCount` below 1: the colour serves nothing. Not among {@link alarms}: cutovers look
   * at the target group's health directly, with no metric delay.
   */
  public healthyHostsAlarm?: cloudwatch.Alarm;

  private ownLoadBalancer?: { loadBalancer: elbv2.ApplicationLoadBalancer; listener: elbv2.ApplicationListener; rule: elbv2.ApplicationListenerRule };

  constructor(scope: Construct, id: string, props: FleetColourProps) {
    super(scope, id);
    this.colour = props.colour;
    const stack = Stack.of(this);
    this.imageParameterName = imageParameterName(props.parameterPrefix, props.colour);
    this.versionParameterName = versionParameterName(props.parameterPrefix, props.colour);
    this.parameterArns = [this.imageParameterName, this.versionParameterName].map((name) => Arn.format({
      service: 'ssm',
      resource: 'parameter',
      resourceName: name.substring(1),
    }, stack));

    // The parameters are written once, when the fleet is created; afterwards only the cutover
    // workflow writes them. A template property holding the version would be re-applied by
    // CloudFormation and silently change what the next launch runs. The image parameter has the
    // data type launch templates need to resolve it at launch (`resolve:ssm:` works only with
    // `aws:ec2:image`: EC2 Auto Scaling user guide, "Use AWS Systems Manager parameters instead
    // of AMI IDs in launch templates").
    const provider = FleetResourcesProvider.of(this);
    provider.grantParameters(this.parameterArns, true);
    const describe = (what: string) => `${what} of the ${props.colour} colour; written by the cutover workflow.`;
    const imageParameter = provider.parameter(this, 'ImageParameter', {
      Name: this.imageParameterName, Value: props.initialImageId, DataType: 'aws:ec2:image', Description: describe('Image id'),
    });
    const versionParameter = provider.parameter(this, 'VersionParameter', {
      Name: this.versionParameterName, Value: props.initialVersion, DataType: 'text', Description: describe('Application version'),
    });

    this.launchTemplate = new ec2.LaunchTemplate(this, 'LaunchTemplate', {
      instanceType: props.instanceType,
      machineImage: ec2.MachineImage.resolveSsmParameterAtLaunch(this.imageParameterName, { os: props.osType }),
      userData: colourUserData(props),
      securityGroup: props.securityGroup,
      role: props.role,
      requireImdsv2: true,
      httpPutResponseHopLimit: 1,
      instanceMetadataTags: true,
      blockDevices: [{
        deviceName: props.osType === ec2.OperatingSystemType.WINDOWS ? '/dev/sda1' : '/dev/xvda',
        volume: ec2.BlockDeviceVolume.ebs(props.osType === ec2.OperatingSystemType.WINDOWS ? 50 : 20, {
          encrypted: true,
          volumeType: ec2.EbsDeviceVolumeType.GP3,
          deleteOnTermination: true,
        }),
      }],
    });
    // The image must be resolvable before a launch template version names it.
    this.launchTemplate.node.addDependency(imageParameter);

    this.autoScalingGroup = new autoscaling.AutoScalingGroup(this, 'Group', {
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets,
      launchTemplate: this.launchTemplate,
      // Template sizes must not depend on which colour is live (that changes at run time): both
      // colours start at 0, a new fleet's first live colour is sized once by the initial-capacity
      // resource, and the workflow sizes the colour it prepares from the configured capacity.
      minCapacity: 0,
      maxCapacity: props.maxCapacity,
      healthChecks: autoscaling.HealthChecks.withAdditionalChecks({
        additionalTypes: [autoscaling.AdditionalHealthCheckType.ELB],
        gracePeriod: props.healthCheckGracePeriod,
      }),
      notifications: props.notificationTopic ? [{ topic: props.notificationTopic }] : undefined,
    });
    for (const p of [imageParameter, versionParameter]) this.autoScalingGroup.node.addDependency(p);
    // Without DesiredCapacity, CloudFormation would still re-apply MinSize and MaxSize on every
    // update of the group, resizing a colour the workflow has scaled. This policy makes it
    // apply them only when they change in the template.
    const cfnGroup = this.autoScalingGroup.node.defaultChild as autoscaling.CfnAutoScalingGroup;
    cfnGroup.cfnOptions.updatePolicy = {
      ...cfnGroup.cfnOptions.updatePolicy,
      autoScalingScheduledAction: { ignoreUnmodifiedGroupSizeProperties: true },
    };
    // What a colour launches changes only through a cutover. A deploy that changes the launch
    // template adds a version to it, and CloudFormation never changes a launch template's default
    // version (it cannot set it at all); the group launches the *default* version, which
    // "Prepare" moves to the latest when it releases into this colour. Had the group named
    // LatestVersionNumber, a change of user data or instance type would reach the live colour's
    // next scale-out with no cutover and no smoke test.
    cfnGroup.addPropertyOverride('LaunchTemplate.Version', this.launchTemplate.defaultVersionNumber);
    // CloudFormation re-applies the group's properties whenever any of them changes, with the
    // default version number as it read it at the template's last update. Any change to the group
    // therefore changes the template's description as well, so that the template is updated
    // first and the number read is the one the workflow set, not an older one.
    const cfnTemplate = this.launchTemplate.node.defaultChild as ec2.CfnLaunchTemplate;
    cfnTemplate.versionDescription = Lazy.string({
      produce: () => `${props.colour} colour, group settings ${createHash('sha256').update(JSON.stringify(stack.resolve((cfnGroup as any)._toCloudFormation()))).digest('hex').slice(0, 16)}`,
    });
    Tags.of(this.autoScalingGroup).add(COLOUR_TAG_KEY, props.colour, { applyToLaunchedInstances: true });

    this.targetGroup = new elbv2.ApplicationTargetGroup(this, 'TargetGroup', props.targetGroupProps);
    this.autoScalingGroup.attachToApplicationTargetGroup(this.targetGroup);
  }

  /**
   * The colour's own load balancer, when the fleet switches traffic with Route 53 records.
   * While the colour is idle it is also the colour's test endpoint. `undefined` with listener-rule
   * switching, where both colours share `fleet.loadBalancer` (`fleet.loadBalancers` lists the
   * fleet's load balancers in either mode).
   */
  public get loadBalancer(): elbv2.ApplicationLoadBalancer | undefined {
    return this.ownLoadBalancer?.loadBalancer;
  }

  /** The production listener of the colour's own load balancer (Route 53 switching; otherwise `undefined`, see `fleet.productionListener`). */
  public get productionListener(): elbv2.ApplicationListener | undefined {
    return this.ownLoadBalancer?.listener;
  }

  /** The catch-all rule of the colour's own load balancer, forwarding to this colour only (Route 53 switching; otherwise `undefined`, see `fleet.productionRule`). */
  public get productionRule(): elbv2.ApplicationListenerRule | undefined {
    return this.ownLoadBalancer?.rule;
  }

  /**
   * Gives the colour a load balancer of its own (Route 53 switching).
   * @internal
   */
  public _useOwnLoadBalancer(loadBalancer: elbv2.ApplicationLoadBalancer, listener: elbv2.ApplicationListener, rule: elbv2.ApplicationListenerRule): void {
    this.ownLoadBalancer = { loadBalancer, listener, rule };
  }

  /** `UnhealthyHostCount` of this colour's target group (Maximum per minute). */
  public metricUnhealthyHostCount(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.targetGroup.metrics.unhealthyHostCount({ statistic: 'Maximum', period: Duration.minutes(1), ...props });
  }

  /** `HTTPCode_Target_5XX_Count` of this colour's target group (Sum per minute). */
  public metricServerErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.targetGroup.metrics.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, { statistic: 'Sum', period: Duration.minutes(1), ...props });
  }

  /** `TargetResponseTime` of this colour's target group (p99 per minute, in seconds). */
  public metricTargetResponseTime(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.targetGroup.metrics.targetResponseTime({ statistic: 'p99', period: Duration.minutes(1), ...props });
  }

  /** `HealthyHostCount` of this colour's target group (Minimum per minute). */
  public metricHealthyHostCount(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.targetGroup.metrics.healthyHostCount({ statistic: 'Minimum', period: Duration.minutes(1), ...props });
  }

  /** `RequestCount` of this colour's target group (Sum per minute). */
  public metricRequestCount(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.targetGroup.metrics.requestCount({ statistic: 'Sum', period: Duration.minutes(1), ...props });
  }

  /**
   * Creates the built-in alarms. Called by the fleet once the target group is attached to a
   * listener: target group metrics need the load balancer dimension.
   * @internal
   */
  public _createAlarms(alarms: FleetAlarmOptions): void {
    const count = (id: string, options: CountAlarmOptions | undefined, defaults: { threshold: number; evaluationPeriods: number },
      metric: (p: cloudwatch.MetricOptions) => cloudwatch.Metric, description: string) => {
      if (options?.enabled === false) return;
      const evaluationPeriods = options?.evaluationPeriods ?? defaults.evaluationPeriods;
      this.alarms.push(new cloudwatch.Alarm(this, id, {
        metric: metric({ period: options?.period ?? ALARM_DEFAULTS.period }),
        threshold: options?.threshold ?? defaults.threshold,
        evaluationPeriods,
        datapointsToAlarm: options?.datapointsToAlarm ?? evaluationPeriods,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: `${description} on the ${this.colour} colour. Rolls a cutover back while it is in ALARM.`,
      }));
    };
    count('UnhealthyHostsAlarm', alarms.unhealthyHosts, ALARM_DEFAULTS.unhealthyHosts, (p) => this.metricUnhealthyHostCount(p), 'Unhealthy targets');
    count('ServerErrorsAlarm', alarms.serverErrors, ALARM_DEFAULTS.serverErrors, (p) => this.metricServerErrors(p), 'HTTP 5XX responses from targets');
    this.createLatencyAlarm(alarms.latencyP99);
    // With Route 53 switching the colour has a load balancer of its own: its 5XX are this colour's.
    const lb = this.loadBalancer;
    if (lb) {
      count('LoadBalancerErrorsAlarm', alarms.loadBalancerErrors, ALARM_DEFAULTS.loadBalancerErrors,
        (p) => lb.metrics.httpCodeElb(elbv2.HttpCodeElb.ELB_5XX_COUNT, { statistic: 'Sum', ...p }), 'HTTP 5XX responses from the load balancer itself');
    }
    if (alarms.healthyHosts?.enabled !== false) {
      // An idle colour has no targets: no data, which does not breach, so the alarm is OK while
      // idle. If the load balancer reports 0 for an empty target group, it shows ALARM while idle
      // and until a minute after the colour is healthy: cutovers do not watch it for that reason
      // (they read the target group's health at every poll instead).
      this.healthyHostsAlarm = new cloudwatch.Alarm(this, 'HealthyHostsAlarm', {
        metric: this.metricHealthyHostCount({ period: ALARM_DEFAULTS.period }),
        threshold: ALARM_DEFAULTS.healthyHosts.threshold,
        evaluationPeriods: ALARM_DEFAULTS.healthyHosts.evaluationPeriods,
        datapointsToAlarm: ALARM_DEFAULTS.healthyHosts.datapointsToAlarm,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: `No healthy target in the ${this.colour} colour's target group. Expected while the colour is idle; cutovers check target health directly and do not watch this alarm.`,
      });
    }
  }

  private createLatencyAlarm(options: LatencyAlarmOptions | undefined): void {
    if (options?.enabled === false) return;
    const evaluationPeriods = options?.evaluationPeriods ?? ALARM_DEFAULTS.latencyP99.evaluationPeriods;
    const threshold = options?.threshold ?? ALARM_DEFAULTS.latencyP99.threshold;
    this.alarms.push(new cloudwatch.Alarm(this, 'LatencyP99Alarm', {
      metric: this.metricTargetResponseTime({ period: options?.period ?? ALARM_DEFAULTS.period }),
      threshold: threshold.toMilliseconds() / 1000,
      evaluationPeriods,
      datapointsToAlarm: options?.datapointsToAlarm ?? Math.min(ALARM_DEFAULTS.latencyP99.datapointsToAlarm, evaluationPeriods),
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: `p99 target response time at or above ${threshold.toHumanString()} on the ${this.colour} colour. Rolls a cutover back while it is in ALARM.`,
    }));
  }
}

/**
 * The colour's user data: on Linux, exports naming the colour and its parameters, then the
 * user's commands. Other systems get the user's user data unchanged.
 */
function colourUserData(props: FleetColourProps): ec2.UserData | undefined {
  if (props.osType !== ec2.OperatingSystemType.LINUX) return props.userData;
  const userData = ec2.UserData.forLinux();
  userData.addCommands(
    // The AWS CLI does not take its region from instance metadata (only credentials): without
    // this, `aws ssm get-parameter` on the instance fails with "You must specify a region".
    `export AWS_DEFAULT_REGION=${Aws.REGION}`,
    `export BLUE_GREEN_COLOUR=${props.colour}`,
    `export BLUE_GREEN_VERSION_PARAMETER=${versionParameterName(props.parameterPrefix, props.colour)}`,
    `export BLUE_GREEN_IMAGE_PARAMETER=${imageParameterName(props.parameterPrefix, props.colour)}`,
  );
  if (props.userData) {
    // render() starts with the shebang; the rest are the user's commands.
    userData.addCommands(...props.userData.render().split('\n').filter((line, i) => !(i === 0 && line.startsWith('#!'))));
  }
  return userData;
}
