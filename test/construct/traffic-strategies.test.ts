import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as route53 from 'aws-cdk-lib/aws-route53';
import { BlueGreenFleet, BlueGreenFleetProps, TrafficShift, TrafficSwitch } from '../../lib';
import { STATE_NAMES } from '../../lib/cutover-workflow';
import { taskWorstCaseSeconds } from '../../lib/private/validation';
import { baseProps, fleetStack } from './fleet-fixture';

/** The state machine definition with every token replaced by a placeholder. */
function definitionOf(template: Template): any {
  const [sm] = Object.values(template.findResources('AWS::StepFunctions::StateMachine'));
  const join = sm.Properties.DefinitionString['Fn::Join'];
  return JSON.parse(join[1].map((p: any) => (typeof p === 'string' ? p : 'TOKEN')).join(join[0]));
}

/** The fleet config the handlers get: the start task's payload, with tokens replaced by placeholders. */
function configOf(template: Template): any {
  return definitionOf(template).States[STATE_NAMES.start].Parameters.config;
}

function functionNamed(template: Template, handler: string): any {
  return Object.values(template.findResources('AWS::Lambda::Function')).find((f) => f.Properties.Description === `Blue/green cutover: ${handler}`)!;
}

/** Statements of the policy attached to the role of a handler's function. */
function statementsOf(template: Template, handler: string): any[] {
  const role = functionNamed(template, handler).Properties.Role['Fn::GetAtt'][0];
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((p) => p.Properties.Roles.some((r: any) => r.Ref === role))
    .flatMap((p) => p.Properties.PolicyDocument.Statement);
}

const N = STATE_NAMES;

/** The policies of the records provider's role: the one allowing ChangeResourceRecordSets, and the others. */
function providerPolicies(template: Template): { changes: Record<string, any>; others: Record<string, any> } {
  const provider = Object.values(template.findResources('AWS::Lambda::Function')).find((f) => String(f.Properties.Description).startsWith('Blue/green weighted records'))!;
  const role = provider.Properties.Role['Fn::GetAtt'][0];
  const mine = Object.entries(template.findResources('AWS::IAM::Policy')).filter(([, p]) => p.Properties.Roles.some((r: any) => r.Ref === role));
  const isChange = (p: any) => JSON.stringify(p.Properties.PolicyDocument).includes('route53:ChangeResourceRecordSets');
  return { changes: Object.fromEntries(mine.filter(([, p]) => isChange(p))), others: Object.fromEntries(mine.filter(([, p]) => !isChange(p))) };
}

describe('a canary shift', () => {
  const { stack } = fleetStack({
    cutover: { trafficShift: TrafficShift.canary({ percent: 10, bake: Duration.minutes(5) }), pollInterval: Duration.seconds(15), stickinessDuration: Duration.minutes(2) },
  });
  const template = Template.fromStack(stack);
  const definition = definitionOf(template);
  const state = (name: string) => definition.States[name];

  test('moves 10% first, then all of it', () => {
    expect(state(N.shift(10))).toMatchObject({ Type: 'Task', Next: N.watch(10), Parameters: { 'state.$': '$', weight: 10 } });
    expect(state(N.shift(100))).toMatchObject({ Type: 'Task', Next: N.bake, Parameters: { 'state.$': '$', weight: 100 } });
    expect(state(N.smoke).Next).toBe(N.shift(10));
  });

  test('holds the canary, checking alarms every poll interval until the bake is over', () => {
    expect(state(N.watch(10))).toMatchObject({ Type: 'Task', Next: N.watchVerdict(10), Parameters: { 'state.$': '$', phase: 'shift' } });
    expect(state(N.watchVerdict(10))).toEqual({
      Type: 'Choice',
      Choices: [
        { Variable: '$.alarm', IsPresent: true, Next: N.rollBack },
        { Variable: '$.shiftStep.done', BooleanEquals: true, Next: N.shift(100) },
      ],
      Default: N.waitWatch(10),
    });
    expect(state(N.waitWatch(10))).toEqual({ Type: 'Wait', Seconds: 15, Next: N.watch(10) });
  });

  test('moves all traffic back from the canary step on any failure', () => {
    for (const name of [N.shift(10), N.watch(10), N.shift(100)]) {
      expect(state(name).Catch.map((c: any) => c.Next)).toEqual([N.superseded, N.rollBack]);
    }
  });

  test('gives the handlers the step time and the stickiness duration', () => {
    const config = configOf(template);
    expect(config).toMatchObject({ stepSeconds: 300, stickinessSeconds: 120 });
  });

  test('leaves the production rule in the template as it is: stickiness is set at run time only', () => {
    const plain = Template.fromStack(fleetStack().stack).findResources('AWS::ElasticLoadBalancingV2::ListenerRule');
    expect(template.findResources('AWS::ElasticLoadBalancingV2::ListenerRule')).toEqual(plain);
    expect(JSON.stringify(plain)).not.toContain('Stickiness');
  });

  test('allows for the canary in the state machine timeout', () => {
    const allAtOnce = Template.fromStack(fleetStack({ cutover: { pollInterval: Duration.seconds(15) } }).stack);
    const seconds = (t: Template) => definitionOf(t).TimeoutSeconds as number;
    // One more shift task and two alarm checks (each at its worst with every retry), the bake (300 s) and one poll (15 s).
    expect(seconds(template) - seconds(allAtOnce)).toBe(3 * taskWorstCaseSeconds(60) + 300 + 15);
  });
});

describe('a linear shift', () => {
  test('steps 25, 50, 75 and 100, each step short of 100 held with its alarms watched', () => {
    const definition = definitionOf(Template.fromStack(fleetStack({
      cutover: { trafficShift: TrafficShift.linear({ percentPerStep: 25, stepInterval: Duration.minutes(2) }) },
    }).stack));
    expect(Object.keys(definition.States).filter((n) => n.startsWith('Shift')).sort()).toEqual([N.shift(25), N.shift(50), N.shift(75), N.shift(100)].sort());
    const nextShift = (w: number) => definition.States[N.watchVerdict(w)].Choices.find((c: any) => c.Variable === '$.shiftStep.done').Next;
    expect([nextShift(25), nextShift(50), nextShift(75)]).toEqual([N.shift(50), N.shift(75), N.shift(100)]);
    for (const w of [25, 50, 75]) expect(definition.States[N.watchVerdict(w)].Choices[0]).toEqual({ Variable: '$.alarm', IsPresent: true, Next: N.rollBack });
    expect(definition.States[N.waitWatch(50)]).toEqual({ Type: 'Wait', Seconds: 10, Next: N.watch(50) });
  });

  test('clamps the last step to 100: 30 gives 30, 60, 90 and 100', () => {
    expect(TrafficShift.linear({ percentPerStep: 30, stepInterval: Duration.minutes(1) }).steps).toEqual([30, 60, 90, 100]);
    expect(TrafficShift.linear({ percentPerStep: 50, stepInterval: Duration.minutes(1) }).steps).toEqual([50, 100]);
    expect(TrafficShift.canary({ percent: 5, bake: Duration.minutes(1) }).steps).toEqual([5, 100]);
    expect(TrafficShift.allAtOnce().steps).toEqual([100]);
  });
});

describe('all at once', () => {
  test('is one shift straight into the bake, without step states', () => {
    const definition = definitionOf(Template.fromStack(fleetStack().stack));
    expect(definition.States[N.shift(100)].Next).toBe(N.bake);
    expect(Object.keys(definition.States).filter((n) => /^(Watch alarms at|Wait at|Alarm or step done)/.test(n))).toEqual([]);
  });
});

/** A fleet in its own stack that switches traffic with Route 53 records in example.com. */
function dnsFleet(extra: Partial<BlueGreenFleetProps> = {}, ttl?: Duration, recordName = 'Www', hostedZoneId = 'Z0123456789ABCDEFGHIJ') {
  const app = new App();
  const stack = new Stack(app, 'TestStack', { env: { account: '123456789012', region: 'us-east-1' } });
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
  const zone = route53.HostedZone.fromHostedZoneAttributes(stack, 'Zone', { hostedZoneId, zoneName: 'example.com' });
  const fleet = new BlueGreenFleet(stack, 'Web', { ...baseProps(vpc), trafficSwitch: TrafficSwitch.route53({ zone, recordName, ttl }), ...extra });
  return { stack, fleet, template: Template.fromStack(stack) };
}

describe('Route 53 switching', () => {
  const { stack, fleet, template } = dnsFleet({ cutover: { trafficShift: TrafficShift.canary({ percent: 10, bake: Duration.minutes(5) }) } });
  const lbId = (c: 'blue' | 'green') => stack.getLogicalId(fleet[c].loadBalancer!.node.defaultChild as elbv2.CfnLoadBalancer);
  const tgId = (c: 'blue' | 'green') => stack.getLogicalId(fleet[c].targetGroup.node.defaultChild as elbv2.CfnTargetGroup);

  test('gives each colour a load balancer of its own whose catch-all rule forwards to that colour only', () => {
    template.resourceCountIs('AWS::ElasticLoadBalancingV2::LoadBalancer', 2);
    template.resourceCountIs('AWS::ElasticLoadBalancingV2::Listener', 2);
    for (const c of ['blue', 'green'] as const) {
      template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
        LoadBalancerArn: { Ref: lbId(c) }, Port: 80, DefaultActions: [Match.objectLike({ Type: 'fixed-response' })],
      });
      template.hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', {
        ListenerArn: { Ref: stack.getLogicalId(fleet[c].productionListener!.node.defaultChild as elbv2.CfnListener) },
        Priority: 50000,
        Actions: [{ Type: 'forward', TargetGroupArn: { Ref: tgId(c) } }],
      });
    }
    template.resourceCountIs('AWS::ElasticLoadBalancingV2::ListenerRule', 2);
  });

  test('creates the weighted records through the create-only resource, never as template weights', () => {
    template.resourceCountIs('AWS::Route53::RecordSet', 0);
    template.hasResourceProperties('Custom::BlueGreenDnsRecords', {
      HostedZoneId: 'Z0123456789ABCDEFGHIJ',
      RecordName: 'www.example.com',
      RecordType: 'A',
      Targets: {
        blue: { DnsName: { 'Fn::Join': ['', ['dualstack.', { 'Fn::GetAtt': [lbId('blue'), 'DNSName'] }]] }, HostedZoneId: { 'Fn::GetAtt': [lbId('blue'), 'CanonicalHostedZoneID'] } },
        green: { DnsName: { 'Fn::Join': ['', ['dualstack.', { 'Fn::GetAtt': [lbId('green'), 'DNSName'] }]] }, HostedZoneId: { 'Fn::GetAtt': [lbId('green'), 'CanonicalHostedZoneID'] } },
      },
    });
    const [records] = Object.values(template.findResources('Custom::BlueGreenDnsRecords'));
    expect(JSON.stringify(records.Properties)).not.toMatch(/Weight/);
    expect(records.Properties).not.toHaveProperty('Ttl');
  });

  test('lets the records provider change only these records, as A or CNAME, through a policy of their own', () => {
    const { changes, others } = providerPolicies(template);
    expect(Object.values(changes).map((p) => p.Properties.PolicyDocument.Statement)).toEqual([[{
      Action: 'route53:ChangeResourceRecordSets',
      Effect: 'Allow',
      Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':route53:::hostedzone/Z0123456789ABCDEFGHIJ']] },
      Condition: {
        'ForAllValues:StringEquals': {
          'route53:ChangeResourceRecordSetsNormalizedRecordNames': ['www.example.com'],
          'route53:ChangeResourceRecordSetsRecordTypes': ['A', 'CNAME'],
          'route53:ChangeResourceRecordSetsActions': ['CREATE', 'UPSERT', 'DELETE'],
        },
      },
    }]]);
    expect(JSON.stringify(others)).not.toContain('route53:ChangeResourceRecordSets');
    // The provider runs, and deletes, only while the policy is there.
    const [records] = Object.values(template.findResources('Custom::BlueGreenDnsRecords'));
    expect(records.DependsOn).toEqual(expect.arrayContaining(Object.keys(changes)));
  });

  test('a rename or another zone gets a new policy (a new logical id), so the old name\'s lasts until cleanup; other changes keep it', () => {
    // CloudFormation creates the new policy before it updates the records resource that depends on it,
    // and deletes the removed old one in UPDATE_COMPLETE_CLEANUP_IN_PROGRESS ("Ongoing removal of old
    // resources ... after a successful stack update", AWS CloudFormation User Guide, stack status codes;
    // DependsOn: "resource B is updated before resource A"), so the provider's Update may change both names.
    const ids = (t: Template) => Object.keys(providerPolicies(t).changes);
    const www = ids(template);
    const shop = dnsFleet({}, undefined, 'shop');
    expect(www).toHaveLength(1);
    expect(ids(shop.template)).toHaveLength(1);
    expect(ids(shop.template)).not.toEqual(www);
    expect(Object.values(providerPolicies(shop.template).changes)[0].Properties.PolicyDocument.Statement[0].Condition['ForAllValues:StringEquals']['route53:ChangeResourceRecordSetsNormalizedRecordNames'])
      .toEqual(['shop.example.com']);
    expect(ids(dnsFleet({}, undefined, 'Www', 'Z9999999999ABCDEFGHIJ').template)).not.toEqual(www);
    // The rest of the provider's permissions stay where they were.
    expect(Object.keys(providerPolicies(shop.template).others)).toEqual(Object.keys(providerPolicies(template).others));
    // Same name and zone, anything else changed: the same policy.
    expect(ids(dnsFleet({}, Duration.seconds(30)).template)).toEqual(www);
    expect(ids(dnsFleet({}, undefined, 'www.example.com').template)).toEqual(www);
  });

  test('lets shift and roll-back only UPSERT these two records, and wait for the change', () => {
    for (const handler of ['shift', 'roll-back']) {
      const statements = statementsOf(template, handler);
      expect(statements).toContainEqual({
        Action: 'route53:ChangeResourceRecordSets',
        Effect: 'Allow',
        Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':route53:::hostedzone/Z0123456789ABCDEFGHIJ']] },
        Condition: {
          'ForAllValues:StringEquals': {
            'route53:ChangeResourceRecordSetsNormalizedRecordNames': ['www.example.com'],
            'route53:ChangeResourceRecordSetsRecordTypes': ['A'],
            'route53:ChangeResourceRecordSetsActions': ['UPSERT'],
          },
        },
      });
      expect(statements).toContainEqual(expect.objectContaining({ Action: 'route53:GetChange', Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':route53:::change/*']] } }));
      expect(JSON.stringify(statements)).not.toContain('elasticloadbalancing');
      expect(functionNamed(template, handler).Properties.Timeout).toBe(300);
    }
    for (const handler of ['find-live', 'scale-to-zero', 'retire-previous']) {
      expect(statementsOf(template, handler)).toContainEqual(expect.objectContaining({ Action: 'route53:ListResourceRecordSets' }));
    }
    const all = Object.values(template.findResources('AWS::IAM::Policy')).flatMap((p) => p.Properties.PolicyDocument.Statement);
    expect(all.filter((s) => [].concat(s.Action).includes('elasticloadbalancing:ModifyRule' as never))).toEqual([]);
  });

  test('gives the handlers the records and each colour its load balancer; no shared rule', () => {
    const config = configOf(template);
    expect(config).toMatchObject({
      productionRuleArn: '', testRuleArn: '', loadBalancerDnsName: '', loadBalancerFullName: '', testPort: 80, stepSeconds: 300,
      route53: { hostedZoneId: 'Z0123456789ABCDEFGHIJ', recordName: 'www.example.com', recordType: 'A' },
      colours: { blue: { loadBalancer: { dnsName: 'TOKEN', fullName: 'TOKEN' } }, green: { loadBalancer: { dnsName: 'TOKEN', fullName: 'TOKEN' } } },
    });
    expect(config).not.toHaveProperty('stickinessSeconds');
    expect(config.route53).not.toHaveProperty('ttlSeconds');
  });

  test('keeps the colour traffic left serving for five TTLs after a rollback, for clients that still hold the old answer', () => {
    const definition = definitionOf(template);
    expect(definition.States[N.rollBack].Next).toBe(N.dnsDrain);
    expect(definition.States[N.dnsDrain]).toEqual({ Type: 'Wait', Seconds: 300, Next: N.scaleFailedDown });
    expect(definition.States[N.rollbackShift].Next).toBe(N.dnsDrainRollback);
    expect(definition.States[N.dnsDrainRollback]).toEqual({ Type: 'Wait', Seconds: 300, Next: N.rollbackRetire });
  });

  test('lets the smoke tests reach each colour\'s load balancer on its production port', () => {
    for (const c of ['blue', 'green'] as const) {
      const sg = fleet[c].loadBalancer!.connections.securityGroups[0].node.defaultChild as ec2.CfnSecurityGroup;
      template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
        GroupId: { 'Fn::GetAtt': [stack.getLogicalId(sg), 'GroupId'] },
        FromPort: 80,
        SourceSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('SmokeTestSecurityGroup'), 'GroupId'] },
      });
    }
  });

  test('has no shared load balancer: the shared members are undefined, each colour has its own', () => {
    expect(fleet.loadBalancer).toBeUndefined();
    expect(fleet.productionRule).toBeUndefined();
    expect(fleet.loadBalancers).toEqual([fleet.blue.loadBalancer, fleet.green.loadBalancer]);
    expect(fleet.dnsRecords?.recordName).toBe('www.example.com');
    expect(fleet.blue.loadBalancer).toBeDefined();
    expect(fleet.testPort).toBe(80);
  });

  test('writes weighted CNAME records with their TTL when a TTL is given, and drains for five of them', () => {
    const cname = dnsFleet({ cutover: { keepPreviousWarm: Duration.minutes(10) } }, Duration.seconds(30));
    cname.template.hasResourceProperties('Custom::BlueGreenDnsRecords', {
      RecordType: 'CNAME', Ttl: 30,
      Targets: { blue: { DnsName: { 'Fn::GetAtt': [Match.stringLikeRegexp('WebBlueLoadBalancer'), 'DNSName'] } } },
    });
    const definition = definitionOf(cname.template);
    expect(definition.States[N.dnsDrain].Seconds).toBe(150);
    expect(configOf(cname.template).route53).toMatchObject({ recordType: 'CNAME', ttlSeconds: 30 });
  });
});

describe('Route 53 switching and redeploys (DESIGN invariant 6)', () => {
  test('a certificate or a new instance type changes neither the records resource nor the per-colour rules', () => {
    const pick = (t: Template) => ({
      records: t.findResources('Custom::BlueGreenDnsRecords'),
      rules: t.findResources('AWS::ElasticLoadBalancingV2::ListenerRule'),
    });
    const before = pick(dnsFleet().template);
    expect(pick(dnsFleet({ certificates: [elbv2.ListenerCertificate.fromArn('arn:aws:acm:us-east-1:123456789012:certificate/abc')] }).template)).toEqual(before);
    expect(pick(dnsFleet({ instanceType: new ec2.InstanceType('m7i.large') }).template)).toEqual(before);
  });
});

describe('Route 53 switching with HTTPS', () => {
  test('puts the certificates and the HTTP redirect on each colour\'s load balancer', () => {
    const { template } = dnsFleet({ certificates: [elbv2.ListenerCertificate.fromArn('arn:aws:acm:us-east-1:123456789012:certificate/abc')], httpRedirect: true });
    template.resourceCountIs('AWS::ElasticLoadBalancingV2::Listener', 4);
    const listeners = Object.values(template.findResources('AWS::ElasticLoadBalancingV2::Listener')).map((l) => `${l.Properties.Protocol}:${l.Properties.Port}`).sort();
    expect(listeners).toEqual(['HTTP:80', 'HTTP:80', 'HTTPS:443', 'HTTPS:443']);
    expect(configOf(template)).toMatchObject({ testPort: 443, testProtocol: 'HTTPS' });
  });
});
