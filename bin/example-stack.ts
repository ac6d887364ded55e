import { Duration, Stack, StackProps, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as route53 from 'aws-cdk-lib/aws-route53';
import { Construct } from 'constructs';
import { BlueGreenFleet, BlueGreenFleetProps, CutoverOptions, SmokeCheck, TrafficSwitch } from '../lib';

/** The examples' VPC: two AZs, one NAT gateway, flow logs. */
export function exampleVpc(scope: Construct): ec2.Vpc {
  return new ec2.Vpc(scope, 'Vpc', {
    maxAzs: 2,
    natGateways: 1,
    flowLogs: { All: { trafficType: ec2.FlowLogTrafficType.ALL } },
  });
}

/** The examples' application: nginx serving /health with the colour and the version it runs. */
export function exampleUserData(): ec2.UserData {
  const userData = ec2.UserData.forLinux();
  userData.addCommands(
    'dnf install -y nginx',
    'VERSION=$(aws ssm get-parameter --name "$BLUE_GREEN_VERSION_PARAMETER" --query Parameter.Value --output text)',
    'echo "{\\"colour\\":\\"$BLUE_GREEN_COLOUR\\",\\"version\\":\\"$VERSION\\"}" > /usr/share/nginx/html/health',
    'systemctl enable --now nginx',
  );
  return userData;
}

/** Props of the example stack; the local lab uses them to vary the example. */
export interface ExampleStackProps extends StackProps {
  /** Overrides of the fleet's props. */
  readonly fleet?: Partial<BlueGreenFleetProps>;
  /** Overrides of the cutover options. */
  readonly cutover?: CutoverOptions;
  /**
   * Switch traffic with Route 53 weighted records in an existing zone instead of the listener
   * rule (the lab creates the zone in the emulator first).
   * @default - the listener rule switch
   */
  readonly route53?: ExampleRoute53Props;
  /**
   * One load balancer for two fleets, as a platform team runs it: the stack creates the load
   * balancer with an HTTP listener on 80 and a test listener on 8080, and two fleets, `Web`
   * (`web.example.com`, priority 10) and `Api` (`api.example.com`, priority 20), add their rules
   * to them. Not with `route53`.
   * @default false
   */
  readonly sharedListener?: boolean;
  /**
   * Give every fleet of the example its cutover notifications (a new topic, encrypted with a key of
   * its own) and its CloudWatch dashboard.
   * @default false
   */
  readonly observability?: boolean;
}

/** Where the example's weighted records go. */
export interface ExampleRoute53Props {
  readonly hostedZoneId: string;
  readonly zoneName: string;
  /** Relative or fully qualified name of the records. */
  readonly recordName: string;
  /** TTL of the records: CNAME records instead of alias records. */
  readonly ttl?: Duration;
}

/** The example: one VPC and one blue/green fleet serving HTTP on port 80. */
export class ExampleStack extends Stack {
  public readonly fleet: BlueGreenFleet;
  /** Every fleet of the stack: `fleet`, and with `sharedListener` the `Api` fleet after it. */
  public readonly fleets: BlueGreenFleet[];
  /** An application-level alarm that also rolls cutovers back. */
  public readonly checkoutErrors: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: ExampleStackProps = {}) {
    super(scope, id, props);

    const vpc = exampleVpc(this);
    const userData = exampleUserData();

    const shared = props.sharedListener ? sharedListeners(this, vpc) : undefined;
    const observability: Partial<BlueGreenFleetProps> = props.observability ? { notifications: {}, dashboard: true } : {};
    const fleetProps = (host: string, priority: number): Partial<BlueGreenFleetProps> => (shared ? {
      loadBalancer: shared.loadBalancer,
      productionListener: shared.production,
      testListener: shared.test,
      listenerRule: { conditions: [elbv2.ListenerCondition.hostHeaders([host])], priority },
    } : {});
    this.fleet = new BlueGreenFleet(this, 'Web', {
      ...fleetProps('web.example.com', 10),
      vpc,
      instanceType: new ec2.InstanceType('t3.small'),
      machineImage: ec2.MachineImage.latestAmazonLinux2023(),
      userData,
      capacity: { minCapacity: 2, maxCapacity: 6 },
      healthCheck: { path: '/health' },
      ...(props.route53 ? {
        trafficSwitch: TrafficSwitch.route53({
          zone: route53.HostedZone.fromHostedZoneAttributes(this, 'Zone', { hostedZoneId: props.route53.hostedZoneId, zoneName: props.route53.zoneName }),
          recordName: props.route53.recordName,
          ttl: props.route53.ttl,
        }),
      } : {}),
      ...observability,
      ...props.fleet,
      cutover: {
        smokeChecks: [SmokeCheck.http({ path: '/health', jsonField: 'version', jsonValue: '${version}', latencyBudget: Duration.seconds(1) })],
        ...props.cutover,
      },
    });

    this.checkoutErrors = new cloudwatch.Alarm(this, 'CheckoutErrors', {
      metric: new cloudwatch.Metric({ namespace: 'Shop', metricName: 'CheckoutErrors', statistic: 'Sum', period: Duration.minutes(1) }),
      threshold: 10,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: 'Checkout errors: rolls a cutover back while in ALARM.',
    });
    this.fleet.addRollbackAlarm(this.checkoutErrors);
    this.fleets = [this.fleet];
    if (shared) {
      this.fleets.push(new BlueGreenFleet(this, 'Api', {
        ...fleetProps('api.example.com', 20),
        vpc,
        instanceType: new ec2.InstanceType('t3.small'),
        machineImage: ec2.MachineImage.latestAmazonLinux2023(),
        userData,
        capacity: { minCapacity: 2, maxCapacity: 6 },
        healthCheck: { path: '/health' },
        ...observability,
        cutover: {
          smokeChecks: [SmokeCheck.http({ path: '/health', jsonField: 'version', jsonValue: '${version}', latencyBudget: Duration.seconds(1) })],
          ...props.cutover,
        },
      }));
    }
  }
}

/** A platform team's load balancer: HTTP on 80 for production, 8080 (VPC only) for smoke tests, 404 where no rule matches. */
function sharedListeners(scope: Construct, vpc: ec2.IVpc) {
  const loadBalancer = new elbv2.ApplicationLoadBalancer(scope, 'SharedLoadBalancer', { vpc, internetFacing: true, dropInvalidHeaderFields: true });
  const notFound = elbv2.ListenerAction.fixedResponse(404, { contentType: 'text/plain', messageBody: 'No service has this host name.' });
  const production = loadBalancer.addListener('Http', { port: 80, defaultAction: notFound });
  const test = loadBalancer.addListener('HttpTest', { port: 8080, open: false, defaultAction: notFound });
  test.connections.allowDefaultPortFrom(ec2.Peer.ipv4(vpc.vpcCidrBlock), 'Smoke tests from the VPC');
  Validations.of(loadBalancer).acknowledge(
    { id: 'AwsSolutions-ELB2', reason: 'Example: access logs need a bucket the platform team owns.' },
    { id: 'AwsSolutions-EC23', reason: 'Example: an internet-facing load balancer accepts the production port from anywhere by design; the test port is limited to the VPC.' },
  );
  return { loadBalancer, production, test };
}
