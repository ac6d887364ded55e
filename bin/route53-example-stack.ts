import { Duration, Stack, StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as route53 from 'aws-cdk-lib/aws-route53';
import { Construct } from 'constructs';
import { BlueGreenFleet, SmokeCheck, TrafficShift, TrafficSwitch } from '../lib';
import { exampleUserData, exampleVpc } from './example-stack';

/**
 * The example with Route 53 switching: a load balancer per colour, and weighted alias records
 * www.example.com (set identifiers blue and green) that a canary moves 10 % at a time.
 */
export class Route53ExampleStack extends Stack {
  public readonly fleet: BlueGreenFleet;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);

    const vpc = exampleVpc(this);
    const zone = route53.HostedZone.fromHostedZoneAttributes(this, 'Zone', { hostedZoneId: 'Z0123456789ABCDEFGHIJ', zoneName: 'example.com' });

    const userData = exampleUserData();

    this.fleet = new BlueGreenFleet(this, 'Web', {
      vpc,
      instanceType: new ec2.InstanceType('t3.small'),
      machineImage: ec2.MachineImage.latestAmazonLinux2023(),
      userData,
      capacity: { minCapacity: 2, maxCapacity: 6 },
      healthCheck: { path: '/health' },
      trafficSwitch: TrafficSwitch.route53({ zone, recordName: 'www' }),
      cutover: {
        trafficShift: TrafficShift.canary({ percent: 10, bake: Duration.minutes(5) }),
        smokeChecks: [SmokeCheck.http({ path: '/health', jsonField: 'version', jsonValue: '${version}' })],
        keepPreviousWarm: Duration.minutes(15),
      },
    });
  }
}
