/**
 * The baseline for `synthRatioVsPlain`: what a team writes today with plain aws-cdk-lib for the
 * same infrastructure as the example app, without blue/green: the same VPC, two Auto Scaling
 * groups on launch templates, two target groups, one Application Load Balancer with a
 * production and a test listener. No cutover workflow, no alarms, no Lambda functions.
 */
import { Duration, Stack, StackProps } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { Construct } from 'constructs';

export class PlainStack extends Stack {
  constructor(scope: Construct, id: string, props: StackProps = {}) {
    super(scope, id, props);

    // The example app's VPC, as declared there.
    const vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: 1,
      flowLogs: { All: { trafficType: ec2.FlowLogTrafficType.ALL } },
    });

    const userData = ec2.UserData.forLinux();
    userData.addCommands(
      'dnf install -y nginx',
      'echo "{\\"version\\":\\"1.0.0\\"}" > /usr/share/nginx/html/health',
      'systemctl enable --now nginx',
    );

    const loadBalancer = new elbv2.ApplicationLoadBalancer(this, 'LoadBalancer', { vpc, internetFacing: true });
    // One security group for both colours' instances: the instance port from the load balancer only.
    const instanceSecurityGroup = new ec2.SecurityGroup(this, 'InstanceSecurityGroup', { vpc });
    instanceSecurityGroup.connections.allowFrom(loadBalancer, ec2.Port.tcp(80), 'From the load balancer');
    const groups = ['Blue', 'Green'].map((colour) => {
      const launchTemplate = new ec2.LaunchTemplate(this, `${colour}LaunchTemplate`, {
        instanceType: new ec2.InstanceType('t3.small'),
        machineImage: ec2.MachineImage.latestAmazonLinux2023(),
        userData,
        securityGroup: instanceSecurityGroup,
        requireImdsv2: true,
        blockDevices: [{ deviceName: '/dev/xvda', volume: ec2.BlockDeviceVolume.ebs(8, { encrypted: true, volumeType: ec2.EbsDeviceVolumeType.GP3 }) }],
      });
      const group = new autoscaling.AutoScalingGroup(this, `${colour}Group`, {
        vpc,
        launchTemplate,
        minCapacity: 2,
        maxCapacity: 6,
        healthChecks: autoscaling.HealthChecks.withAdditionalChecks({
          additionalTypes: [autoscaling.AdditionalHealthCheckType.ELB],
          gracePeriod: Duration.minutes(2),
        }),
      });
      const targetGroup = new elbv2.ApplicationTargetGroup(this, `${colour}TargetGroup`, {
        vpc,
        port: 80,
        protocol: elbv2.ApplicationProtocol.HTTP,
        targets: [group],
        deregistrationDelay: Duration.seconds(30),
        healthCheck: { path: '/health', interval: Duration.seconds(10), timeout: Duration.seconds(5), healthyThresholdCount: 2, unhealthyThresholdCount: 2 },
      });
      return targetGroup;
    });

    loadBalancer.addListener('Production', {
      port: 80,
      protocol: elbv2.ApplicationProtocol.HTTP,
      defaultAction: elbv2.ListenerAction.forward([groups[0]]),
    });
    loadBalancer.addListener('Test', {
      port: 8080,
      protocol: elbv2.ApplicationProtocol.HTTP,
      open: false,
      defaultAction: elbv2.ListenerAction.forward([groups[1]]),
    });
  }
}
