import { Stack, StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';
import { BlueGreenFleet } from '../lib';

/** The example: one VPC and one blue/green fleet serving HTTP on port 80. */
export class ExampleStack extends Stack {
  public readonly fleet: BlueGreenFleet;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);

    const vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: 1,
      flowLogs: { All: { trafficType: ec2.FlowLogTrafficType.ALL } },
    });

    const userData = ec2.UserData.forLinux();
    userData.addCommands(
      'dnf install -y nginx',
      'VERSION=$(aws ssm get-parameter --name "$BLUE_GREEN_VERSION_PARAMETER" --query Parameter.Value --output text)',
      'echo "{\\"colour\\":\\"$BLUE_GREEN_COLOUR\\",\\"version\\":\\"$VERSION\\"}" > /usr/share/nginx/html/health',
      'systemctl enable --now nginx',
    );

    this.fleet = new BlueGreenFleet(this, 'Web', {
      vpc,
      instanceType: new ec2.InstanceType('t3.small'),
      machineImage: ec2.MachineImage.latestAmazonLinux2023(),
      userData,
      capacity: { minCapacity: 2, maxCapacity: 6 },
      healthCheck: { path: '/health' },
    });
  }
}
