import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as route53 from 'aws-cdk-lib/aws-route53';
import { IConstruct } from 'constructs';
import { BlueGreenFleet, BlueGreenFleetProps, TrafficSwitch } from '../../lib';
import { CutoverHandlers } from '../../lib/private/cutover-handlers';
import { FleetResourcesProvider } from '../../lib/private/fleet-resources';
import { baseProps, fleetStack } from './fleet-fixture';

/** A fleet switched by Route 53 records (a load balancer per colour). */
function route53Fleet(overrides: Partial<BlueGreenFleetProps> = {}): { stack: Stack; fleet: BlueGreenFleet; vpc: ec2.Vpc } {
  const app = new App();
  const stack = new Stack(app, 'TestStack', { env: { account: '123456789012', region: 'us-east-1' } });
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
  const zone = route53.HostedZone.fromHostedZoneAttributes(stack, 'Zone', { hostedZoneId: 'Z0123456789ABCDEFGHIJ', zoneName: 'example.com' });
  const fleet = new BlueGreenFleet(stack, 'Web', { ...baseProps(vpc), trafficSwitch: TrafficSwitch.route53({ zone, recordName: 'www' }), ...overrides });
  return { stack, fleet, vpc };
}

const groupIdOf = (stack: Stack, sg: ec2.ISecurityGroup) => ({ 'Fn::GetAtt': [stack.getLogicalId(sg.node.defaultChild as ec2.CfnSecurityGroup), 'GroupId'] });

describe('the fleet is ec2.IConnectable', () => {
  test.each([
    ['listener-rule switching', fleetStack],
    ['Route 53 switching', route53Fleet],
  ])('with %s, db.connections.allowDefaultPortFrom(fleet) lets both colours\' instances reach the database', (_name, build) => {
    const { stack, fleet, vpc } = build();
    const db = new rds.DatabaseInstance(stack, 'Db', {
      engine: rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_16 }),
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      storageEncrypted: true,
    });
    db.connections.allowDefaultPortFrom(fleet);
    const template = Template.fromStack(stack);

    // The fleet's connections are the instances' security group, which both colours launch with.
    expect(fleet.connections.securityGroups).toEqual([fleet.instanceSecurityGroup]);
    const templates = Object.values(template.findResources('AWS::EC2::LaunchTemplate'));
    expect(templates).toHaveLength(2);
    for (const t of templates) {
      expect(t.Properties.LaunchTemplateData.SecurityGroupIds).toEqual([groupIdOf(stack, fleet.instanceSecurityGroup)]);
    }
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      GroupId: groupIdOf(stack, db.connections.securityGroups[0]),
      SourceSecurityGroupId: groupIdOf(stack, fleet.instanceSecurityGroup),
      FromPort: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Db'), 'Endpoint.Port'] },
    });
  });

  test('its default port is the instance port: fleet.connections.allowDefaultPortFrom(peer) opens it on the instances', () => {
    const { stack, fleet } = fleetStack({ instancePort: 8000 });
    fleet.connections.allowDefaultPortFrom(ec2.Peer.ipv4('10.9.0.0/16'), 'Monitoring');
    const template = Template.fromStack(stack);
    const sg = template.findResources('AWS::EC2::SecurityGroup')[stack.getLogicalId(fleet.instanceSecurityGroup.node.defaultChild as ec2.CfnSecurityGroup)];
    expect(sg.Properties.SecurityGroupIngress).toEqual([
      { CidrIp: '10.9.0.0/16', Description: 'Monitoring', FromPort: 8000, IpProtocol: 'tcp', ToPort: 8000 },
    ]);
  });
});

describe('log retention and removal policy', () => {
  /** The template entries of the log groups under `scope`, and of the lock table. */
  const logGroupsOf = (stack: Stack, template: Template, scope: IConstruct) => {
    const all = template.findResources('AWS::Logs::LogGroup');
    return scope.node.findAll().filter((c) => c instanceof logs.LogGroup).map((g) => all[stack.getLogicalId(g.node.defaultChild as logs.CfnLogGroup)]);
  };
  /** The fleet's own log groups (its state machine's) and those of the handlers its stack's fleets share. */
  const fleetLogGroups = (stack: Stack, template: Template, fleet: BlueGreenFleet) =>
    [...logGroupsOf(stack, template, fleet), ...logGroupsOf(stack, template, CutoverHandlers.of(stack))];
  const lockTableOf = (stack: Stack, template: Template, fleet: BlueGreenFleet) =>
    template.findResources('AWS::DynamoDB::Table')[stack.getLogicalId(fleet.cutover.lockTable.node.defaultChild as dynamodb.CfnTable)];

  test('by default the fleet\'s log groups keep one month and, like the lock table, are deleted with the stack', () => {
    const { stack, fleet } = fleetStack();
    const template = Template.fromStack(stack);
    // The state machine's, and the 13 shared handlers' (the fleet is the stack's only one).
    expect(logGroupsOf(stack, template, fleet)).toHaveLength(1);
    const groups = fleetLogGroups(stack, template, fleet);
    expect(groups).toHaveLength(14);
    for (const g of groups) expect(g).toMatchObject({ Properties: { RetentionInDays: 30 }, DeletionPolicy: 'Delete', UpdateReplacePolicy: 'Delete' });
    expect(lockTableOf(stack, template, fleet)).toMatchObject({ DeletionPolicy: 'Delete', UpdateReplacePolicy: 'Delete' });
  });

  test('logRetention and removalPolicy apply to every log group of the fleet and to the lock table', () => {
    const { stack, fleet } = fleetStack({ logRetention: logs.RetentionDays.THREE_MONTHS, removalPolicy: RemovalPolicy.RETAIN });
    const template = Template.fromStack(stack);
    const groups = fleetLogGroups(stack, template, fleet);
    expect(groups).toHaveLength(14);
    for (const g of groups) expect(g).toMatchObject({ Properties: { RetentionInDays: 90 }, DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    expect(lockTableOf(stack, template, fleet)).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    // The provider shared by the stack's fleets keeps its own settings.
    const [provider] = logGroupsOf(stack, template, FleetResourcesProvider.of(stack));
    expect(provider).toMatchObject({ Properties: { RetentionInDays: 30 }, DeletionPolicy: 'Delete' });
  });

  test('with Route 53 switching they apply to the records provider\'s log group too', () => {
    const { stack, fleet } = route53Fleet({ logRetention: logs.RetentionDays.ONE_WEEK, removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE });
    const template = Template.fromStack(stack);
    const [records] = logGroupsOf(stack, template, fleet.dnsRecords!);
    expect(records).toMatchObject({ Properties: { RetentionInDays: 7 }, DeletionPolicy: 'RetainExceptOnCreate', UpdateReplacePolicy: 'Retain' });
    // The shared handlers' include the Route 53 variants of shift, roll-back and recover only.
    expect(fleetLogGroups(stack, template, fleet)).toHaveLength(15);
    for (const g of fleetLogGroups(stack, template, fleet)) expect(g.Properties.RetentionInDays).toBe(7);
  });

  test('RetentionDays.INFINITE keeps the events forever (no RetentionInDays)', () => {
    const { stack, fleet } = fleetStack({ logRetention: logs.RetentionDays.INFINITE });
    const template = Template.fromStack(stack);
    const groups = fleetLogGroups(stack, template, fleet);
    expect(groups).toHaveLength(14);
    for (const g of groups) expect(g.Properties?.RetentionInDays).toBeUndefined();
  });

  test('the handlers shared by a stack\'s fleets keep their logs as long as any fleet asks, and retain them if any fleet does', () => {
    const app = new App();
    const stack = new Stack(app, 'TestStack', { env: { account: '123456789012', region: 'us-east-1' } });
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
    const a = new BlueGreenFleet(stack, 'A', { ...baseProps(vpc), logRetention: logs.RetentionDays.ONE_WEEK, removalPolicy: RemovalPolicy.RETAIN });
    const b = new BlueGreenFleet(stack, 'B', { ...baseProps(vpc), logRetention: logs.RetentionDays.ONE_YEAR });
    const template = Template.fromStack(stack);
    const shared = logGroupsOf(stack, template, CutoverHandlers.of(stack));
    expect(shared).toHaveLength(13);
    for (const g of shared) expect(g).toMatchObject({ Properties: { RetentionInDays: 365 }, DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    // Each fleet's own state machine log group and lock table follow its own settings.
    expect(logGroupsOf(stack, template, a)).toEqual([expect.objectContaining({ Properties: { RetentionInDays: 7 }, DeletionPolicy: 'Retain' })]);
    expect(logGroupsOf(stack, template, b)).toEqual([expect.objectContaining({ Properties: { RetentionInDays: 365 }, DeletionPolicy: 'Delete' })]);
    expect(lockTableOf(stack, template, b)).toMatchObject({ DeletionPolicy: 'Delete' });
  });
});

describe('load balancer members: optional where a mode has none, never throwing', () => {
  test('listener-rule switching: the shared load balancer, listeners and rules; the colours have none of their own', () => {
    const { fleet } = fleetStack();
    expect(fleet.loadBalancer).toBeDefined();
    expect(fleet.loadBalancers).toEqual([fleet.loadBalancer]);
    for (const member of [fleet.productionListener, fleet.testListener, fleet.productionRule, fleet.testRule]) expect(member).toBeDefined();
    for (const c of fleet.colours) {
      expect([c.loadBalancer, c.productionListener, c.productionRule]).toEqual([undefined, undefined, undefined]);
    }
    expect(fleet.metricLoadBalancerErrors().metricName).toBe('HTTPCode_ELB_5XX_Count');
  });

  test('listener-rule switching on a load balancer passed in: loadBalancers is that one', () => {
    const app = new App();
    const stack = new Stack(app, 'TestStack', { env: { account: '123456789012', region: 'us-east-1' } });
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
    const alb = new elbv2.ApplicationLoadBalancer(stack, 'Shared', { vpc, internetFacing: true });
    const fleet = new BlueGreenFleet(stack, 'Web', { ...baseProps(vpc), loadBalancer: alb });
    expect(fleet.loadBalancer).toBe(alb);
    expect(fleet.loadBalancers).toEqual([alb]);
  });

  test('Route 53 switching: the shared members are undefined, each colour has its own, loadBalancers lists both', () => {
    const { fleet } = route53Fleet();
    expect([fleet.loadBalancer, fleet.productionListener, fleet.testListener, fleet.productionRule, fleet.testRule])
      .toEqual([undefined, undefined, undefined, undefined, undefined]);
    for (const c of fleet.colours) {
      for (const member of [c.loadBalancer, c.productionListener, c.productionRule]) expect(member).toBeDefined();
    }
    expect(fleet.loadBalancers).toEqual([fleet.blue.loadBalancer, fleet.green.loadBalancer]);
    // Code written for either mode.
    const dnsNames = fleet.loadBalancers.map((lb) => lb.loadBalancerDnsName);
    expect(dnsNames).toHaveLength(2);
    expect(fleet.loadBalancer?.loadBalancerDnsName).toBeUndefined();
  });

  test('Route 53 switching: metricLoadBalancerErrors() says which load balancers to measure instead', () => {
    const { fleet } = route53Fleet();
    expect(() => fleet.metricLoadBalancerErrors()).toThrow(
      "TestStack/Web switches traffic with Route 53 records, so it has no shared load balancer to measure: use each colour's, " +
      'such as fleet.blue.loadBalancer!.metrics.httpCodeElb(elbv2.HttpCodeElb.ELB_5XX_COUNT), or loop over fleet.loadBalancers.',
    );
  });
});
