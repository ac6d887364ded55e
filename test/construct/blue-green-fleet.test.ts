import { App, Duration, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as sns from 'aws-cdk-lib/aws-sns';
import { BlueGreenFleet, Colour } from '../../lib';
import { CATCH_ALL_RULE_PRIORITY } from '../../lib/blue-green-fleet';
import { baseProps, fleetStack } from './fleet-fixture';

const CERT = 'arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555';

function resourcesOf(template: Template, type: string): Record<string, any> {
  return template.findResources(type);
}

describe('BlueGreenFleet with default props', () => {
  const { stack, fleet } = fleetStack({ capacity: { minCapacity: 2, maxCapacity: 10 }, healthCheck: { path: '/health' } });
  const template = Template.fromStack(stack);

  test('creates exactly two Auto Scaling groups, neither with a DesiredCapacity', () => {
    const groups = Object.values(resourcesOf(template, 'AWS::AutoScaling::AutoScalingGroup'));
    expect(groups).toHaveLength(2);
    for (const g of groups) expect(g.Properties).not.toHaveProperty('DesiredCapacity');
  });

  // Template sizes must not depend on which colour is live: after a cutover to green, a
  // capacity change written as blue's MinSize would start the idle blue and never reach green.
  test('both groups start at MinSize 0 with the same maximum; a new fleet sizes blue once, through a create-only resource', () => {
    for (const colour of ['blue', 'green']) {
      template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
        MinSize: '0', MaxSize: '10', Tags: Match.arrayWith([{ Key: 'blue-green:colour', Value: colour, PropagateAtLaunch: true }]),
      });
    }
    const [initial] = Object.values(resourcesOf(template, 'Custom::BlueGreenInitialCapacity'));
    expect(initial.Properties).toMatchObject({
      AutoScalingGroupName: { Ref: stack.getLogicalId(fleet.blue.autoScalingGroup.node.defaultChild as any) },
      OtherGroupNames: [{ Ref: stack.getLogicalId(fleet.green.autoScalingGroup.node.defaultChild as any) }],
      MinCapacity: 2,
      MaxCapacity: 10,
    });
  });

  test('a capacity change after a cutover changes no group size in the template, so nothing lands on the idle colour', () => {
    const sizes = (minCapacity: number) => {
      const { stack: s } = fleetStack({ capacity: { minCapacity, maxCapacity: 10 } });
      return Object.values(Template.fromStack(s).findResources('AWS::AutoScaling::AutoScalingGroup')).map((g) => [g.Properties.MinSize, g.Properties.MaxSize]);
    };
    expect(sizes(4)).toEqual(sizes(2));
  });

  // EC2 Auto Scaling user guide, "Use AWS Systems Manager parameters instead of AMI IDs in
  // launch templates": a resolve:ssm: image needs a parameter of data type aws:ec2:image, or the
  // launch fails with SsmInvalidParameter. The template must also not exist before the parameter.
  test('image parameters have the aws:ec2:image data type and exist before the launch templates that resolve them', () => {
    const params = resourcesOf(template, 'Custom::BlueGreenParameter');
    for (const t of Object.values(resourcesOf(template, 'AWS::EC2::LaunchTemplate'))) {
      const name = String(t.Properties.LaunchTemplateData.ImageId).replace(/^resolve:ssm:/, '');
      const [id, param] = Object.entries(params).find(([, p]) => p.Properties.Name === name)!;
      expect(param.Properties.DataType).toBe('aws:ec2:image');
      expect(t.DependsOn).toContain(id);
    }
  });

  // CloudFormation adds a launch template version on update but never moves its default version
  // (CloudFormation's AWS::EC2::LaunchTemplate cannot set it); groups that named
  // LatestVersionNumber would launch a deploy's new user data or instance type with no cutover.
  test('groups launch their template\'s default version, and the template changes whenever its group does', () => {
    const groups = Object.values(resourcesOf(template, 'AWS::AutoScaling::AutoScalingGroup'));
    for (const g of groups) {
      const lt = g.Properties.LaunchTemplate.LaunchTemplateId.Ref;
      expect(g.Properties.LaunchTemplate.Version).toEqual({ 'Fn::GetAtt': [lt, 'DefaultVersionNumber'] });
    }
    const descriptions = (grace: number) => {
      const { stack: s } = fleetStack({ healthCheckGracePeriod: Duration.seconds(grace) });
      return Object.values(Template.fromStack(s).findResources('AWS::EC2::LaunchTemplate')).map((t) => t.Properties.VersionDescription);
    };
    expect(descriptions(120)).toEqual(descriptions(120));
    expect(descriptions(300)[0]).not.toEqual(descriptions(120)[0]);
  });

  test('groups apply their sizes only when the template changes them, so a redeploy never resizes a colour', () => {
    for (const g of Object.values(resourcesOf(template, 'AWS::AutoScaling::AutoScalingGroup'))) {
      expect(g.UpdatePolicy).toEqual({ AutoScalingScheduledAction: { IgnoreUnmodifiedGroupSizeProperties: true } });
    }
  });

  test('groups use ELB health checks with a grace period, in the private subnets', () => {
    const groups = Object.values(resourcesOf(template, 'AWS::AutoScaling::AutoScalingGroup'));
    for (const g of groups) {
      expect(g.Properties.HealthCheckType).toBe('ELB');
      expect(g.Properties.HealthCheckGracePeriod).toBe(120);
      expect(JSON.stringify(g.Properties.VPCZoneIdentifier)).toMatch(/PrivateSubnet1.*PrivateSubnet2/);
    }
  });

  test('each colour has its own launch template with IMDSv2, an encrypted root volume and its image resolved from its parameter at launch', () => {
    const templates = Object.values(resourcesOf(template, 'AWS::EC2::LaunchTemplate'));
    expect(templates).toHaveLength(2);
    const imageIds = templates.map((t) => t.Properties.LaunchTemplateData.ImageId).sort();
    expect(imageIds).toEqual([
      `resolve:ssm:${fleet.blue.imageParameterName}`,
      `resolve:ssm:${fleet.green.imageParameterName}`,
    ]);
    for (const t of templates) {
      const data = t.Properties.LaunchTemplateData;
      expect(data.MetadataOptions).toMatchObject({ HttpTokens: 'required', HttpPutResponseHopLimit: 1, InstanceMetadataTags: 'enabled' });
      expect(data.BlockDeviceMappings).toEqual([{ DeviceName: '/dev/xvda', Ebs: { DeleteOnTermination: true, Encrypted: true, VolumeSize: 20, VolumeType: 'gp3' } }]);
      expect(data.InstanceType).toBe('t3.small');
    }
  });

  test('user data exports the colour and its parameter names before the user commands', () => {
    const [blue] = Object.values(resourcesOf(template, 'AWS::EC2::LaunchTemplate'))
      .filter((t) => JSON.stringify(t.Properties.LaunchTemplateData.ImageId).includes('/blue/'));
    const userData = JSON.stringify(blue.Properties.LaunchTemplateData.UserData);
    expect(userData).toContain('export BLUE_GREEN_COLOUR=blue');
    // The AWS CLI takes only credentials from instance metadata, not the region.
    expect(userData).toContain('export AWS_DEFAULT_REGION=');
    expect(userData).toContain('{"Ref":"AWS::Region"}');
    expect(userData).toContain(`export BLUE_GREEN_VERSION_PARAMETER=${fleet.blue.versionParameterName}`);
  });

  test('writes one image and one version parameter per colour, on create only', () => {
    const params = Object.values(resourcesOf(template, 'Custom::BlueGreenParameter'));
    expect(params).toHaveLength(4);
    expect(params.map((p) => p.Properties.Name).sort()).toEqual([
      fleet.blue.imageParameterName, fleet.blue.versionParameterName,
      fleet.green.imageParameterName, fleet.green.versionParameterName,
    ].sort());
    const versions = params.filter((p) => p.Properties.Name.endsWith('/version'));
    expect(versions.map((v) => [v.Properties.Value, v.Properties.DataType])).toEqual([['initial', 'text'], ['initial', 'text']]);
  });

  // Without AWSLambdaBasicExecutionRole (CDK adds none to a role passed in), Lambda drops every
  // log line: the execution role needs logs:CreateLogStream and logs:PutLogEvents on its log group
  // (Lambda developer guide, "Sending Lambda function logs to CloudWatch Logs").
  test('every function of the stack may write its own log group', () => {
    const json = Template.fromStack(stack).toJSON().Resources as Record<string, any>;
    const functions = Object.entries(json).filter(([, r]) => r.Type === 'AWS::Lambda::Function');
    expect(functions.length).toBeGreaterThanOrEqual(13);
    for (const [id, fn] of functions) {
      const roleId = fn.Properties.Role['Fn::GetAtt'][0];
      const managed = JSON.stringify(json[roleId].Properties.ManagedPolicyArns ?? []);
      if (managed.includes('AWSLambdaBasicExecutionRole')) continue;
      const logGroup = fn.Properties.LoggingConfig?.LogGroup?.Ref;
      expect([id, logGroup]).toEqual([id, expect.any(String)]);
      const statements = Object.values(json)
        .filter((r) => r.Type === 'AWS::IAM::Policy' && r.Properties.Roles.some((ref: any) => ref.Ref === roleId))
        .flatMap((r) => r.Properties.PolicyDocument.Statement);
      for (const action of ['logs:CreateLogStream', 'logs:PutLogEvents']) {
        const grants = statements.filter((st) => [].concat(st.Action).includes(action as never)
          && JSON.stringify(st.Resource).includes(`"${logGroup}","Arn"`));
        expect([id, action, grants.length]).toEqual([id, action, 1]);
      }
    }
  });

  test('one target group per colour with the configured health check and a short deregistration delay', () => {
    const groups = Object.values(resourcesOf(template, 'AWS::ElasticLoadBalancingV2::TargetGroup'));
    expect(groups).toHaveLength(2);
    for (const g of groups) {
      expect(g.Properties).toMatchObject({
        Port: 80, Protocol: 'HTTP', TargetType: 'instance',
        HealthCheckEnabled: true, HealthCheckPath: '/health', HealthCheckPort: 'traffic-port', HealthCheckProtocol: 'HTTP',
        HealthCheckIntervalSeconds: 10, HealthCheckTimeoutSeconds: 5, HealthyThresholdCount: 2, UnhealthyThresholdCount: 2,
        Matcher: { HttpCode: '200' },
        TargetGroupAttributes: expect.arrayContaining([{ Key: 'deregistration_delay.timeout_seconds', Value: '30' }]),
      });
    }
  });

  test('production and test listeners answer 503 by default and never name a colour in their default action', () => {
    const listeners = Object.values(resourcesOf(template, 'AWS::ElasticLoadBalancingV2::Listener'));
    expect(listeners.map((l) => l.Properties.Port).sort()).toEqual([80, 8080]);
    for (const l of listeners) {
      expect(l.Properties.Protocol).toBe('HTTP');
      expect(l.Properties.DefaultActions).toEqual([{
        Type: 'fixed-response',
        FixedResponseConfig: { StatusCode: '503', ContentType: 'text/plain', MessageBody: expect.stringContaining('No colour is serving') },
      }]);
    }
  });

  test('catch-all rules forward production to blue and test to green through weights', () => {
    const blueTg = stack.getLogicalId(fleet.blue.targetGroup.node.defaultChild as elbv2.CfnTargetGroup);
    const greenTg = stack.getLogicalId(fleet.green.targetGroup.node.defaultChild as elbv2.CfnTargetGroup);
    const rule = (listener: elbv2.IApplicationListener, blueWeight: number) => template.hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', {
      ListenerArn: { Ref: stack.getLogicalId(listener.node.defaultChild as elbv2.CfnListener) },
      Priority: CATCH_ALL_RULE_PRIORITY,
      Conditions: [{ Field: 'path-pattern', PathPatternConfig: { Values: ['/*'] } }],
      Actions: [{
        Type: 'forward',
        ForwardConfig: { TargetGroups: [{ TargetGroupArn: { Ref: blueTg }, Weight: blueWeight }, { TargetGroupArn: { Ref: greenTg }, Weight: 100 - blueWeight }] },
      }],
    });
    rule(fleet.productionListener!, 100);
    rule(fleet.testListener!, 0);
  });

  test('instances accept traffic only from the load balancer, on the instance port', () => {
    const sgId = stack.getLogicalId(fleet.instanceSecurityGroup.node.defaultChild as ec2.CfnSecurityGroup);
    const ingress = Object.values(resourcesOf(template, 'AWS::EC2::SecurityGroupIngress'))
      .filter((r) => r.Properties.GroupId?.['Fn::GetAtt']?.[0] === sgId);
    expect(ingress).toHaveLength(1);
    expect(ingress[0].Properties).toMatchObject({ IpProtocol: 'tcp', FromPort: 80, ToPort: 80, SourceSecurityGroupId: { 'Fn::GetAtt': [expect.stringMatching(/LoadBalancer.*SecurityGroup/), 'GroupId'] } });
    template.hasResourceProperties('AWS::EC2::SecurityGroup', { GroupDescription: Match.stringLikeRegexp('fleet instances'), SecurityGroupIngress: Match.absent() });
  });

  test('the production port is open to the internet and the test port only to the VPC', () => {
    const lbSg = Object.values(resourcesOf(template, 'AWS::EC2::SecurityGroup'))
      .find((s) => (s.Properties.GroupDescription as string).includes('LoadBalancer'));
    expect(lbSg!.Properties.SecurityGroupIngress).toEqual([
      expect.objectContaining({ CidrIp: '0.0.0.0/0', FromPort: 80, ToPort: 80 }),
      expect.objectContaining({ CidrIp: { 'Fn::GetAtt': [expect.stringMatching(/^Vpc/), 'CidrBlock'] }, FromPort: 8080, ToPort: 8080 }),
    ]);
  });

  test('creates four alarms per colour on its target group metrics and one on the load balancer\'s own 5XX', () => {
    const alarms = Object.values(resourcesOf(template, 'AWS::CloudWatch::Alarm'));
    expect(alarms).toHaveLength(9);
    const byMetric = (name: string) => alarms.filter((a) => a.Properties.MetricName === name);
    expect(byMetric('UnHealthyHostCount').map((a) => [a.Properties.Threshold, a.Properties.EvaluationPeriods, a.Properties.DatapointsToAlarm, a.Properties.Statistic]))
      .toEqual([[1, 2, 2, 'Maximum'], [1, 2, 2, 'Maximum']]);
    expect(byMetric('HTTPCode_Target_5XX_Count').map((a) => [a.Properties.Threshold, a.Properties.EvaluationPeriods, a.Properties.Statistic]))
      .toEqual([[5, 1, 'Sum'], [5, 1, 'Sum']]);
    expect(byMetric('TargetResponseTime').map((a) => [a.Properties.Threshold, a.Properties.EvaluationPeriods, a.Properties.DatapointsToAlarm, a.Properties.ExtendedStatistic]))
      .toEqual([[2, 3, 2, 'p99'], [2, 3, 2, 'p99']]);
    // No healthy host: below 1 (Minimum) for one minute; idle colours have no data, which does not breach.
    expect(byMetric('HealthyHostCount').map((a) => [a.Properties.ComparisonOperator, a.Properties.Threshold, a.Properties.EvaluationPeriods, a.Properties.DatapointsToAlarm, a.Properties.Statistic]))
      .toEqual([['LessThanThreshold', 1, 1, 1, 'Minimum'], ['LessThanThreshold', 1, 1, 1, 'Minimum']]);
    const elb = byMetric('HTTPCode_ELB_5XX_Count');
    expect(elb.map((a) => [a.Properties.Threshold, a.Properties.EvaluationPeriods, a.Properties.Statistic])).toEqual([[5, 1, 'Sum']]);
    expect(elb[0].Properties.Dimensions.map((d: any) => d.Name)).toEqual(['LoadBalancer']);
    for (const a of alarms) {
      expect(a.Properties).toMatchObject({ Namespace: 'AWS/ApplicationELB', Period: 60, TreatMissingData: 'notBreaching' });
      if (a.Properties.MetricName === 'HTTPCode_ELB_5XX_Count') continue;
      expect(a.Properties.Dimensions.map((d: any) => d.Name).sort()).toEqual(['LoadBalancer', 'TargetGroup']);
      if (a.Properties.MetricName !== 'HealthyHostCount') expect(a.Properties.ComparisonOperator).toBe('GreaterThanOrEqualToThreshold');
    }
    // The colours' alarms are the ones cutovers watch; the healthy-hosts alarm is apart.
    expect(fleet.blue.alarms).toHaveLength(3);
    expect(fleet.green.alarms).toHaveLength(3);
    expect(fleet.blue.healthyHostsAlarm).toBeDefined();
    expect(fleet.loadBalancerErrorsAlarm).toBeDefined();
  });

  test('cutovers watch each colour\'s alarms and the load balancer\'s 5XX, not the healthy-hosts alarms', () => {
    const definition = JSON.stringify(Object.values(resourcesOf(template, 'AWS::StepFunctions::StateMachine'))[0].Properties.DefinitionString);
    const ref = (alarm: { node: { defaultChild?: any } }) => JSON.stringify({ Ref: stack.getLogicalId(alarm.node.defaultChild) });
    for (const alarm of [...fleet.green.alarms, ...fleet.blue.alarms, fleet.loadBalancerErrorsAlarm!]) expect(definition).toContain(ref(alarm));
    expect(definition).not.toContain(ref(fleet.green.healthyHostsAlarm!));
    expect(definition).not.toContain(ref(fleet.blue.healthyHostsAlarm!));
  });

  test('instances may read their colour parameters and nothing else', () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: [{ Action: 'ssm:GetParameter', Effect: 'Allow', Resource: Match.anyValue() }] },
      Roles: [{ Ref: stack.getLogicalId(fleet.instanceRole.node.defaultChild as any) }],
    });
    const policy = Object.values(template.findResources('AWS::IAM::Policy'))
      .find((p) => p.Properties.Roles[0].Ref === stack.getLogicalId(fleet.instanceRole.node.defaultChild as any));
    const resources = JSON.stringify(policy!.Properties.PolicyDocument.Statement[0].Resource);
    for (const name of [fleet.blue.imageParameterName, fleet.blue.versionParameterName, fleet.green.imageParameterName, fleet.green.versionParameterName]) {
      expect(resources).toContain(`:parameter${name}`);
    }
    expect(policy!.Properties.PolicyDocument.Statement[0].Resource).toHaveLength(4);
  });

  test('reports no warnings for default props', () => {
    expect(Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('.*'))
      .filter((w) => String(w.id).includes('Web'))).toEqual([]);
  });

  test('exposes both colours by name', () => {
    expect(fleet.colour(Colour.BLUE)).toBe(fleet.blue);
    expect(fleet.colour(Colour.GREEN)).toBe(fleet.green);
    expect(fleet.colours.map((c) => c.colour)).toEqual(['blue', 'green']);
  });
});

describe('BlueGreenFleet and redeploys (DESIGN invariant 6)', () => {
  function ruleAndListener(overrides: Parameters<typeof fleetStack>[0]) {
    const { stack } = fleetStack(overrides);
    const t = Template.fromStack(stack).toJSON().Resources as Record<string, any>;
    const pick = (type: string) => Object.entries(t).filter(([, r]) => r.Type === type).map(([id, r]) => [id, r.Properties]);
    return { rules: pick('AWS::ElasticLoadBalancingV2::ListenerRule'), listeners: pick('AWS::ElasticLoadBalancingV2::Listener'), groups: pick('AWS::AutoScaling::AutoScalingGroup') };
  }

  test('adding a certificate changes the listeners but not a property of the forwarding rules', () => {
    const before = ruleAndListener({});
    const after = ruleAndListener({ certificates: [elbv2.ListenerCertificate.fromArn(CERT)] });
    expect(after.listeners).not.toEqual(before.listeners);
    expect(after.rules).toEqual(before.rules);
  });

  test('changing the production port changes the listener but not the forwarding rules', () => {
    const before = ruleAndListener({});
    const after = ruleAndListener({ productionPort: 8000 });
    expect(after.listeners).not.toEqual(before.listeners);
    expect(after.rules).toEqual(before.rules);
  });

  test('changing the instance type changes the launch templates but not the group sizes', () => {
    const before = ruleAndListener({});
    const after = ruleAndListener({ instanceType: new ec2.InstanceType('m7i.large') });
    const sizes = (g: any[]) => g.map(([, p]) => [p.MinSize, p.MaxSize, p.DesiredCapacity]);
    expect(sizes(after.groups)).toEqual(sizes(before.groups));
    expect(after.rules).toEqual(before.rules);
  });

  test('changing the first-release image changes no template property (it is only written on create)', () => {
    const image = (id: string) => {
      const app = new App();
      const stack = new Stack(app, 'TestStack', { env: { account: '123456789012', region: 'us-east-1' } });
      const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
      new BlueGreenFleet(stack, 'Web', { ...baseProps(vpc), machineImage: ec2.MachineImage.genericLinux({ 'us-east-1': id }) });
      const t = Template.fromStack(stack).toJSON().Resources as Record<string, any>;
      return Object.values(t).filter((r) => ['AWS::EC2::LaunchTemplate', 'AWS::AutoScaling::AutoScalingGroup'].includes(r.Type)).map((r) => r.Properties);
    };
    expect(image('ami-0fffffffffffffff0')).toEqual(image('ami-0123456789abcdef0'));
  });
});

describe('BlueGreenFleet options', () => {
  test('HTTPS listeners with certificates, a TLS policy and an HTTP-to-HTTPS redirect', () => {
    const { stack } = fleetStack({ certificates: [elbv2.ListenerCertificate.fromArn(CERT)], httpRedirect: true });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::ElasticLoadBalancingV2::Listener', 3);
    for (const port of [443, 8443]) {
      template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
        Port: port, Protocol: 'HTTPS', Certificates: [{ CertificateArn: CERT }], SslPolicy: elbv2.SslPolicy.RECOMMENDED_TLS,
      });
    }
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 80, Protocol: 'HTTP',
      DefaultActions: [{ Type: 'redirect', RedirectConfig: { Protocol: 'HTTPS', Port: '443', StatusCode: 'HTTP_301' } }],
    });
  });

  test('an internal load balancer in private subnets, reachable from the VPC only', () => {
    const { stack } = fleetStack({ internetFacing: false });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', { Scheme: 'internal' });
    const lbSg = Object.values(template.findResources('AWS::EC2::SecurityGroup'))
      .find((s) => (s.Properties.GroupDescription as string).includes('LoadBalancer'));
    expect(lbSg!.Properties.SecurityGroupIngress.map((r: any) => r.CidrIp)).toEqual([
      { 'Fn::GetAtt': [expect.stringMatching(/^Vpc/), 'CidrBlock'] },
      { 'Fn::GetAtt': [expect.stringMatching(/^Vpc/), 'CidrBlock'] },
    ]);
  });

  test('an existing load balancer gets the listeners and no new load balancer is created', () => {
    const app = new App();
    const stack = new Stack(app, 'TestStack', { env: { account: '123456789012', region: 'us-east-1' } });
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
    const alb = new elbv2.ApplicationLoadBalancer(stack, 'Shared', { vpc, internetFacing: true });
    const fleet = new BlueGreenFleet(stack, 'Web', { ...baseProps(vpc), loadBalancer: alb });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::ElasticLoadBalancingV2::LoadBalancer', 1);
    template.resourceCountIs('AWS::ElasticLoadBalancingV2::Listener', 2);
    expect(fleet.loadBalancer).toBe(alb);
  });

  test('tuned health check, deregistration delay, grace period, instance port and test peers', () => {
    const { stack } = fleetStack({
      instancePort: 8000,
      healthCheck: { path: '/ready', port: 8001, interval: Duration.seconds(15), timeout: Duration.seconds(4), healthyThresholdCount: 3, unhealthyThresholdCount: 4, healthyHttpCodes: '200-299' },
      deregistrationDelay: Duration.seconds(10),
      healthCheckGracePeriod: Duration.seconds(45),
      testPeers: [ec2.Peer.ipv4('10.20.0.0/16')],
    });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      Port: 8000, HealthCheckPath: '/ready', HealthCheckPort: '8001', HealthCheckIntervalSeconds: 15, HealthCheckTimeoutSeconds: 4,
      HealthyThresholdCount: 3, UnhealthyThresholdCount: 4, Matcher: { HttpCode: '200-299' },
      TargetGroupAttributes: Match.arrayWith([{ Key: 'deregistration_delay.timeout_seconds', Value: '10' }]),
    });
    template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', { HealthCheckGracePeriod: 45 });
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', { FromPort: 8001, ToPort: 8001 });
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', { FromPort: 8000, ToPort: 8000 });
    const lbSg = Object.values(template.findResources('AWS::EC2::SecurityGroup'))
      .find((s) => (s.Properties.GroupDescription as string).includes('LoadBalancer'));
    expect(lbSg!.Properties.SecurityGroupIngress).toContainEqual(expect.objectContaining({ CidrIp: '10.20.0.0/16', FromPort: 8080 }));
  });

  test('tuned and disabled alarms', () => {
    const { stack, fleet } = fleetStack({
      alarms: {
        unhealthyHosts: { enabled: false },
        serverErrors: { threshold: 20, evaluationPeriods: 3, datapointsToAlarm: 2, period: Duration.minutes(2) },
        latencyP99: { threshold: Duration.millis(750) },
        healthyHosts: { enabled: false },
        loadBalancerErrors: { threshold: 50 },
      },
    });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::CloudWatch::Alarm', 5);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'HTTPCode_ELB_5XX_Count', Threshold: 50 });
    expect(fleet.blue.healthyHostsAlarm).toBeUndefined();
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'HTTPCode_Target_5XX_Count', Threshold: 20, EvaluationPeriods: 3, DatapointsToAlarm: 2, Period: 120 });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'TargetResponseTime', Threshold: 0.75 });
    expect(fleet.blue.alarms).toHaveLength(2);
  });

  test('notifications go to the given topic', () => {
    const app = new App();
    const stack = new Stack(app, 'TestStack', { env: { account: '123456789012', region: 'us-east-1' } });
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
    const topic = new sns.Topic(stack, 'Topic');
    new BlueGreenFleet(stack, 'Web', { ...baseProps(vpc), notificationTopic: topic });
    const groups = Object.values(Template.fromStack(stack).findResources('AWS::AutoScaling::AutoScalingGroup'));
    for (const g of groups) expect(g.Properties.NotificationConfigurations).toEqual([expect.objectContaining({ TopicARN: { Ref: expect.stringMatching(/^Topic/) } })]);
  });

  test('a parameter prefix names every parameter', () => {
    const { fleet } = fleetStack({ parameterPrefix: '/web/prod', initialVersion: '1.0.0' });
    expect([fleet.blue.imageParameterName, fleet.green.versionParameterName]).toEqual(['/web/prod/blue/image-id', '/web/prod/green/version']);
  });

  test('addRollbackAlarm works after construction and rejects the same alarm twice', () => {
    const { stack, fleet } = fleetStack();
    const alarm = new cloudwatch.Alarm(stack, 'Mine', { metric: new cloudwatch.Metric({ namespace: 'App', metricName: 'Errors' }), threshold: 1, evaluationPeriods: 1 });
    fleet.addRollbackAlarm(alarm);
    expect(fleet.rollbackAlarms).toEqual([alarm]);
    expect(() => fleet.addRollbackAlarm(alarm)).toThrow(`addRollbackAlarm: alarm TestStack/Mine is already a rollback alarm of TestStack/Web; add each alarm once.`);
  });

  test('metric helpers name the colour target group and load balancer', () => {
    const { stack, fleet } = fleetStack();
    const dims = Object.keys(fleet.green.metricRequestCount().dimensions ?? {}).sort();
    expect(dims).toEqual(['LoadBalancer', 'TargetGroup']);
    expect(fleet.green.metricTargetResponseTime().statistic).toBe('p99');
    expect(fleet.metricLoadBalancerErrors().metricName).toBe('HTTPCode_ELB_5XX_Count');
    expect(stack.resolve(fleet.blue.metricServerErrors().dimensions?.TargetGroup)).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^WebBlueTargetGroup/), 'TargetGroupFullName'] });
  });
});

/** Joins a CloudFormation `Fn::Join` of literals and tokens into a string (tokens as `<ref>`). */
function joinLiteral(value: any): string {
  if (typeof value === 'string') return value;
  if (value['Fn::Join']) return value['Fn::Join'][1].map((p: any) => (typeof p === 'string' ? p : '<ref>')).join(value['Fn::Join'][0]);
  throw new Error(`cannot join ${JSON.stringify(value)}`);
}
