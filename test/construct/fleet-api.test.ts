import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as route53 from 'aws-cdk-lib/aws-route53';
import { BlueGreenFleet, BlueGreenFleetProps, TrafficSwitch } from '../../lib';
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
