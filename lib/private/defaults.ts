import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';

// Every default and limit of the fleet and its workflow, in one place: validation, the construct,
// the workflow and the timing model read the same numbers.

/** Defaults shared by validation and the construct, so both read the same numbers. */
export const DEFAULTS = {
  minCapacity: 2,
  maxCapacityFloor: 4,
  instancePort: 80,
  healthCheckPath: '/',
  healthCheckInterval: Duration.seconds(10),
  healthCheckTimeout: Duration.seconds(5),
  healthyThresholdCount: 2,
  unhealthyThresholdCount: 2,
  healthyHttpCodes: '200',
  deregistrationDelay: Duration.seconds(30),
  healthCheckGracePeriod: Duration.seconds(120),
  initialVersion: 'initial',
  httpPort: 80,
  httpsPort: 443,
  httpTestPort: 8080,
  httpsTestPort: 8443,
  logRetention: logs.RetentionDays.ONE_MONTH,
  removalPolicy: RemovalPolicy.DESTROY,
} as const;

/** Defaults of the cutover workflow, shared by validation and the workflow construct. */
export const CUTOVER_DEFAULTS = {
  pollInterval: Duration.seconds(10),
  healthyTimeout: Duration.minutes(10),
  bakeTime: Duration.minutes(5),
  keepPreviousWarm: Duration.minutes(10),
  smokeRounds: 3,
  smokeLatencyBudget: Duration.seconds(2),
} as const;

/** Limits of Step Functions Standard workflows and of the services the workflow drives. */
export const LIMITS = {
  /** An execution (and a single Wait) may last one year. */
  maxExecutionSeconds: 365 * 24 * 3600,
  /** An execution fails once its history holds this many events. */
  maxHistoryEvents: 25_000,
  /** Target-group stickiness on a forward action: 1 second to 7 days. */
  maxStickinessSeconds: 7 * 24 * 3600,
  /** Route 53 record TTLs. */
  maxTtlSeconds: 2_147_483_647,
  maxSmokeRounds: 10,
  /** Longest a Lambda function may run, in seconds: the smoke-test function runs every check of a cutover. */
  maxFunctionSeconds: 900,
  /** Longest text of a smoke check (path, body text, JSON field and value, header names and values). */
  maxSmokeCheckText: 1024,
} as const;

/** TTL Route 53 answers alias records to a load balancer with (the load balancer's own). */
export const ALIAS_RECORD_TTL_SECONDS = 60;

/**
 * After traffic leaves a colour by DNS, it keeps running this many record TTLs before it is
 * scaled to zero (resolvers and clients may keep an answer longer than its TTL).
 */
export const DNS_DRAIN_TTLS = 5;

/** TTL above which the Route 53 switch warns. */
export const HIGH_TTL_SECONDS = 300;

/** Defaults of the built-in per-colour alarms. */
export const ALARM_DEFAULTS = {
  unhealthyHosts: { threshold: 1, evaluationPeriods: 2, datapointsToAlarm: 2 },
  serverErrors: { threshold: 5, evaluationPeriods: 1, datapointsToAlarm: 1 },
  loadBalancerErrors: { threshold: 5, evaluationPeriods: 1, datapointsToAlarm: 1 },
  /** Fires below this many healthy hosts (Minimum), in one period. */
  healthyHosts: { threshold: 1, evaluationPeriods: 1, datapointsToAlarm: 1 },
  latencyP99: { threshold: Duration.seconds(2), evaluationPeriods: 3, datapointsToAlarm: 2 },
  period: Duration.minutes(1),
} as const;

/** Warning ids, part of the public contract (users may acknowledge them). */
export const WARNING_IDS = {
  minCapacityZero: 'cdk-ec2-blue-green:minCapacityZero',
  publicInstances: 'cdk-ec2-blue-green:instancesInPublicSubnets',
  testListenerOpen: 'cdk-ec2-blue-green:testListenerOpenToInternet',
  longDeregistrationDelay: 'cdk-ec2-blue-green:longDeregistrationDelay',
  slowHealthCheck: 'cdk-ec2-blue-green:slowHealthCheck',
  alarmDisabled: 'cdk-ec2-blue-green:builtInAlarmDisabled',
  highDnsTtl: 'cdk-ec2-blue-green:highDnsTtl',
  warmShorterThanDnsCaching: 'cdk-ec2-blue-green:keepPreviousWarmShorterThanDnsCaching',
  stickinessNeverUsed: 'cdk-ec2-blue-green:stickinessNeverUsed',
  stickinessOutlastsStep: 'cdk-ec2-blue-green:stickinessOutlastsStep',
  listenerRuleConditions: 'cdk-ec2-blue-green:listenerRuleConditions',
  approvalBetweenStepsNeverUsed: 'cdk-ec2-blue-green:approvalBetweenStepsNeverUsed',
} as const;
