import { Annotations, Duration, Names, Stack, Token, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { Colour } from './private/contract';
import { CutoverWorkflow } from './cutover-workflow';
import { DnsRecords } from './dns-records';
import { FleetColour } from './fleet-colour';
import { FleetResourcesProvider } from './private/fleet-resources';
import { createNotificationTopic } from './private/notifications';
import { createFleetDashboard, trafficWeightMetric } from './private/dashboard';
import { BlueGreenFleetPropsError } from './private/props-error';
import { BlueGreenFleetProps } from './fleet-props';
import { TrafficSwitch } from './traffic-switch';
import { listenerClashes, OwnListener, smokeTestHost } from './private/listener-rules';
import { cutoverSettings, fleetSettings } from './private/settings';
import { ALARM_DEFAULTS, DEFAULTS, resolveRoute53Switch, validateFleetProps } from './private/validation';

/**
 * Priority of the catch-all rules that own forwarding on both listeners. The highest
 * number ALB allows, so rules users add to the listeners are evaluated first.
 */
export const CATCH_ALL_RULE_PRIORITY = 50000;

/**
 * Twin Auto Scaling groups (blue and green) behind an Application Load Balancer, ready
 * for zero-downtime blue/green releases.
 *
 * Forwarding is owned by two catch-all listener rules (production and test) whose template
 * properties never change, and group sizes are only applied by CloudFormation when they
 * change in the template, so a `cdk deploy` never undoes a cutover. With Route 53 switching,
 * each colour has a load balancer of its own and two weighted records, written once, say which
 * colour is live.
 */
export class BlueGreenFleet extends Construct implements ec2.IConnectable {
  /**
   * The network connections of both colours' instances: their security group
   * ({@link instanceSecurityGroup}), with the instance port as default port. Lets the fleet reach
   * a database (`db.connections.allowDefaultPortFrom(fleet)`) or be reached on its instance port
   * (`fleet.connections.allowDefaultPortFrom(peer)`).
   */
  public readonly connections: ec2.Connections;
  /** The blue colour: serves traffic after the first deploy. */
  public readonly blue: FleetColour;
  /** The green colour: empty after the first deploy. */
  public readonly green: FleetColour;
  /** Where production traffic is switched: a listener rule (the default) or Route 53 records. */
  public readonly trafficSwitch: TrafficSwitch;
  /** The weighted records that switch traffic, with Route 53 switching. */
  public readonly dnsRecords?: DnsRecords;
  /** Security group of both colours' instances. */
  public readonly instanceSecurityGroup: ec2.SecurityGroup;
  /** Role of both colours' instances. */
  public readonly instanceRole: iam.Role;
  /** Prefix of the fleet's SSM parameter names. */
  public readonly parameterPrefix: string;
  /** Listener protocol (HTTP or HTTPS). */
  public readonly protocol: elbv2.ApplicationProtocol;
  /** Port of the production listener. */
  public readonly productionPort: number;
  /** Port of the test listener; with Route 53 switching, the production port of the idle colour's own load balancer, which the smoke tests call. */
  public readonly testPort: number;

  /** The cutover workflow: its state machine, handlers and lock table. */
  public readonly cutover: CutoverWorkflow;

  /**
   * The topic each cutover's outcome is published to, with `notifications`: the one passed in, or
   * the one the fleet created. Subscribe to it (`topic.addSubscription(...)`).
   */
  public readonly notificationsTopic?: sns.ITopic;

  /** The fleet's CloudWatch dashboard, with `dashboard: true`. */
  public readonly dashboard?: cloudwatch.Dashboard;
  /** The alarms the dashboard's alarm status widget shows (rollback alarms added later join it). */
  private readonly dashboardAlarms: cloudwatch.IAlarm[] = [];
  /** The fleet id the handlers and the TrafficWeight metric name the fleet by. */
  private readonly fleetId: string;

  private readonly userRollbackAlarms: cloudwatch.IAlarm[] = [];
  /**
   * `HTTPCode_ELB_5XX_Count` of the shared load balancer, which rolls every cutover back while in
   * ALARM (with Route 53 switching each colour has its own, among its `alarms`).
   */
  public readonly loadBalancerErrorsAlarm?: cloudwatch.Alarm;
  private readonly shared?: {
    readonly loadBalancer: elbv2.IApplicationLoadBalancer;
    readonly productionListener: elbv2.IApplicationListener;
    readonly testListener: elbv2.IApplicationListener;
    readonly productionRule: elbv2.ApplicationListenerRule;
    readonly testRule: elbv2.ApplicationListenerRule;
  };

  constructor(scope: Construct, id: string, props: BlueGreenFleetProps) {
    super(scope, id);

    const { errors, warnings } = validateFleetProps(props);
    if (errors.length > 0) throw new BlueGreenFleetPropsError(this.node.path, errors);
    for (const w of warnings) Annotations.of(this).addWarningV2(w.id, w.message);

    // Every default applied once (lib/private/settings.ts); validation checked the same values.
    const settings = fleetSettings(props, this);
    const { certificates, https, internetFacing, minCapacity, maxCapacity, instancePort } = settings;
    this.protocol = settings.protocol;
    this.productionPort = settings.productionPort;
    this.testPort = settings.testPort;
    this.parameterPrefix = settings.parameterPrefix;
    const image = props.machineImage.getImage(this);

    this.instanceSecurityGroup = new ec2.SecurityGroup(this, 'InstanceSecurityGroup', {
      vpc: props.vpc,
      description: 'Blue/green fleet instances: traffic from the load balancer only',
      allowAllOutbound: true,
    });
    this.connections = new ec2.Connections({ securityGroups: [this.instanceSecurityGroup], defaultPort: ec2.Port.tcp(instancePort) });
    this.instanceRole = new iam.Role(this, 'InstanceRole', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description: 'Role of the blue/green fleet instances',
    });
    this.trafficSwitch = settings.trafficSwitch;
    const dns = resolveRoute53Switch(props.trafficSwitch);

    // Default actions are a fixed 503: CloudFormation re-applies a listener's default action
    // whenever anything on the listener changes (a certificate, a port), so it must not name a
    // colour. The catch-all rules below carry the forwarding and never change in the template.
    const noColour = elbv2.ListenerAction.fixedResponse(503, {
      contentType: 'text/plain',
      messageBody: 'No colour is serving: the blue/green catch-all rule is missing.',
    });
    const vpcPeer = ec2.Peer.ipv4(props.vpc.vpcCidrBlock);
    const productionPeers = props.productionPeers ?? [internetFacing ? ec2.Peer.anyIpv4() : vpcPeer];
    const newLoadBalancer = (scope: Construct) => new elbv2.ApplicationLoadBalancer(scope, 'LoadBalancer', {
      vpc: props.vpc,
      internetFacing,
      vpcSubnets: { subnetType: internetFacing ? ec2.SubnetType.PUBLIC : ec2.SubnetType.PRIVATE_WITH_EGRESS },
      dropInvalidHeaderFields: true,
    });
    // Listeners the fleet creates on a load balancer passed in are children of the fleet, so
    // several fleets can add theirs to one load balancer; on its own load balancer they stay
    // children of the load balancer (their logical ids since the first release).
    const created: OwnListener[] = [];
    const createListener = (lb: elbv2.IApplicationLoadBalancer, id: string, listenerProps: elbv2.BaseApplicationListenerProps, name: string, fix: string) => {
      const listener = lb === props.loadBalancer
        ? new elbv2.ApplicationListener(this, id, { ...listenerProps, loadBalancer: lb })
        : lb.addListener(id, listenerProps);
      created.push({ listener, name, fix });
      return listener;
    };
    const addListener = (lb: elbv2.IApplicationLoadBalancer, id: string, port: number, name: 'productionPort' | 'testPort') => createListener(lb, id, {
      port,
      protocol: this.protocol,
      certificates: https ? certificates : undefined,
      sslPolicy: https ? (settings.sslPolicy ?? elbv2.SslPolicy.RECOMMENDED_TLS) : undefined,
      open: false,
      defaultAction: noColour,
    }, name, `choose another ${name}, or pass that listener as ${name === 'testPort' ? 'testListener' : 'productionListener'} with listenerRule conditions and a priority of this fleet's own`);
    const addRedirect = (lb: elbv2.IApplicationLoadBalancer) => {
      if (!props.httpRedirect) return;
      const redirect = createListener(lb, 'HttpRedirectListener', {
        port: DEFAULTS.httpPort,
        protocol: elbv2.ApplicationProtocol.HTTP,
        open: false,
        defaultAction: elbv2.ListenerAction.redirect({ protocol: 'HTTPS', port: String(this.productionPort), permanent: true }),
      }, 'httpRedirect port', 'set httpRedirect to false, or redirect with the listener that is there');
      for (const peer of productionPeers) redirect.connections.allowDefaultPortFrom(peer, 'HTTP to HTTPS redirect');
    };

    let sharedLoadBalancer: elbv2.IApplicationLoadBalancer | undefined;
    let productionListener: elbv2.IApplicationListener | undefined;
    let testListener: elbv2.IApplicationListener | undefined;
    if (!dns) {
      sharedLoadBalancer = props.loadBalancer ?? newLoadBalancer(this);
      // Listeners passed in are shared: their security group rules are their owner's.
      productionListener = props.productionListener ?? addListener(sharedLoadBalancer, 'ProductionListener', this.productionPort, 'productionPort');
      testListener = props.testListener ?? addListener(sharedLoadBalancer, 'TestListener', this.testPort, 'testPort');
      if (!props.productionListener) {
        for (const peer of productionPeers) productionListener.connections.allowDefaultPortFrom(peer, 'Production traffic');
      }
      if (!props.testListener) {
        for (const peer of props.testPeers ?? [vpcPeer]) testListener.connections.allowDefaultPortFrom(peer, 'Smoke tests against the idle colour');
      }
      addRedirect(sharedLoadBalancer);
    }

    const hc = settings.healthCheck;
    const colourProps = (colour: Colour) => ({
      colour,
      vpc: props.vpc,
      vpcSubnets: settings.vpcSubnets,
      instanceType: props.instanceType,
      osType: image.osType,
      userData: props.userData,
      securityGroup: this.instanceSecurityGroup,
      role: this.instanceRole,
      minCapacity,
      maxCapacity,
      healthCheckGracePeriod: settings.healthCheckGracePeriod,
      parameterPrefix: this.parameterPrefix,
      initialImageId: image.imageId,
      initialVersion: settings.initialVersion,
      alarms: settings.alarms,
      notificationTopic: props.notificationTopic,
      targetGroupProps: {
        vpc: props.vpc,
        port: instancePort,
        protocol: elbv2.ApplicationProtocol.HTTP,
        targetType: elbv2.TargetType.INSTANCE,
        deregistrationDelay: settings.deregistrationDelay,
        healthCheck: {
          enabled: true,
          path: hc.path,
          port: hc.port !== undefined ? String(hc.port) : 'traffic-port',
          protocol: hc.protocol,
          interval: hc.interval,
          timeout: hc.timeout,
          healthyThresholdCount: hc.healthyThresholdCount,
          unhealthyThresholdCount: hc.unhealthyThresholdCount,
          healthyHttpCodes: hc.healthyHttpCodes,
        },
      } satisfies elbv2.ApplicationTargetGroupProps,
    });
    this.blue = new FleetColour(this, 'Blue', colourProps(Colour.BLUE));
    this.green = new FleetColour(this, 'Green', colourProps(Colour.GREEN));

    const everything = [elbv2.ListenerCondition.pathPatterns(['/*'])];
    if (!dns) {
      const { conditions, priority } = settings.listenerRule;
      // Each rule forwards to both target groups with fixed weights; the workflow moves the
      // weights at run time with ModifyRule. Keeping both groups in the rule keeps them both
      // attached to the load balancer, so the idle colour is health-checked before it serves.
      const forward = (blueWeight: number) => elbv2.ListenerAction.weightedForward([
        { targetGroup: this.blue.targetGroup, weight: blueWeight },
        { targetGroup: this.green.targetGroup, weight: 100 - blueWeight },
      ]);
      this.shared = {
        loadBalancer: sharedLoadBalancer!,
        productionListener: productionListener!,
        testListener: testListener!,
        productionRule: new elbv2.ApplicationListenerRule(this, 'ProductionRule', {
          listener: productionListener!,
          priority,
          conditions,
          action: forward(100),
        }),
        testRule: new elbv2.ApplicationListenerRule(this, 'TestRule', {
          listener: testListener!,
          priority,
          conditions,
          action: forward(0),
        }),
      };
      // Another listener on one of the fleet's ports, or another rule with the fleet's priority
      // on its listeners, fails the deploy: found at synth, when every construct exists.
      const shared = this.shared;
      this.node.addValidation({
        validate: () => listenerClashes(this, shared.loadBalancer, created, [
          { rule: shared.productionRule, listener: shared.productionListener, name: 'production rule' },
          { rule: shared.testRule, listener: shared.testListener, name: 'test rule' },
        ]),
      });
    } else {
      // A load balancer per colour, whose catch-all rule forwards to that colour only and never
      // changes: the weighted records choose between the load balancers.
      for (const c of this.colours) {
        const lb = newLoadBalancer(c);
        const listener = addListener(lb, 'ProductionListener', this.productionPort, 'productionPort');
        for (const peer of productionPeers) listener.connections.allowDefaultPortFrom(peer, 'Production traffic');
        addRedirect(lb);
        const rule = new elbv2.ApplicationListenerRule(c, 'ProductionRule', {
          listener,
          priority: CATCH_ALL_RULE_PRIORITY,
          conditions: everything,
          action: elbv2.ListenerAction.forward([c.targetGroup]),
        });
        c._useOwnLoadBalancer(lb, listener, rule);
      }
      this.dnsRecords = new DnsRecords(this, 'DnsRecords', {
        zone: props.trafficSwitch!.route53Options!.zone,
        recordName: dns.recordName,
        recordType: dns.recordType,
        ttl: dns.recordTtlSeconds !== undefined ? Duration.seconds(dns.recordTtlSeconds) : undefined,
        blue: this.blue.loadBalancer!,
        green: this.green.loadBalancer!,
        logRetention: props.logRetention,
        removalPolicy: props.removalPolicy,
      });
    }
    if (hc.port !== undefined && hc.port !== instancePort) {
      for (const c of this.colours) {
        c.autoScalingGroup.connections.allowFrom(c.loadBalancer ?? sharedLoadBalancer!, ec2.Port.tcp(hc.port), 'Load balancer health checks');
      }
    }

    // Instances may read their own colour's parameters (user data reads the version).
    this.instanceRole.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['ssm:GetParameter'],
      resources: [...this.blue.parameterArns, ...this.green.parameterArns],
    }));

    // A new fleet's first live colour (blue) gets the configured capacity once; afterwards the
    // workflow sizes each colour it prepares, so a capacity change lands on the colour that serves.
    const provider = FleetResourcesProvider.of(this);
    provider.initialCapacity(this, 'InitialCapacity', {
      AutoScalingGroupName: this.blue.autoScalingGroup.autoScalingGroupName,
      OtherGroupNames: [this.green.autoScalingGroup.autoScalingGroupName],
      MinCapacity: minCapacity,
      MaxCapacity: maxCapacity,
    }, this.colours.map((c) => c.autoScalingGroup.autoScalingGroupName));

    this.blue._createAlarms(settings.alarms);
    this.green._createAlarms(settings.alarms);
    // The shared load balancer's own 5XX: whichever colour is being released gets them.
    const elbErrors = props.alarms?.loadBalancerErrors;
    if (this.shared && elbErrors?.enabled !== false) {
      const evaluationPeriods = elbErrors?.evaluationPeriods ?? ALARM_DEFAULTS.loadBalancerErrors.evaluationPeriods;
      this.loadBalancerErrorsAlarm = new cloudwatch.Alarm(this, 'LoadBalancerErrorsAlarm', {
        metric: this.shared.loadBalancer.metrics.httpCodeElb(elbv2.HttpCodeElb.ELB_5XX_COUNT, { statistic: 'Sum', period: elbErrors?.period ?? ALARM_DEFAULTS.period }),
        threshold: elbErrors?.threshold ?? ALARM_DEFAULTS.loadBalancerErrors.threshold,
        evaluationPeriods,
        datapointsToAlarm: elbErrors?.datapointsToAlarm ?? evaluationPeriods,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: 'HTTP 5XX responses from the load balancer itself (no target answered). Rolls a cutover back while it is in ALARM.',
      });
    }

    if (props.notifications) {
      this.notificationsTopic = props.notifications.topic ?? createNotificationTopic(this, props.removalPolicy ?? DEFAULTS.removalPolicy);
    }

    const colourLoadBalancers = this.colours.map((c) => c.loadBalancer!);
    this.fleetId = Names.uniqueId(this);
    this.cutover = CutoverWorkflow._create(this, 'Cutover', {
      ...props.cutover,
      settings: cutoverSettings(props.cutover ?? {}, dns ? { ttlSeconds: dns.ttlSeconds } : undefined),
      fleetId: this.fleetId,
      vpc: props.vpc,
      loadBalancer: this.shared?.loadBalancer,
      loadBalancerSecurityGroups: this.shared?.loadBalancer
        ?? new ec2.Connections({ securityGroups: colourLoadBalancers.flatMap((lb) => lb.connections.securityGroups) }),
      productionRule: this.shared?.productionRule,
      testRule: this.shared?.testRule,
      testPort: this.testPort,
      testProtocol: this.protocol,
      testHost: this.shared ? smokeTestHost(props.listenerRule?.conditions) : undefined,
      colours: this.colours,
      minCapacity,
      maxCapacity,
      instanceRole: this.instanceRole,
      rollbackAlarms: () => this.rollbackAlarms,
      sharedAlarms: this.loadBalancerErrorsAlarm ? [this.loadBalancerErrorsAlarm] : [],
      notificationTopic: this.notificationsTopic,
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
      dns: this.dnsRecords ? { zone: this.dnsRecords.zone, records: this.dnsRecords._config, ttl: Duration.seconds(dns!.ttlSeconds) } : undefined,
    });

    if (props.dashboard) {
      this.dashboardAlarms.push(
        ...this.colours.flatMap((c) => [...c.alarms, ...(c.healthyHostsAlarm ? [c.healthyHostsAlarm] : [])]),
        ...(this.loadBalancerErrorsAlarm ? [this.loadBalancerErrorsAlarm] : []),
      );
      this.dashboard = createFleetDashboard(this, 'Dashboard', {
        fleetId: this.fleetId,
        colours: this.colours,
        stateMachine: this.cutover.stateMachine,
        alarms: this.dashboardAlarms,
        history: { fn: this.cutover.historyWidgetFunction(), lockTableName: this.cutover.lockTable.tableName },
      });
    }

    this.acknowledgeDeliberateChoices(props);
  }

  /**
   * `TrafficWeight` of a colour (namespace `BlueGreenFleet`, dimensions `Fleet` and `Colour`,
   * Maximum per minute): its percentage of production traffic, published by the cutover's shift,
   * roll-back and recovery handlers after every change they make.
   */
  public metricTrafficWeight(colour: Colour, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return trafficWeightMetric(this.fleetId, colour, props);
  }

  /**
   * The load balancer both colours share, with listener-rule switching. `undefined` with Route 53
   * switching, where each colour has a load balancer of its own (`blue.loadBalancer`,
   * `green.loadBalancer`); {@link loadBalancers} lists the fleet's load balancers in either mode.
   */
  public get loadBalancer(): elbv2.IApplicationLoadBalancer | undefined {
    return this.shared?.loadBalancer;
  }

  /**
   * Every load balancer that serves the fleet: the shared one with listener-rule switching, or
   * blue's and green's with Route 53 switching. Never empty.
   */
  public get loadBalancers(): elbv2.IApplicationLoadBalancer[] {
    return this.shared ? [this.shared.loadBalancer] : this.colours.map((c) => c.loadBalancer!);
  }

  /**
   * The production listener. Its default action is a 503 that only answers if the catch-all rule
   * is removed. `undefined` with Route 53 switching: see each colour's `productionListener`.
   */
  public get productionListener(): elbv2.IApplicationListener | undefined {
    return this.shared?.productionListener;
  }

  /**
   * The test listener, forwarding to the idle colour for smoke tests. `undefined` with Route 53
   * switching, which has no test listener: the idle colour's own load balancer is its test endpoint.
   */
  public get testListener(): elbv2.IApplicationListener | undefined {
    return this.shared?.testListener;
  }

  /**
   * The production catch-all rule: which colour it forwards to is which colour is live.
   * `undefined` with Route 53 switching: see each colour's `productionRule` and {@link dnsRecords}.
   */
  public get productionRule(): elbv2.ApplicationListenerRule | undefined {
    return this.shared?.productionRule;
  }

  /** The test catch-all rule: forwards to the idle colour. `undefined` with Route 53 switching. */
  public get testRule(): elbv2.ApplicationListenerRule | undefined {
    return this.shared?.testRule;
  }

  /** The state machine that runs cutovers. Start it with `{}`, `{"imageId":...}`, `{"version":...}` or `{"action":"rollback"}`. */
  public get stateMachine(): sfn.IStateMachine {
    return this.cutover.stateMachine;
  }

  /** Lets `grantee` (a pipeline role, an operator group) start cutovers and read their executions. */
  public grantStartCutover(grantee: iam.IGrantable): iam.Grant {
    return this.cutover.grantStartCutover(grantee);
  }

  /**
   * Lets `grantee` (an operator, a pipeline's role) run every command of the `cdk-ec2-blue-green`
   * command line on this fleet: deploy, rollback, abort, status, approve, reject and history.
   */
  public grantOperate(grantee: iam.IGrantable): iam.Grant {
    return this.cutover.grantOperate(grantee);
  }

  /**
   * Lets `grantee` (an operator, the CLI's role) read the fleet's release history: `dynamodb:Query`
   * on the lock table's `History` index only.
   */
  public grantReadHistory(grantee: iam.IGrantable): iam.Grant {
    return this.cutover.grantReadHistory(grantee);
  }

  /** Both colours, blue first. */
  public get colours(): FleetColour[] {
    return [this.blue, this.green];
  }

  /** The colour named `colour`. */
  public colour(colour: Colour): FleetColour {
    return colour === Colour.BLUE ? this.blue : this.green;
  }

  /**
   * Adds an alarm of your own that rolls a cutover back while it is in ALARM during the
   * traffic shift and the bake. Can be called after construction.
   */
  public addRollbackAlarm(alarm: cloudwatch.IAlarm): void {
    if (this.userRollbackAlarms.some((a) => a === alarm || (!Token.isUnresolved(a.alarmArn) && a.alarmArn === alarm.alarmArn))) {
      throw new Error(`addRollbackAlarm: alarm ${alarm.node.path} is already a rollback alarm of ${this.node.path}; add each alarm once.`);
    }
    this.userRollbackAlarms.push(alarm);
    if (this.dashboard) this.dashboardAlarms.push(alarm);
  }

  /** The alarms added with {@link addRollbackAlarm}. */
  public get rollbackAlarms(): cloudwatch.IAlarm[] {
    return [...this.userRollbackAlarms];
  }

  /**
   * `HTTPCode_ELB_5XX_Count` of the shared load balancer (Sum per minute): errors no colour
   * answered. Listener-rule switching only: with Route 53 switching it throws, because each colour's
   * load balancer has its own (`fleet.blue.loadBalancer!.metrics.httpCodeElb(...)`, and among each
   * colour's `alarms`).
   */
  public metricLoadBalancerErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    if (!this.shared) {
      throw new Error(
        `${this.node.path} switches traffic with Route 53 records, so it has no shared load balancer to measure: use each colour's, ` +
        "such as fleet.blue.loadBalancer!.metrics.httpCodeElb(elbv2.HttpCodeElb.ELB_5XX_COUNT), or loop over fleet.loadBalancers.",
      );
    }
    return this.shared.loadBalancer.metrics.httpCodeElb(elbv2.HttpCodeElb.ELB_5XX_COUNT, { statistic: 'Sum', period: Duration.minutes(1), ...props });
  }

  private acknowledgeDeliberateChoices(props: BlueGreenFleetProps): void {
    const stack = Stack.of(this);
    // The parameter writer is CDK's singleton AwsCustomResource function.
    const provider = stack.node.tryFindChild('AWS679f53fac002430cb0da5b7982bd2287');
    if (provider) {
      Validations.of(provider).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason: 'CDK AwsCustomResource provider: AWSLambdaBasicExecutionRole only lets it write its own logs.',
      });
      Validations.of(provider).acknowledge({
        id: 'AwsSolutions-L1',
        reason: 'CDK AwsCustomResource provider: its runtime is chosen by aws-cdk-lib.',
      });
    }
    for (const c of this.colours) {
      if (!props.notificationTopic) {
        Validations.of(c.autoScalingGroup).acknowledge({
          id: 'AwsSolutions-AS3',
          reason: 'Scaling notifications are optional (notificationTopic); the cutover workflow records every scaling it does.',
        });
      }
    }
    const created = this.shared ? (props.loadBalancer ? [] : [this.shared.loadBalancer]) : this.colours.map((c) => c.loadBalancer!);
    for (const lb of created) {
      Validations.of(lb).acknowledge({
        id: 'AwsSolutions-ELB2',
        reason: 'Access logs need a bucket the user owns; pass a load balancer with access logs enabled to have them.',
      });
      if (fleetSettings(props).internetFacing && props.productionPeers === undefined) {
        Validations.of(lb).acknowledge({
          id: 'AwsSolutions-EC23',
          reason: this.shared
            ? 'An internet-facing load balancer accepts the production port from anywhere by design; the test port is limited to the VPC.'
            : 'Each colour\'s internet-facing load balancer accepts the production port from anywhere by design; the weighted DNS records choose between them.',
        });
      }
    }
  }
}
