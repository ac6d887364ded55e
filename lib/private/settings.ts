import { Duration, Names, RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { IConstruct } from 'constructs';
import { ApprovalTimeoutAction, CutoverOptions, TrafficShift } from '../cutover-options';
import { BlueGreenFleetProps, FleetAlarmOptions } from '../fleet-props';
import { TrafficSwitch } from '../traffic-switch';
import { ApprovalTimeoutBehaviour, SmokeCheckConfig } from './contract';
import { CutoverTiming, cutoverTiming, cutoverTimeoutSeconds, smokeSeconds } from './cutover-timing';
import { CUTOVER_DEFAULTS, DEFAULTS } from './defaults';
import { listenerPortAndProtocol, MAX_RULE_PRIORITY } from './listener-rules';

/** A fleet's props with every default applied: the one place the fleet's defaults are decided. */
export interface FleetSettings {
  readonly trafficSwitch: TrafficSwitch;
  readonly route53: boolean;
  /** Protocol of the listeners the fleet creates and of the one the smoke tests call. */
  readonly protocol: elbv2.ApplicationProtocol;
  readonly https: boolean;
  readonly certificates: elbv2.IListenerCertificate[];
  readonly sslPolicy?: elbv2.SslPolicy;
  /** The production listener's port (a listener passed in: its own). */
  readonly productionPort: number;
  /** The port the smoke tests call: the test listener's, or with Route 53 the production port of each colour's own load balancer. */
  readonly testPort: number;
  readonly internetFacing: boolean;
  readonly minCapacity: number;
  readonly maxCapacity: number;
  readonly instancePort: number;
  readonly vpcSubnets: ec2.SubnetSelection;
  readonly healthCheck: {
    readonly path: string;
    /** Undefined: the traffic port. */
    readonly port?: number;
    readonly protocol: elbv2.Protocol;
    readonly interval: Duration;
    readonly timeout: Duration;
    readonly healthyThresholdCount: number;
    readonly unhealthyThresholdCount: number;
    readonly healthyHttpCodes: string;
  };
  readonly deregistrationDelay: Duration;
  readonly healthCheckGracePeriod: Duration;
  readonly initialVersion: string;
  readonly parameterPrefix: string;
  readonly alarms: FleetAlarmOptions;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  /** The production and test rules' conditions and priority (listener-rule switch). */
  readonly listenerRule: { readonly conditions: elbv2.ListenerCondition[]; readonly priority: number };
}

/**
 * The settings of a fleet: `props` with every default applied. Validation checks props with the
 * same defaults (it calls this with `scope` undefined, when the parameter prefix is not needed),
 * the fleet builds from the result. Never throws: values are checked by validation, not here.
 */
export function fleetSettings(props: BlueGreenFleetProps, scope?: IConstruct): FleetSettings {
  const route53 = props.trafficSwitch?.isRoute53 === true;
  const certificates = props.certificates ?? [];
  const knownTest = props.testListener && !route53 ? listenerPortAndProtocol(props.testListener) : {};
  const knownProduction = props.productionListener && !route53 ? listenerPortAndProtocol(props.productionListener) : {};
  const protocol = props.protocol ?? knownTest.protocol ?? (certificates.length > 0 ? elbv2.ApplicationProtocol.HTTPS : elbv2.ApplicationProtocol.HTTP);
  const https = protocol === elbv2.ApplicationProtocol.HTTPS;
  const productionPort = knownProduction.port ?? props.productionPort ?? (https ? DEFAULTS.httpsPort : DEFAULTS.httpPort);
  const minCapacity = props.capacity?.minCapacity ?? DEFAULTS.minCapacity;
  const hc = props.healthCheck ?? {};
  return {
    trafficSwitch: props.trafficSwitch ?? TrafficSwitch.listenerRule(),
    route53,
    protocol,
    https,
    certificates,
    sslPolicy: props.sslPolicy,
    productionPort,
    testPort: route53 ? productionPort : knownTest.port ?? props.testPort ?? (https ? DEFAULTS.httpsTestPort : DEFAULTS.httpTestPort),
    internetFacing: props.internetFacing ?? true,
    minCapacity,
    maxCapacity: props.capacity?.maxCapacity ?? Math.max(minCapacity, DEFAULTS.maxCapacityFloor),
    instancePort: props.instancePort ?? DEFAULTS.instancePort,
    vpcSubnets: props.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
    healthCheck: {
      path: hc.path ?? DEFAULTS.healthCheckPath,
      port: hc.port,
      protocol: hc.protocol ?? elbv2.Protocol.HTTP,
      interval: hc.interval ?? DEFAULTS.healthCheckInterval,
      timeout: hc.timeout ?? DEFAULTS.healthCheckTimeout,
      healthyThresholdCount: hc.healthyThresholdCount ?? DEFAULTS.healthyThresholdCount,
      unhealthyThresholdCount: hc.unhealthyThresholdCount ?? DEFAULTS.unhealthyThresholdCount,
      healthyHttpCodes: hc.healthyHttpCodes ?? DEFAULTS.healthyHttpCodes,
    },
    deregistrationDelay: props.deregistrationDelay ?? DEFAULTS.deregistrationDelay,
    healthCheckGracePeriod: props.healthCheckGracePeriod ?? DEFAULTS.healthCheckGracePeriod,
    initialVersion: props.initialVersion ?? DEFAULTS.initialVersion,
    parameterPrefix: props.parameterPrefix ?? (scope ? `/blue-green/${Names.uniqueId(scope)}` : ''),
    alarms: props.alarms ?? {},
    logRetention: props.logRetention ?? DEFAULTS.logRetention,
    removalPolicy: props.removalPolicy ?? DEFAULTS.removalPolicy,
    listenerRule: {
      conditions: props.listenerRule?.conditions ?? [elbv2.ListenerCondition.pathPatterns(['/*'])],
      priority: props.listenerRule?.priority ?? MAX_RULE_PRIORITY,
    },
  };
}

/** A fleet's cutover options with every default applied, and the timing computed from them once. */
export interface CutoverSettings {
  readonly pollInterval: Duration;
  readonly healthyTimeout: Duration;
  readonly bakeTime: Duration;
  readonly keepPreviousWarm: Duration;
  readonly trafficShift: TrafficShift;
  /** The smoke checks as the handlers get them. */
  readonly smokeChecks: SmokeCheckConfig[];
  readonly smokeRounds: number;
  /** Longest the smoke tests may take (every check twice its latency budget, every round). */
  readonly smokeBudgetSeconds: number;
  readonly stickinessSeconds?: number;
  /** The timing model of the cutover. */
  readonly timing: CutoverTiming;
  /** The state machine's timeout: the longest the cutover can take, with every retry and a margin. */
  readonly timeoutSeconds: number;
  /** With Route 53 switching: how long traffic may keep reaching a colour after the records left it. */
  readonly dnsDrainSeconds?: number;
  /** The approval gate, when `approval` is set. */
  readonly approval?: ApprovalSettings;
}

/** `cutover.approval` with defaults applied. */
export interface ApprovalSettings {
  readonly timeoutSeconds: number;
  readonly pollInterval: Duration;
  readonly onTimeout: ApprovalTimeoutBehaviour;
  readonly beforeShift: boolean;
  /** Whether each partial step is followed by a pause (false with an all-at-once shift). */
  readonly betweenSteps: boolean;
}

/**
 * The cutover settings of options that passed validation: defaults applied and the timing
 * computed, once; the fleet hands them to its workflow. `route53` gives the records' effective TTL.
 */
export function cutoverSettings(options: CutoverOptions, route53?: { readonly ttlSeconds: number }): CutoverSettings {
  const pollInterval = options.pollInterval ?? CUTOVER_DEFAULTS.pollInterval;
  const healthyTimeout = options.healthyTimeout ?? CUTOVER_DEFAULTS.healthyTimeout;
  const bakeTime = options.bakeTime ?? CUTOVER_DEFAULTS.bakeTime;
  const keepPreviousWarm = options.keepPreviousWarm ?? CUTOVER_DEFAULTS.keepPreviousWarm;
  const trafficShift = options.trafficShift ?? TrafficShift.allAtOnce();
  const smokeBudgetSeconds = smokeSeconds(options);
  const a = options.approval;
  const approval: ApprovalSettings | undefined = a ? {
    timeoutSeconds: a.timeout.toSeconds(),
    pollInterval: a.pollInterval ?? pollInterval,
    onTimeout: a.onTimeout === ApprovalTimeoutAction.CONTINUE ? 'continue' : 'roll-back',
    beforeShift: a.beforeShift ?? true,
    betweenSteps: (a.betweenSteps ?? false) && trafficShift.steps.length > 1,
  } : undefined;
  const timing = cutoverTiming({
    pollSeconds: pollInterval.toSeconds(),
    healthySeconds: healthyTimeout.toSeconds(),
    smokeSeconds: smokeBudgetSeconds,
    partialSteps: trafficShift.steps.length - 1,
    stepHoldSeconds: trafficShift.stepBake.toSeconds(),
    bakeSeconds: bakeTime.toSeconds(),
    warmSeconds: keepPreviousWarm.toSeconds(),
    route53: route53 !== undefined,
    dnsTtlSeconds: route53?.ttlSeconds,
    ...(approval ? { approval: { ...approval, pollSeconds: approval.pollInterval.toSeconds() } } : {}),
  });
  return {
    pollInterval,
    healthyTimeout,
    bakeTime,
    keepPreviousWarm,
    trafficShift,
    smokeChecks: (options.smokeChecks ?? []).map((c) => c._render()),
    smokeRounds: options.smokeRounds ?? CUTOVER_DEFAULTS.smokeRounds,
    smokeBudgetSeconds,
    stickinessSeconds: options.stickinessDuration?.toSeconds(),
    timing,
    timeoutSeconds: cutoverTimeoutSeconds(timing),
    dnsDrainSeconds: route53 ? timing.drainSeconds : undefined,
    ...(approval ? { approval } : {}),
  };
}
