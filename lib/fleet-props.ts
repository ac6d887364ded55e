import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import { CutoverOptions } from './cutover-options';
import { TrafficSwitch } from './traffic-switch';

/** How many instances the live colour runs. */
export interface FleetCapacity {
  /**
   * Lowest number of instances of the live colour. Blue starts at this size on the
   * first deploy; green starts empty.
   * @default 2
   */
  readonly minCapacity?: number;

  /**
   * Highest number of instances of either colour.
   * @default - the larger of `minCapacity` and 4
   */
  readonly maxCapacity?: number;
}

/**
 * Which requests on the listeners are the fleet's, and where its two rules sit among the
 * listeners' rules. With listeners shared by several services (one load balancer, many fleets),
 * each fleet's rules have conditions (a host name, a path) and priorities of their own.
 */
export interface FleetListenerRule {
  /**
   * Conditions a request must meet to reach the fleet, such as
   * `[elbv2.ListenerCondition.hostHeaders(['shop.example.com'])]` or
   * `[elbv2.ListenerCondition.pathPatterns(['/api/*'])]`. The production rule and the test rule both
   * get them. At most one of each of host-header, path-pattern, http-request-method and source-ip,
   * at most 3 values per condition and 5 in all (ALB's limits). The smoke tests send the
   * host-header value as their Host header (and TLS server name); with a wildcard in it, give
   * each smoke check a `host` request header; each smoke check's path must match a path pattern.
   * @default - every request (path pattern '/*')
   */
  readonly conditions?: elbv2.ListenerCondition[];

  /**
   * Priority of the fleet's production rule and test rule on their listeners, from 1 (evaluated
   * first) to 50000. Every rule of a listener needs a priority of its own: a clash with another
   * rule of the same listener in the app is a synth error.
   * @default 50000 (evaluated after every other rule)
   */
  readonly priority?: number;
}

/** The target groups' health check, the gate every instance must pass before it takes traffic. */
export interface FleetHealthCheck {
  /**
   * HTTP path the load balancer requests.
   * @default '/'
   */
  readonly path?: string;

  /**
   * Port the load balancer checks.
   * @default - the instance port
   */
  readonly port?: number;

  /**
   * Protocol of the check.
   * @default - the instance protocol (HTTP)
   */
  readonly protocol?: elbv2.Protocol;

  /**
   * Time between two checks of one target (5-300 seconds).
   * @default Duration.seconds(10)
   */
  readonly interval?: Duration;

  /**
   * Time without a response that fails a check (2-120 seconds, shorter than `interval`).
   * @default Duration.seconds(5)
   */
  readonly timeout?: Duration;

  /**
   * Consecutive successes before an unhealthy target is healthy (2-10).
   * @default 2
   */
  readonly healthyThresholdCount?: number;

  /**
   * Consecutive failures before a healthy target is unhealthy (2-10).
   * @default 2
   */
  readonly unhealthyThresholdCount?: number;

  /**
   * HTTP codes that count as healthy: a code, a list ("200,204") or a range ("200-299"),
   * between 200 and 499.
   * @default '200'
   */
  readonly healthyHttpCodes?: string;
}

/** Settings of a built-in alarm that can only be switched off. */
export interface ToggleAlarmOptions {
  /**
   * Whether to create the alarm.
   * @default true
   */
  readonly enabled?: boolean;
}

/** Settings of one built-in per-colour alarm whose threshold is a count. */
export interface CountAlarmOptions {
  /**
   * Whether to create the alarm (and use it to roll back).
   * @default true
   */
  readonly enabled?: boolean;

  /**
   * The alarm fires when the metric is greater than or equal to this value.
   * @default - 1 for unhealthy hosts, 5 for 5XX responses (targets' and the load balancer's)
   */
  readonly threshold?: number;

  /**
   * Length of one evaluation period (a whole number of minutes: ALB metrics are per minute).
   * @default Duration.minutes(1)
   */
  readonly period?: Duration;

  /**
   * Number of periods evaluated.
   * @default - 2 for unhealthy hosts, 1 for 5XX responses
   */
  readonly evaluationPeriods?: number;

  /**
   * Number of breaching periods, among `evaluationPeriods`, that fire the alarm.
   * @default - `evaluationPeriods`
   */
  readonly datapointsToAlarm?: number;
}

/** Settings of the built-in per-colour p99 response time alarm. */
export interface LatencyAlarmOptions {
  /**
   * Whether to create the alarm (and use it to roll back).
   * @default true
   */
  readonly enabled?: boolean;

  /**
   * The alarm fires when the p99 target response time reaches this value.
   * @default Duration.seconds(2)
   */
  readonly threshold?: Duration;

  /**
   * Length of one evaluation period (a whole number of minutes).
   * @default Duration.minutes(1)
   */
  readonly period?: Duration;

  /**
   * Number of periods evaluated.
   * @default 3
   */
  readonly evaluationPeriods?: number;

  /**
   * Number of breaching periods, among `evaluationPeriods`, that fire the alarm.
   * @default 2
   */
  readonly datapointsToAlarm?: number;
}

/** The built-in alarms created for each colour. Each one rolls a cutover back when it fires. */
export interface FleetAlarmOptions {
  /**
   * `UnhealthyHostCount` (Maximum) of the colour's target group.
   * @default - enabled, threshold 1, 2 of 2 one-minute periods
   */
  readonly unhealthyHosts?: CountAlarmOptions;

  /**
   * `HTTPCode_Target_5XX_Count` (Sum) of the colour's target group.
   * @default - enabled, threshold 5, 1 of 1 one-minute period
   */
  readonly serverErrors?: CountAlarmOptions;

  /**
   * `HTTPCode_ELB_5XX_Count` (Sum) of the load balancer: 502, 503 and 504 answers that no target
   * sent (targets unreachable, none healthy, timeouts), which the target metrics never count. One
   * alarm on the shared load balancer, watched by every cutover; with Route 53 switching one per
   * colour's own load balancer, watched while that colour is released.
   * @default - enabled, threshold 5, 1 of 1 one-minute period
   */
  readonly loadBalancerErrors?: CountAlarmOptions;

  /**
   * `HealthyHostCount` (Minimum) of the colour's target group below 1: the colour serves nothing.
   * For you to see and to act on (`addAlarmAction`); cutovers do not watch it, because they look at
   * the target group's health directly at every poll (see "Health gate" in the README).
   * @default - enabled, fires on one one-minute period with no healthy host
   */
  readonly healthyHosts?: ToggleAlarmOptions;

  /**
   * `TargetResponseTime` (p99) of the colour's target group.
   * @default - enabled, threshold 2 seconds, 2 of 3 one-minute periods
   */
  readonly latencyP99?: LatencyAlarmOptions;
}

/**
 * Where a fleet's cutover outcomes are published: one SNS message per execution that ends
 * (SUCCEEDED, FAILED, ABORTED or TIMED_OUT), sent by an EventBridge rule on the state machine's
 * "Step Functions Execution Status Change" events.
 */
export interface FleetNotifications {
  /**
   * The topic to publish to. The fleet adds a statement to its policy that lets EventBridge
   * (`events.amazonaws.com`) publish, and, when it has a KMS key of this app, one to the key's
   * policy that lets EventBridge use it: an imported topic (`Topic.fromTopicArn`) gets neither, so
   * give EventBridge `sns:Publish` on it, and on its key `kms:GenerateDataKey*` and `kms:Decrypt`,
   * yourself. A topic encrypted with the AWS managed key (`alias/aws/sns`) cannot receive
   * EventBridge messages: its key policy cannot be changed.
   * @default - a new topic, SSL only, encrypted with a new customer managed key (rotated yearly)
   * whose policy lets EventBridge use it
   */
  readonly topic?: sns.ITopic;
}

/** Properties of a {@link BlueGreenFleet}. */
export interface BlueGreenFleetProps {
  /** The VPC the fleet and (unless one is passed in) its load balancer live in. */
  readonly vpc: ec2.IVpc;

  /** Instance type of both colours. */
  readonly instanceType: ec2.InstanceType;

  /**
   * Image of the first release, written to both colours' image parameters on the first
   * deploy only. Later releases pass `imageId` to the cutover workflow; changing this prop
   * after the first deploy changes nothing live (see the README).
   */
  readonly machineImage: ec2.IMachineImage;

  /**
   * Commands that start the application on an instance. On Linux the construct prepends
   * `export` lines for `BLUE_GREEN_COLOUR`, `BLUE_GREEN_VERSION_PARAMETER` and
   * `BLUE_GREEN_IMAGE_PARAMETER`.
   * @default - no commands beyond the `export` lines
   */
  readonly userData?: ec2.UserData;

  /**
   * Application version of the first release, written to both colours' version
   * parameters on the first deploy only.
   * @default 'initial'
   */
  readonly initialVersion?: string;

  /**
   * Capacity of the live colour.
   * @default - minCapacity 2, maxCapacity 4
   */
  readonly capacity?: FleetCapacity;

  /**
   * Subnets the instances are placed in.
   * @default - the VPC's private subnets
   */
  readonly vpcSubnets?: ec2.SubnetSelection;

  /**
   * Port the application listens on, on each instance.
   * @default 80
   */
  readonly instancePort?: number;

  /**
   * Health check of both target groups.
   * @default - GET / every 10 seconds, 5 second timeout, 2 to become healthy, 2 to fail, 200
   */
  readonly healthCheck?: FleetHealthCheck;

  /**
   * How long the load balancer lets in-flight requests finish on a deregistered target (0-3600 seconds).
   * @default Duration.seconds(30)
   */
  readonly deregistrationDelay?: Duration;

  /**
   * How long after launch an instance's failing ELB health check is ignored by Auto Scaling.
   * @default Duration.seconds(120)
   */
  readonly healthCheckGracePeriod?: Duration;

  /**
   * Where production traffic is switched between the colours: the weights of a listener rule on
   * one shared load balancer, or Route 53 weighted records in front of a load balancer per colour
   * (`TrafficSwitch.route53({ zone, recordName })`).
   * @default TrafficSwitch.listenerRule()
   */
  readonly trafficSwitch?: TrafficSwitch;

  /**
   * An existing Application Load Balancer to add the listeners to. Not with Route 53 switching,
   * which creates a load balancer per colour.
   * @default - a new load balancer in the VPC's public subnets (internal: private subnets)
   */
  readonly loadBalancer?: elbv2.IApplicationLoadBalancer;

  /**
   * An existing listener of `loadBalancer` for production traffic, shared with other services
   * (an HTTPS listener with a rule per host name, say). The fleet adds its production rule to it
   * (`listenerRule` gives its conditions and priority) and leaves the listener itself alone: its
   * port, protocol, certificates, default action and who may reach it are yours, so
   * `productionPort` (unless the listener is imported), `certificates` for it, `httpRedirect` and
   * `productionPeers` do not apply. Requires `loadBalancer`. Listener-rule switching only.
   * @default - the fleet creates a production listener on `productionPort`
   */
  readonly productionListener?: elbv2.IApplicationListener;

  /**
   * An existing listener of `loadBalancer` for the smoke tests, shared with other fleets. The
   * fleet adds its test rule to it (same conditions and priority as the production rule). The
   * smoke tests call its port with its protocol: for an imported listener (not created in this
   * app) give them as `testPort` and `protocol`. `testPeers` does not apply. Requires
   * `loadBalancer`. Listener-rule switching only.
   * @default - the fleet creates a test listener on `testPort`
   */
  readonly testListener?: elbv2.IApplicationListener;

  /**
   * Conditions and priority of the fleet's production and test rules, for listeners shared with
   * other fleets or services. Listener-rule switching only.
   * @default - every request, priority 50000
   */
  readonly listenerRule?: FleetListenerRule;

  /**
   * Whether the load balancer is internet-facing. For one passed in, this describes it and
   * decides who may reach the production listener by default.
   * @default true
   */
  readonly internetFacing?: boolean;

  /**
   * Protocol of the production and test listeners.
   * @default - HTTPS when `certificates` are given, otherwise HTTP
   */
  readonly protocol?: elbv2.ApplicationProtocol;

  /**
   * Certificates of the HTTPS listeners.
   * @default - none (HTTP)
   */
  readonly certificates?: elbv2.IListenerCertificate[];

  /**
   * TLS policy of the HTTPS listeners.
   * @default elbv2.SslPolicy.RECOMMENDED_TLS
   */
  readonly sslPolicy?: elbv2.SslPolicy;

  /**
   * Also listen on port 80 and redirect to the HTTPS production port. Requires HTTPS.
   * @default false
   */
  readonly httpRedirect?: boolean;

  /**
   * Port of the production listener.
   * @default - 443 for HTTPS, 80 for HTTP
   */
  readonly productionPort?: number;

  /**
   * Port of the test listener, which forwards to the idle colour for smoke tests. Not with
   * Route 53 switching: there the idle colour's own load balancer is its test endpoint.
   * @default - 8443 for HTTPS, 8080 for HTTP
   */
  readonly testPort?: number;

  /**
   * Who may reach the production listener.
   * @default - anyone (IPv4) when internet-facing, otherwise the VPC's CIDR block
   */
  readonly productionPeers?: ec2.IPeer[];

  /**
   * Who may reach the test listener. Keep it away from the internet: it serves the
   * release before it has passed its smoke tests. Not with Route 53 switching.
   * @default - the VPC's CIDR block
   */
  readonly testPeers?: ec2.IPeer[];

  /**
   * Built-in per-colour alarms.
   * @default - all three enabled with their default thresholds
   */
  readonly alarms?: FleetAlarmOptions;

  /**
   * Prefix of the fleet's SSM parameter names, such as `/web/prod`.
   * @default - '/blue-green/' followed by the construct's unique id
   */
  readonly parameterPrefix?: string;

  /**
   * SNS topic notified of both groups' launches, terminations and failures.
   * @default - no notifications
   */
  readonly notificationTopic?: sns.ITopic;

  /**
   * Publish every cutover's outcome to an SNS topic (`notifications: {}` creates one): fleet,
   * execution, status, error and cause, the input, the output and a console link, one message per
   * execution that ends; handlers that pause a cutover publish to it too. Adds the topic, its key
   * and policy, and an EventBridge rule (4 resources) unless a topic is passed.
   * @default - no notifications
   */
  readonly notifications?: FleetNotifications;

  /**
   * Add a CloudWatch dashboard of the fleet: per colour requests, target 5XX, p99 response time,
   * healthy hosts and the `TrafficWeight` metric, the fleet's alarms, and the cutover executions.
   * @default false
   */
  readonly dashboard?: boolean;

  /**
   * How long the fleet's log groups keep their events: the state machine's and, with Route 53
   * switching, the records provider's. The cutover handlers' log groups are shared by the stack's
   * fleets (`BlueGreenCutoverHandlers`) and keep the longest retention any of them sets. The
   * resource provider shared by the stack's fleets (`BlueGreenFleetResources`) keeps its logs for
   * one month whatever this is. A `logs.RetentionDays` value; `RetentionDays.INFINITE` keeps them
   * forever.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * What CloudFormation does with the cutover lock table and the fleet's log groups (those
   * `logRetention` applies to) when they leave the stack or the stack is deleted:
   * `RemovalPolicy.DESTROY` deletes them, `RemovalPolicy.RETAIN` (or `RETAIN_ON_UPDATE_OR_DELETE`)
   * keeps them, for you to delete. Not `SNAPSHOT`: neither resource supports it. The shared cutover
   * handlers' log groups take the most retaining policy of the stack's fleets (`RETAIN` over
   * `RETAIN_ON_UPDATE_OR_DELETE` over `DESTROY`).
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy;

  /**
   * Settings of the cutover workflow (the state machine that releases into the idle colour).
   * @default - poll every 10 s, 10 minute health timeout, no smoke checks, all at once,
   * 5 minute bake, previous colour kept warm for 10 minutes, no stickiness
   */
  readonly cutover?: CutoverOptions;
}
