import { App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as sns from 'aws-cdk-lib/aws-sns';
import { BlueGreenFleet, Colour } from '../../lib';
import { STATE_NAMES } from '../../lib/cutover-workflow';
import { baseProps, fleetStack } from './fleet-fixture';

/** A `Fn::Join` of the template rendered as text, each token as `{Ref:Id}`, `{GetAtt:Id.Attr}` or `{token:<base64 of its JSON>}`. */
function joined(value: any): string {
  if (typeof value === 'string') return value;
  if (!value['Fn::Join']) return `{token:${Buffer.from(JSON.stringify(value)).toString('base64')}}`;
  const [sep, parts] = value['Fn::Join'];
  return parts.map((p: any) => {
    if (typeof p === 'string') return p;
    if (p.Ref) return `{Ref:${p.Ref}}`;
    if (p['Fn::GetAtt']) return `{GetAtt:${p['Fn::GetAtt'].join('.')}}`;
    return `{token:${Buffer.from(JSON.stringify(p)).toString('base64')}}`;
  }).join(sep);
}

/** The fleet configuration the state machine's start task carries. */
function fleetConfig(template: Template): any {
  const [sm] = Object.values(template.findResources('AWS::StepFunctions::StateMachine'));
  return JSON.parse(joined(sm.Properties.DefinitionString)).States[STATE_NAMES.start].Parameters.config;
}

/** The IAM statements of the role of one handler function (by its description). */
function statementsOf(template: Template, handler: string): any[] {
  const fns = template.findResources('AWS::Lambda::Function', { Properties: { Description: `Blue/green cutover: ${handler}` } });
  const roleId = Object.values<any>(fns)[0].Properties.Role['Fn::GetAtt'][0];
  return Object.values<any>(template.findResources('AWS::IAM::Policy'))
    .filter((p) => p.Properties.Roles.some((r: any) => r.Ref === roleId))
    .flatMap((p) => p.Properties.PolicyDocument.Statement);
}

describe('a fleet with default props', () => {
  const template = Template.fromStack(fleetStack().stack);

  test('has no notification topic, key, outcome rule or dashboard, and no topic in its configuration', () => {
    template.resourceCountIs('AWS::SNS::Topic', 0);
    template.resourceCountIs('AWS::KMS::Key', 0);
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 0);
    // The recovery rule only.
    template.resourceCountIs('AWS::Events::Rule', 1);
    expect(fleetConfig(template)).not.toHaveProperty('notificationTopicArn');
  });

  test('lets shift, roll-back and recover publish TrafficWeight, in the BlueGreenFleet namespace only', () => {
    for (const handler of ['shift', 'roll-back', 'recover']) {
      // CloudWatch user guide, "Using condition keys to limit access to CloudWatch namespaces".
      expect(statementsOf(template, handler)).toContainEqual({
        Action: 'cloudwatch:PutMetricData',
        Effect: 'Allow',
        Resource: '*',
        Condition: { StringEquals: { 'cloudwatch:namespace': 'BlueGreenFleet' } },
      });
    }
    for (const handler of ['start', 'prepare', 'check-alarms', 'release-lock']) {
      expect(statementsOf(template, handler).flatMap((s) => [].concat(s.Action))).not.toContain('cloudwatch:PutMetricData');
    }
  });
});

describe('notifications: {}', () => {
  const { stack, fleet } = fleetStack({ notifications: {} });
  const template = Template.fromStack(stack);
  const topicId = stack.getLogicalId(fleet.notificationsTopic!.node.defaultChild as sns.CfnTopic);

  test('creates a topic encrypted with a customer managed key that is rotated', () => {
    template.resourceCountIs('AWS::KMS::Key', 1);
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^WebNotificationsKey'), 'Arn'] } });
  });

  test('lets EventBridge use the key: kms:Decrypt and kms:GenerateDataKey* for events.amazonaws.com', () => {
    // SNS developer guide, "Key management": "Enable compatibility between event sources from AWS
    // services and encrypted topics".
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: { Statement: Match.arrayWith([{ Action: ['kms:Decrypt', 'kms:GenerateDataKey*'], Effect: 'Allow', Principal: { Service: 'events.amazonaws.com' }, Resource: '*' }]) },
    });
  });

  test('the topic policy lets EventBridge publish and refuses publishing without TLS', () => {
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: topicId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Action: 'sns:Publish', Effect: 'Deny', Principal: '*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({ Action: 'sns:Publish', Effect: 'Allow', Principal: { Service: 'events.amazonaws.com' }, Resource: { Ref: topicId } }),
        ]),
      },
    });
  });

  test('a rule publishes every way an execution of this fleet\'s state machine ends to the topic', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        'source': ['aws.states'],
        'detail-type': ['Step Functions Execution Status Change'],
        'detail': { stateMachineArn: [{ Ref: Match.stringLikeRegexp('^WebCutoverStateMachine') }], status: ['SUCCEEDED', 'FAILED', 'ABORTED', 'TIMED_OUT'] },
      },
      Targets: [Match.objectLike({ Arn: { Ref: topicId } })],
    });
    expect(fleet.cutover.notificationRule).toBeDefined();
  });

  test('its input transformer builds the message from the event detail: fleet, execution, status, error, cause, input, output and a console link', () => {
    const [rule] = Object.values<any>(template.findResources('AWS::Events::Rule', { Properties: { Targets: [{ Arn: { Ref: topicId } }] } }));
    const transformer = rule.Properties.Targets[0].InputTransformer;
    expect(transformer.InputPathsMap).toEqual({
      'detail-name': '$.detail.name',
      'detail-status': '$.detail.status',
      'detail-error': '$.detail.error',
      'detail-cause': '$.detail.cause',
      'detail-input': '$.detail.input',
      'detail-output': '$.detail.output',
      'detail-executionArn': '$.detail.executionArn',
      'region': '$.region',
    });
    const fleetId = fleetConfig(template).fleetId;
    // Fields that may be null stand as whole JSON values; only always-present strings sit inside text.
    expect(transformer.InputTemplate).toBe(
      `{"summary":"Blue/green cutover <detail-name> of ${fleetId} ended <detail-status>","fleet":"${fleetId}",` +
      '"execution":<detail-name>,"status":<detail-status>,"error":<detail-error>,"cause":<detail-cause>,"input":<detail-input>,"output":<detail-output>,' +
      '"executionArn":<detail-executionArn>,' +
      '"console":"https://<region>.console.aws.amazon.com/states/home?region=<region>#/v2/executions/details/<detail-executionArn>"}',
    );
  });

  test('the fleet configuration names the topic for the handlers', () => {
    expect(fleetConfig(template).notificationTopicArn).toBe(`{Ref:${topicId}}`);
  });

  test('the key follows the fleet\'s removal policy', () => {
    const retained = Template.fromStack(fleetStack({ notifications: {}, removalPolicy: RemovalPolicy.RETAIN }).stack);
    retained.hasResource('AWS::KMS::Key', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    template.hasResource('AWS::KMS::Key', { DeletionPolicy: 'Delete' });
  });
});

describe('notifications with an approval gate', () => {
  test('the approval gate may publish each pause to the fleet\'s topic and use its key; no other handler may publish', () => {
    const { stack, fleet } = fleetStack({ notifications: {}, cutover: { approval: { timeout: Duration.hours(1) } } });
    const template = Template.fromStack(stack);
    const topicId = stack.getLogicalId(fleet.notificationsTopic!.node.defaultChild as sns.CfnTopic);
    const gate = statementsOf(template, 'approval-gate');
    expect(gate).toContainEqual({ Action: 'sns:Publish', Effect: 'Allow', Resource: { Ref: topicId } });
    // Amazon SNS Developer Guide, key management: a publisher to a topic encrypted with a customer
    // managed key needs kms:GenerateDataKey* and kms:Decrypt on that key, or Publish is refused.
    expect(gate).toContainEqual({
      Action: ['kms:GenerateDataKey*', 'kms:Decrypt'],
      Effect: 'Allow',
      Resource: { 'Fn::GetAtt': [expect.stringMatching(/^WebNotificationsKey/), 'Arn'] },
    });
    for (const handler of ['start', 'shift', 'roll-back', 'recover', 'release-lock']) {
      expect(statementsOf(template, handler).flatMap((s) => [].concat(s.Action))).not.toContain('sns:Publish');
    }
  });

  test('with an imported topic the gate may publish to it and no key is granted', () => {
    const arn = 'arn:aws:sns:us-east-1:123456789012:team-releases';
    const app = new App();
    const holder = new Stack(app, 'Holder', { env: { account: '123456789012', region: 'us-east-1' } });
    const { stack } = fleetStack({ notifications: { topic: sns.Topic.fromTopicArn(holder, 'Team', arn) }, cutover: { approval: { timeout: Duration.hours(1) } } });
    const gate = statementsOf(Template.fromStack(stack), 'approval-gate');
    expect(gate).toContainEqual({ Action: 'sns:Publish', Effect: 'Allow', Resource: arn });
    expect(gate.flatMap((s) => [].concat(s.Action))).not.toContain('kms:Decrypt');
  });
});

describe('notifications with a topic passed in', () => {
  test('an imported topic: nothing is created but the rule, which publishes to it; the configuration names it', () => {
    const app = new App();
    const holder = new Stack(app, 'Holder', { env: { account: '123456789012', region: 'us-east-1' } });
    const arn = 'arn:aws:sns:us-east-1:123456789012:team-releases';
    const { stack, fleet } = fleetStack({ notifications: { topic: sns.Topic.fromTopicArn(holder, 'Team', arn) } });
    const template = Template.fromStack(stack);

    template.resourceCountIs('AWS::SNS::Topic', 0);
    template.resourceCountIs('AWS::KMS::Key', 0);
    template.resourceCountIs('AWS::SNS::TopicPolicy', 0);
    template.hasResourceProperties('AWS::Events::Rule', { Targets: [Match.objectLike({ Arn: arn })] });
    expect(fleetConfig(template).notificationTopicArn).toBe(arn);
    expect(fleet.notificationsTopic!.topicArn).toBe(arn);
  });

  test('a topic of the same stack gets the EventBridge publish statement in its policy', () => {
    const app = new App();
    const stack = new Stack(app, 'TestStack', { env: { account: '123456789012', region: 'us-east-1' } });
    const topic = new sns.Topic(stack, 'Releases', { enforceSSL: true });
    new BlueGreenFleet(stack, 'Web', { ...baseProps(new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 })), notifications: { topic } });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::SNS::Topic', 1);
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: 'sns:Publish', Effect: 'Allow', Principal: { Service: 'events.amazonaws.com' } })]) },
    });
  });
});

describe('dashboard: true', () => {
  const { stack, fleet } = fleetStack({ dashboard: true });
  const orders = new cloudwatch.Alarm(stack, 'Orders', { metric: new cloudwatch.Metric({ namespace: 'Shop', metricName: 'FailedOrders' }), threshold: 1, evaluationPeriods: 1 });
  // Added after construction: the alarm widget shows it all the same.
  fleet.addRollbackAlarm(orders);
  const template = Template.fromStack(stack);
  const [dashboard] = Object.values<any>(template.findResources('AWS::CloudWatch::Dashboard'));
  const body = JSON.parse(joined(dashboard.Properties.DashboardBody));
  const widgets: any[] = body.widgets;
  const graph = (title: RegExp) => {
    const w = widgets.find((x) => x.type === 'metric' && title.test(x.properties.title));
    if (!w) throw new Error(`no graph titled ${title}`);
    return w.properties.metrics as any[][];
  };
  const fleetId = fleetConfig(template).fleetId;
  const targetGroupOf = (colour: Colour) => `{GetAtt:${stack.getLogicalId(fleet.colour(colour).targetGroup.node.defaultChild as any)}.TargetGroupFullName}`;

  const alarmDims = Object.values<any>(template.findResources('AWS::CloudWatch::Alarm', { Properties: { MetricName: 'HTTPCode_Target_5XX_Count' } }))[0].Properties.Dimensions;
  const loadBalancerDimension = joined(alarmDims.find((d: any) => d.Name === 'LoadBalancer').Value);

  test('is one dashboard of the fleet', () => {
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    expect(fleet.dashboard).toBeDefined();
  });

  test.each([
    [/^Requests/, 'RequestCount', 'Sum'],
    [/^Target 5XX/, 'HTTPCode_Target_5XX_Count', 'Sum'],
    [/^Target response time p99/, 'TargetResponseTime', 'p99'],
    [/^Healthy hosts/, 'HealthyHostCount', 'Minimum'],
  ])('graph %s shows %s (%s) of each colour\'s target group', (title, metricName, stat) => {
    const metrics = graph(title);
    expect(metrics).toHaveLength(2);
    for (const [i, colour] of [Colour.BLUE, Colour.GREEN].entries()) {
      const [namespace, name, ...rest] = metrics[i];
      const options = rest.pop();
      const dims = Object.fromEntries(rest.reduce((pairs: string[][], v: string, k: number) => (k % 2 === 0 ? [...pairs, [v]] : (pairs[pairs.length - 1].push(v), pairs)), []));
      expect([namespace, name]).toEqual(['AWS/ApplicationELB', metricName]);
      expect(dims.TargetGroup).toBe(targetGroupOf(colour));
      // The load balancer dimension is the one the colour's built-in 5XX alarm watches.
      expect(dims.LoadBalancer).toBe(loadBalancerDimension);
      expect(options).toMatchObject({ label: colour, stat });
    }
  });

  test('graphs TrafficWeight of each colour (BlueGreenFleet, Fleet and Colour dimensions), 0 to 100', () => {
    const w = widgets.find((x) => /^Traffic weight/.test(x.properties?.title ?? ''));
    expect(w.properties.metrics).toEqual([
      ['BlueGreenFleet', 'TrafficWeight', 'Colour', 'blue', 'Fleet', fleetId, expect.objectContaining({ label: 'blue', stat: 'Maximum' })],
      ['BlueGreenFleet', 'TrafficWeight', 'Colour', 'green', 'Fleet', fleetId, expect.objectContaining({ label: 'green', stat: 'Maximum' })],
    ]);
    expect(w.properties.yAxis.left).toMatchObject({ min: 0, max: 100 });
    expect(fleet.metricTrafficWeight(Colour.GREEN).dimensions).toEqual({ Fleet: fleetId, Colour: 'green' });
  });

  test('shows the state machine\'s executions: started, succeeded, failed, aborted, timed out', () => {
    const metrics = graph(/^Cutover executions/);
    const smId = stack.getLogicalId(fleet.cutover.stateMachine.node.defaultChild as any);
    expect(metrics.map((m) => [m[0], m[1], m[2], m[3], m[4].stat])).toEqual(
      ['ExecutionsStarted', 'ExecutionsSucceeded', 'ExecutionsFailed', 'ExecutionsAborted', 'ExecutionsTimedOut']
        .map((name) => ['AWS/States', name, 'StateMachineArn', `{Ref:${smId}}`, 'Sum']),
    );
  });

  test('lists the fleet\'s alarms: both colours\' built-in ones, the load balancer\'s and the rollback alarm added later', () => {
    const w = widgets.find((x) => x.type === 'alarm');
    const alarmIds = (w.properties.alarms as string[]).map((a) => /^\{GetAtt:(.+)\.Arn\}$/.exec(a)?.[1]);
    const expected = [...fleet.blue.alarms, fleet.blue.healthyHostsAlarm!, ...fleet.green.alarms, fleet.green.healthyHostsAlarm!, fleet.loadBalancerErrorsAlarm!, orders]
      .map((a) => stack.getLogicalId(a.node.defaultChild as cloudwatch.CfnAlarm));
    expect(alarmIds).toEqual(expected);
    expect(alarmIds).toHaveLength(10);
  });

  test('shows the release history: a custom widget invoking the history-widget function with the fleet and its lock table', () => {
    const w = widgets.find((x) => x.type === 'custom');
    const fnId = Object.keys(template.findResources('AWS::Lambda::Function', { Properties: { Description: 'Blue/green cutover: history-widget' } }))[0];
    expect(fnId).toBeDefined();
    expect(w.properties).toMatchObject({
      endpoint: `{GetAtt:${fnId}.Arn}`,
      params: { fleetId, lockTableName: `{Ref:${stack.getLogicalId(fleet.cutover.lockTable.node.defaultChild as any)}}`, limit: 10 },
      updateOn: { refresh: true, resize: true, timeRange: false },
    });
    expect(w.properties.title).toMatch(/^Release history/);
  });

  test('the history widget\'s role may only write its logs and Query the lock table\'s History index', () => {
    const tableId = stack.getLogicalId(fleet.cutover.lockTable.node.defaultChild as any);
    const logsId = Object.keys(template.findResources('AWS::Logs::LogGroup')).find((id) => id.startsWith('BlueGreenCutoverHandlersHistoryWidgetLogs'))!;
    expect(statementsOf(template, 'history-widget')).toEqual([{
      Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      Effect: 'Allow',
      Resource: { 'Fn::GetAtt': [logsId, 'Arn'] },
    }, {
      Action: 'dynamodb:Query',
      Effect: 'Allow',
      Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [tableId, 'Arn'] }, '/index/History']] },
    }]);
  });

  test('a fleet without the dashboard has no history widget function', () => {
    const plain = Template.fromStack(fleetStack().stack);
    expect(Object.keys(plain.findResources('AWS::Lambda::Function', { Properties: { Description: 'Blue/green cutover: history-widget' } }))).toHaveLength(0);
  });
});
