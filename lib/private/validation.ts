import { Duration, RemovalPolicy, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { VERSION_PATTERN } from './contract';
import { ApprovalTimeoutAction, CutoverOptions, HttpSmokeCheckOptions, SmokeCheck, TrafficShift } from '../cutover-options';
import { BlueGreenFleetProps, CountAlarmOptions, LatencyAlarmOptions } from '../fleet-props';
import { TrafficSwitch } from '../traffic-switch';
import { isWholeNumber, resolved, wholeSeconds } from './checks';
import { cutoverHistory, cutoverTiming, cutoverTimeoutSeconds, SMOKE_FUNCTION_MARGIN_SECONDS, smokeSeconds } from './cutover-timing';
import { ALARM_DEFAULTS, CUTOVER_DEFAULTS, DEFAULTS, DNS_DRAIN_TTLS, LIMITS, WARNING_IDS } from './defaults';
import { checkListenerProps } from './listener-rules';
import { fleetSettings } from './settings';
import { checkRoute53Switch, ResolvedDnsSwitch } from './route53-switch';

// The props and cutover options checked, every problem with the prop, the value and the fix.
// Defaults live in ./defaults, the timing model in ./cutover-timing, Route 53 resolution in
// ./route53-switch, listener rules in ./listener-rules; they are re-exported here for callers
// that read them with the checks.
export * from './defaults';
export * from './cutover-timing';
export { fullyQualifiedRecordName, resolveRoute53Switch } from './route53-switch';
export type { ResolvedDnsSwitch } from './route53-switch';

/** A risky but legal setting: reported with `Annotations.addWarningV2`. */
export interface FleetWarning {
  readonly id: string;
  readonly message: string;
}

/** What {@link validateFleetProps} finds. */
export interface FleetValidation {
  readonly errors: string[];
  readonly warnings: FleetWarning[];
}



const PARAMETER_PREFIX_PATTERN = /^(\/[A-Za-z0-9_.-]+)+$/;
const HTTP_CODES_PATTERN = /^\d{3}(-\d{3})?(,\d{3}(-\d{3})?)*$/;


/**
 * Checks every prop that can be checked at synth time. Unresolved tokens are skipped:
 * their values are only known at deploy time.
 */
export function validateFleetProps(props: BlueGreenFleetProps): FleetValidation {
  const errors: string[] = [];
  const warnings: FleetWarning[] = [];

  // Capacity.
  const min = props.capacity?.minCapacity;
  const max = props.capacity?.maxCapacity;
  if (resolved(min) && (!isWholeNumber(min!) || min! < 0)) {
    errors.push(`capacity.minCapacity is ${min}: set it to a whole number of instances, 0 or more.`);
  }
  if (resolved(max) && (!isWholeNumber(max!) || max! < 1)) {
    errors.push(`capacity.maxCapacity is ${max}: set it to a whole number of instances, 1 or more, so a colour can serve traffic.`);
  }
  if (resolved(min) && resolved(max) && min! > max!) {
    errors.push(`capacity.minCapacity (${min}) is greater than capacity.maxCapacity (${max}): set minCapacity to at most maxCapacity, or raise maxCapacity.`);
  }
  if (min === 0) {
    warnings.push({
      id: WARNING_IDS.minCapacityZero,
      message: 'capacity.minCapacity is 0: blue starts with no instances and the production listener answers 503 until a cutover scales a colour up. Set minCapacity to 1 or more to serve traffic from the first deploy.',
    });
  }

  // Ports.
  checkPort(errors, 'instancePort', props.instancePort);
  checkPort(errors, 'productionPort', props.productionPort);
  checkPort(errors, 'testPort', props.testPort);
  checkPort(errors, 'healthCheck.port', props.healthCheck?.port);

  // Protocol and certificates.
  const certificates = props.certificates ?? [];
  const { protocol } = fleetSettings(props);
  // Listeners passed in have certificates of their own; those the fleet creates need them.
  const createsListeners = props.trafficSwitch?.isRoute53 === true || props.productionListener === undefined || props.testListener === undefined;
  if (protocol === elbv2.ApplicationProtocol.HTTPS && certificates.length === 0 && createsListeners) {
    errors.push('protocol is HTTPS but no certificates are given: pass certificates (for example elbv2.ListenerCertificate.fromArn(...)), or use ApplicationProtocol.HTTP.');
  }
  if (protocol === elbv2.ApplicationProtocol.HTTP && certificates.length > 0) {
    errors.push(`protocol is HTTP but ${certificates.length} certificate(s) are given: use ApplicationProtocol.HTTPS (the default when certificates are given), or remove the certificates.`);
  }
  if (props.sslPolicy !== undefined && protocol !== elbv2.ApplicationProtocol.HTTPS) {
    errors.push('sslPolicy is set but the listeners use HTTP: remove sslPolicy, or give certificates to use HTTPS.');
  }
  if (props.httpRedirect && protocol !== elbv2.ApplicationProtocol.HTTPS) {
    errors.push('httpRedirect is true but the listeners use HTTP: give certificates to use HTTPS, or set httpRedirect to false.');
  }
  const https = protocol === elbv2.ApplicationProtocol.HTTPS;
  const productionPort = props.productionPort ?? (https ? DEFAULTS.httpsPort : DEFAULTS.httpPort);
  const testPort = props.testPort ?? (https ? DEFAULTS.httpsTestPort : DEFAULTS.httpTestPort);
  if (resolved(productionPort) && resolved(testPort) && productionPort === testPort && !props.productionListener && !props.testListener) {
    errors.push(`testPort (${testPort}) is the same as productionPort (${productionPort}): give the test listener a port of its own, such as ${productionPort === DEFAULTS.httpTestPort ? 9080 : DEFAULTS.httpTestPort}.`);
  }
  if (props.httpRedirect && https) {
    for (const [name, port] of [['productionPort', productionPort], ['testPort', testPort]] as const) {
      if (port === DEFAULTS.httpPort) {
        errors.push(`${name} is 80, which httpRedirect needs for its redirect listener: choose another ${name} or set httpRedirect to false.`);
      }
    }
  }

  // Listeners shared with other fleets or services, and the fleet's rules on them.
  const smokeRequests = (Array.isArray(props.cutover?.smokeChecks) ? props.cutover!.smokeChecks : []).map((check, i) => ({
    name: `cutover.smokeChecks[${i}]`,
    path: (check as Partial<SmokeCheck> | undefined)?.options?.path,
    requestHeaders: (check as Partial<SmokeCheck> | undefined)?.options?.requestHeaders,
  }));
  const listeners = checkListenerProps(props, smokeRequests, props.trafficSwitch?.isRoute53 === true);
  errors.push(...listeners.errors);
  warnings.push(...listeners.warnings.map((message) => ({ id: WARNING_IDS.listenerRuleConditions, message })));

  // Health check.
  const hc = props.healthCheck ?? {};
  const interval = hc.interval ?? DEFAULTS.healthCheckInterval;
  const timeout = hc.timeout ?? DEFAULTS.healthCheckTimeout;
  const intervalS = resolved(interval.toSeconds()) ? interval.toSeconds() : undefined;
  const timeoutS = resolved(timeout.toSeconds()) ? timeout.toSeconds() : undefined;
  if (intervalS !== undefined && (intervalS < 5 || intervalS > 300)) {
    errors.push(`healthCheck.interval is ${intervalS} seconds: set it between 5 and 300 seconds.`);
  }
  if (timeoutS !== undefined && (timeoutS < 2 || timeoutS > 120)) {
    errors.push(`healthCheck.timeout is ${timeoutS} seconds: set it between 2 and 120 seconds.`);
  }
  if (intervalS !== undefined && timeoutS !== undefined && timeoutS >= intervalS) {
    errors.push(`healthCheck.timeout (${timeoutS} seconds) is not shorter than healthCheck.interval (${intervalS} seconds): set the timeout below the interval.`);
  }
  checkThreshold(errors, 'healthCheck.healthyThresholdCount', hc.healthyThresholdCount);
  checkThreshold(errors, 'healthCheck.unhealthyThresholdCount', hc.unhealthyThresholdCount);
  if (hc.path !== undefined && !Token.isUnresolved(hc.path) && (!hc.path.startsWith('/') || hc.path.length > 1024)) {
    errors.push(`healthCheck.path is '${hc.path}': use a path that starts with '/' and is at most 1024 characters, such as '/health'.`);
  }
  if (hc.healthyHttpCodes !== undefined && !Token.isUnresolved(hc.healthyHttpCodes)) {
    checkHttpCodes(errors, hc.healthyHttpCodes);
  }
  const healthyThreshold = hc.healthyThresholdCount ?? DEFAULTS.healthyThresholdCount;
  if (intervalS !== undefined && intervalS * healthyThreshold > 300) {
    warnings.push({
      id: WARNING_IDS.slowHealthCheck,
      message: `healthCheck.interval (${intervalS} s) times healthCheck.healthyThresholdCount (${healthyThreshold}) is ${intervalS * healthyThreshold} s: every new instance waits that long before it can take traffic, which slows every cutover. Lower the interval or the threshold.`,
    });
  }

  // Durations.
  const dereg = props.deregistrationDelay;
  if (dereg !== undefined && resolved(dereg.toSeconds())) {
    const s = dereg.toSeconds();
    if (s < 0 || s > 3600) {
      errors.push(`deregistrationDelay is ${s} seconds: set it between 0 and 3600 seconds.`);
    } else if (s > 300) {
      warnings.push({
        id: WARNING_IDS.longDeregistrationDelay,
        message: `deregistrationDelay is ${s} seconds: scaling the previous colour to zero waits this long for in-flight requests. Keep it at or below 300 seconds unless requests really run that long.`,
      });
    }
  }

  // Release inputs.
  if (props.initialVersion !== undefined && !Token.isUnresolved(props.initialVersion) && !VERSION_PATTERN.test(props.initialVersion)) {
    errors.push(`initialVersion is '${props.initialVersion}': use 1 to 128 letters, digits, '.', '_', '+' or '-', starting with a letter or digit, such as '1.4.2'.`);
  }
  if (props.parameterPrefix !== undefined && !Token.isUnresolved(props.parameterPrefix)
    && (!PARAMETER_PREFIX_PATTERN.test(props.parameterPrefix) || props.parameterPrefix.length > 900 || props.parameterPrefix.toLowerCase().startsWith('/aws') || props.parameterPrefix.toLowerCase().startsWith('/ssm'))) {
    errors.push(`parameterPrefix is '${props.parameterPrefix}': use a path such as '/web/prod' (starts with '/', no trailing '/', letters, digits, '_', '.', '-', not under /aws or /ssm).`);
  }

  // Logs and what stays behind.
  const retention = props.logRetention;
  if (resolved(retention) && !Object.values(logs.RetentionDays).some((days) => typeof days === 'number' && days === retention)) {
    errors.push(`logRetention is ${retention}: use a logs.RetentionDays value, such as logs.RetentionDays.ONE_MONTH or logs.RetentionDays.THREE_MONTHS; CloudWatch Logs keeps events only for those periods.`);
  }
  const removal = props.removalPolicy;
  if (removal === RemovalPolicy.SNAPSHOT) {
    errors.push('removalPolicy is RemovalPolicy.SNAPSHOT, which neither the lock table nor log groups support: use RemovalPolicy.RETAIN to keep them, or RemovalPolicy.DESTROY.');
  } else if (removal !== undefined && !(Object.values(RemovalPolicy) as unknown[]).includes(removal)) {
    errors.push(`removalPolicy is '${removal}': use RemovalPolicy.DESTROY (the default) or RemovalPolicy.RETAIN.`);
  }

  // Placement and exposure.
  if (props.vpcSubnets?.subnetType === ec2.SubnetType.PUBLIC) {
    warnings.push({
      id: WARNING_IDS.publicInstances,
      message: 'vpcSubnets selects public subnets: instances get public addresses. Keep instances in private subnets; only the load balancer needs to be public.',
    });
  }
  for (const peer of props.testPeers ?? []) {
    if (!Token.isUnresolved(peer.uniqueId) && (peer.uniqueId === '0.0.0.0/0' || peer.uniqueId === '::/0')) {
      warnings.push({
        id: WARNING_IDS.testListenerOpen,
        message: `testPeers includes ${peer.uniqueId}: the test listener serves the idle colour before it has passed its smoke tests. Limit testPeers to your VPC or your CI's addresses.`,
      });
    }
  }

  // Alarms.
  const alarms = props.alarms ?? {};
  checkCountAlarm(errors, 'alarms.unhealthyHosts', alarms.unhealthyHosts, ALARM_DEFAULTS.unhealthyHosts.evaluationPeriods);
  checkCountAlarm(errors, 'alarms.serverErrors', alarms.serverErrors, ALARM_DEFAULTS.serverErrors.evaluationPeriods);
  checkCountAlarm(errors, 'alarms.loadBalancerErrors', alarms.loadBalancerErrors, ALARM_DEFAULTS.loadBalancerErrors.evaluationPeriods);
  checkLatencyAlarm(errors, 'alarms.latencyP99', alarms.latencyP99);
  for (const [name, options] of Object.entries(alarms)) {
    // The healthy-hosts alarm is for people: cutovers look at target health directly.
    if (name === 'healthyHosts') continue;
    if ((options as CountAlarmOptions | undefined)?.enabled === false) {
      warnings.push({
        id: WARNING_IDS.alarmDisabled,
        message: `alarms.${name}.enabled is false: cutovers no longer roll back on this signal. Add an equivalent alarm with addRollbackAlarm(), or keep it enabled.`,
      });
    }
  }

  // Traffic switch and cutover workflow.
  const dns = checkTrafficSwitch(errors, warnings, props);
  const cutover = validateCutoverOptions(props.cutover ?? {}, { dnsTtlSeconds: dns?.ttlSeconds, route53: dns !== undefined || props.trafficSwitch?.isRoute53 === true });
  errors.push(...cutover.errors);
  warnings.push(...cutover.warnings);

  return { errors, warnings };
}

/** What the cutover options are checked against. */
export interface CutoverValidationContext {
  /** Whether traffic is switched by Route 53 records. */
  readonly route53?: boolean;
  /** The effective TTL of the records, when known. */
  readonly dnsTtlSeconds?: number;
}



/**
 * Checks the cutover workflow's options: each value, and that the whole cutover fits in one
 * Step Functions execution (its duration and its history). Unresolved tokens are skipped.
 */
export function validateCutoverOptions(options: CutoverOptions, context: CutoverValidationContext = {}): FleetValidation {
  const errors: string[] = [];
  const warnings: FleetWarning[] = [];

  let poll = wholeSeconds(errors, 'cutover.pollInterval', options.pollInterval ?? CUTOVER_DEFAULTS.pollInterval, 'Duration.seconds(10)');
  if (poll !== undefined && poll < 1) {
    errors.push(`cutover.pollInterval is ${poll} seconds: set it to at least 1 second, such as Duration.seconds(10).`);
    poll = undefined;
  }
  const healthy = wholeSeconds(errors, 'cutover.healthyTimeout', options.healthyTimeout ?? CUTOVER_DEFAULTS.healthyTimeout, 'Duration.minutes(10)');
  if (healthy !== undefined && poll !== undefined && healthy < poll) {
    errors.push(`cutover.healthyTimeout (${healthy} seconds) is shorter than cutover.pollInterval (${poll} seconds): set healthyTimeout to at least pollInterval, so the idle colour has time to become healthy.`);
  }
  const rounds = options.smokeRounds;
  if (resolved(rounds) && (!isWholeNumber(rounds!) || rounds! < 1 || rounds! > LIMITS.maxSmokeRounds)) {
    errors.push(`cutover.smokeRounds is ${rounds}: set it to a whole number from 1 to ${LIMITS.maxSmokeRounds}.`);
  }
  checkSmokeChecks(errors, options);
  const bake = wholeSeconds(errors, 'cutover.bakeTime', options.bakeTime ?? CUTOVER_DEFAULTS.bakeTime, 'Duration.minutes(5)');
  const warm = wholeSeconds(errors, 'cutover.keepPreviousWarm', options.keepPreviousWarm ?? CUTOVER_DEFAULTS.keepPreviousWarm, 'Duration.minutes(10)');
  const shift: Partial<TrafficShift> = options.trafficShift ?? TrafficShift.allAtOnce();
  let steps: ReturnType<TrafficShift['_check']>;
  if (typeof shift?._check !== 'function') {
    errors.push('cutover.trafficShift is not a TrafficShift: create it with TrafficShift.allAtOnce(), TrafficShift.canary({ ... }) or TrafficShift.linear({ ... }).');
  } else {
    steps = shift._check(errors);
  }

  // Stickiness (listener-rule switch only; applied by the workflow while traffic is split).
  const stickiness = wholeSeconds(errors, 'cutover.stickinessDuration', options.stickinessDuration, 'Duration.minutes(5)');
  if (stickiness !== undefined) {
    if (context.route53) {
      errors.push('cutover.stickinessDuration is set but trafficSwitch is TrafficSwitch.route53(): target-group stickiness needs the listener-rule switch, and DNS answers are cached per resolver anyway. Remove stickinessDuration.');
    } else if (stickiness < 1 || stickiness > LIMITS.maxStickinessSeconds) {
      errors.push(`cutover.stickinessDuration is ${stickiness} seconds: set it between 1 second and 7 days (${LIMITS.maxStickinessSeconds} seconds), the load balancer's range.`);
    } else if (steps && steps.partial.length === 0) {
      warnings.push({
        id: WARNING_IDS.stickinessNeverUsed,
        message: 'cutover.stickinessDuration is set but cutover.trafficShift moves all traffic at once: stickiness only applies while traffic is split, so it never takes effect. Remove it, or use TrafficShift.canary() or TrafficShift.linear().',
      });
    } else if (steps && steps.holdSeconds !== undefined && stickiness > steps.holdSeconds) {
      warnings.push({
        id: WARNING_IDS.stickinessOutlastsStep,
        message: `cutover.stickinessDuration (${stickiness} seconds) is longer than each shift step (${steps.holdSeconds} seconds): clients keep the colour they first got for longer than a step lasts, so the new colour mostly sees clients that arrived during the shift. Shorten stickinessDuration to at most the step.`,
      });
    }
  }

  const approval = checkApproval(errors, warnings, options, poll, steps?.partial.length);

  // DNS caching: the previous colour must outlive the answers that still name it.
  const ttl = context.dnsTtlSeconds;
  if (context.route53 && ttl !== undefined && warm !== undefined && warm < DNS_DRAIN_TTLS * ttl) {
    warnings.push({
      id: WARNING_IDS.warmShorterThanDnsCaching,
      message: `cutover.keepPreviousWarm (${warm} seconds) is shorter than ${DNS_DRAIN_TTLS} record TTLs (${DNS_DRAIN_TTLS * ttl} seconds): clients and resolvers that still hold the old answer would reach a colour scaled to zero. Keep the previous colour warm for at least ${DNS_DRAIN_TTLS * ttl} seconds.`,
    });
  }

  // The whole cutover in one execution.
  if (poll !== undefined && healthy !== undefined && bake !== undefined && warm !== undefined && steps?.holdSeconds !== undefined) {
    // The pauses poll at approval.pollInterval, or at the cutover's pollInterval when it is not set.
    const timing = (pollSeconds: number, pausePollSeconds = approval?.pollSeconds ?? pollSeconds) => cutoverTiming({
      pollSeconds,
      healthySeconds: healthy,
      smokeSeconds: smokeSeconds(options),
      partialSteps: steps.partial.length,
      stepHoldSeconds: steps.holdSeconds!,
      bakeSeconds: bake,
      warmSeconds: warm,
      route53: !!context.route53,
      dnsTtlSeconds: ttl,
      ...(approval ? { approval: { ...approval, pollSeconds: pausePollSeconds } } : {}),
    });
    const timeout = cutoverTimeoutSeconds(timing(poll));
    if (timeout > LIMITS.maxExecutionSeconds) {
      errors.push(`cutover: the workflow can run for up to ${(timeout / 86400).toFixed(1)} days (healthyTimeout, smoke tests, shift steps, bakeTime and keepPreviousWarm${approval ? ', every approval pause\'s timeout' : ''}, plus the retries of every task and a margin), more than the 365 days a Step Functions execution may run: shorten keepPreviousWarm, bakeTime${approval ? ', approval.timeout' : ''} or the shift steps.`);
    }
    const history = cutoverHistory(timing(poll));
    const withoutPauses = approval ? cutoverHistory({ ...timing(poll), approval: undefined }) : history;
    if (approval && approval.pollSeconds !== undefined && history.events > LIMITS.maxHistoryEvents && withoutPauses.events <= LIMITS.maxHistoryEvents) {
      // The pauses' own polls are too many: the smallest approval.pollInterval that fits.
      const own = approval.pollSeconds;
      let low = own + 1;
      let high = LIMITS.maxExecutionSeconds;
      while (low < high) {
        const mid = Math.floor((low + high) / 2);
        if (cutoverHistory(timing(poll, mid)).events > LIMITS.maxHistoryEvents) low = mid + 1;
        else high = mid;
      }
      errors.push(`cutover.approval.pollInterval (${own} seconds) makes the workflow look for a decision up to ${history.polls - withoutPauses.polls} times (approval.timeout divided by approval.pollInterval, for each pause), about ${history.events} execution history events in all, more than the ${LIMITS.maxHistoryEvents} a Step Functions execution may record: raise approval.pollInterval to at least ${low} seconds, or shorten approval.timeout.`);
    } else if (history.events > LIMITS.maxHistoryEvents) {
      // The smallest poll interval that fits (events only fall as the interval grows).
      let low = poll + 1;
      let high = LIMITS.maxExecutionSeconds;
      while (low < high) {
        const mid = Math.floor((low + high) / 2);
        if (cutoverHistory(timing(mid)).events > LIMITS.maxHistoryEvents) low = mid + 1;
        else high = mid;
      }
      const enough = low;
      errors.push(`cutover.pollInterval (${poll} seconds) makes the workflow check health and alarms up to ${history.polls} times (healthyTimeout, each shift step and bakeTime${approval ? ', and every approval pause' : ''}, divided by pollInterval), about ${history.events} execution history events, more than the ${LIMITS.maxHistoryEvents} a Step Functions execution may record: raise pollInterval to at least ${enough} seconds, or shorten healthyTimeout, the shift steps or bakeTime${approval ? ' (or set approval.pollInterval, or shorten approval.timeout)' : ''}.`);
    }
  }

  return { errors, warnings };
}



/** `cutover.approval` checked, in seconds; `pollSeconds` undefined when it follows the cutover's poll interval. */
interface CheckedApproval {
  readonly timeoutSeconds: number;
  readonly pollSeconds?: number;
  readonly beforeShift: boolean;
  readonly betweenSteps: boolean;
}

/**
 * Checks `cutover.approval`: a timeout of whole seconds, at least 1 and at least the poll
 * interval; a known onTimeout; at least one pause. `betweenSteps` with an all-at-once shift is a
 * warning, as stickiness is: nothing breaks, the option only has nothing to act on (and a fleet
 * may switch strategies between environments with the same approval settings).
 */
function checkApproval(errors: string[], warnings: FleetWarning[], options: CutoverOptions, poll: number | undefined, partialSteps: number | undefined): CheckedApproval | undefined {
  const a = options.approval;
  if (a === undefined) return undefined;
  if (typeof a !== 'object' || a === null) {
    errors.push('cutover.approval is not an object: give { timeout: Duration.hours(1) } and the optional onTimeout, beforeShift, betweenSteps and pollInterval.');
    return undefined;
  }
  const before = errors.length;
  if (a.timeout === undefined) {
    errors.push('cutover.approval.timeout is missing: set how long a pause waits for a decision, such as Duration.hours(1).');
  }
  const timeout = wholeSeconds(errors, 'cutover.approval.timeout', a.timeout, 'Duration.hours(1)');
  const ownPoll = wholeSeconds(errors, 'cutover.approval.pollInterval', a.pollInterval, 'Duration.minutes(1)');
  if (ownPoll !== undefined && ownPoll < 1) {
    errors.push(`cutover.approval.pollInterval is ${ownPoll} seconds: set it to at least 1 second, such as Duration.seconds(30).`);
  }
  const pausePoll = ownPoll ?? poll;
  if (timeout !== undefined && timeout < 1) {
    errors.push(`cutover.approval.timeout is ${timeout} seconds: set it to at least 1 second, such as Duration.hours(1).`);
  } else if (timeout !== undefined && pausePoll !== undefined && pausePoll >= 1 && timeout < pausePoll) {
    errors.push(`cutover.approval.timeout (${timeout} seconds) is shorter than ${ownPoll !== undefined ? 'cutover.approval.pollInterval' : 'cutover.pollInterval'} (${pausePoll} seconds): a pause would look for a decision only once. Set the timeout to at least the poll interval.`);
  }
  const actions: string[] = Object.values(ApprovalTimeoutAction);
  if (a.onTimeout !== undefined && !actions.includes(a.onTimeout)) {
    errors.push(`cutover.approval.onTimeout is ${JSON.stringify(a.onTimeout)}: use ApprovalTimeoutAction.ROLL_BACK or ApprovalTimeoutAction.CONTINUE.`);
  }
  for (const flag of ['beforeShift', 'betweenSteps'] as const) {
    if (a[flag] !== undefined && typeof a[flag] !== 'boolean') errors.push(`cutover.approval.${flag} is ${JSON.stringify(a[flag])}: set it to true or false.`);
  }
  const beforeShift = a.beforeShift ?? true;
  const betweenSteps = (a.betweenSteps ?? false) && (partialSteps ?? 0) > 0;
  if (a.betweenSteps === true && partialSteps === 0) {
    warnings.push({
      id: WARNING_IDS.approvalBetweenStepsNeverUsed,
      message: 'cutover.approval.betweenSteps is set but cutover.trafficShift moves all traffic at once: there are no steps to pause between. Remove betweenSteps, or use TrafficShift.canary() or TrafficShift.linear().',
    });
  }
  if (!beforeShift && a.betweenSteps !== true) {
    errors.push('cutover.approval pauses nowhere: beforeShift is false and betweenSteps is not set. Set beforeShift to true, or betweenSteps to true with a canary or linear shift, or remove approval.');
  } else if (!beforeShift && partialSteps === 0) {
    errors.push('cutover.approval pauses nowhere: beforeShift is false and cutover.trafficShift moves all traffic at once, so betweenSteps has no steps. Set beforeShift to true, use TrafficShift.canary() or TrafficShift.linear(), or remove approval.');
  }
  if (errors.length > before || timeout === undefined) return undefined;
  return { timeoutSeconds: timeout, ...(ownPoll !== undefined ? { pollSeconds: ownPoll } : {}), beforeShift, betweenSteps };
}

/** Characters of an HTTP token (RFC 9110, section 5.6.2): what a header name may hold. */
const HEADER_NAME_PATTERN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Control characters (other than tab) and line breaks, which no header value may hold. */
const HEADER_VALUE_FORBIDDEN = /[\u0000-\u0008\u000a-\u001f\u007f]/;
/** What a request path may hold as it is: printable ASCII, without the '#' of a fragment. */
const PATH_FORBIDDEN = /[^\u0021-\u007e]|#/u;
/** A URL with a scheme, such as `https://example.com/health`. */
const FULL_URL_PATTERN = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;
/** Placeholders in `jsonValue`; only `${version}` is replaced. */
const PLACEHOLDER_PATTERN = /\$\{[^}]*\}/g;

/**
 * Checks every smoke check: what the smoke-test function would send and compare, so that a check
 * that can never pass (or can never be sent) fails synth instead of every release.
 */
function checkSmokeChecks(errors: string[], options: CutoverOptions): void {
  const checks: unknown = options.smokeChecks;
  if (checks === undefined) return;
  if (!Array.isArray(checks)) {
    errors.push("cutover.smokeChecks is not a list: give a list of checks, such as [SmokeCheck.http({ path: '/health' })].");
    return;
  }
  checks.forEach((check, i) => {
    const name = `cutover.smokeChecks[${i}]`;
    const o = (check as Partial<SmokeCheck> | undefined)?.options;
    if (typeof (check as Partial<SmokeCheck> | undefined)?._render !== 'function' || typeof o !== 'object' || o === null) {
      errors.push(`${name} is not a SmokeCheck: create each check with SmokeCheck.http({ path: '/health', ... }).`);
      return;
    }
    checkSmokeCheck(errors, name, o);
  });

  // The smoke-test function runs every check of every round in one invocation (a bad smokeRounds
  // has its own message).
  const rounds = options.smokeRounds;
  if (resolved(rounds) && (!isWholeNumber(rounds!) || rounds! < 1 || rounds! > LIMITS.maxSmokeRounds)) return;
  const seconds = smokeSeconds(options);
  const available = LIMITS.maxFunctionSeconds - SMOKE_FUNCTION_MARGIN_SECONDS;
  if (seconds > available) {
    errors.push(`cutover.smokeChecks: ${checks.length} checks, ${options.smokeRounds ?? CUTOVER_DEFAULTS.smokeRounds} rounds, each check allowed twice its latencyBudget (at least 1 second), can take up to ${Math.ceil(seconds)} seconds, more than the ${available} seconds the smoke-test function has (Lambda's ${LIMITS.maxFunctionSeconds} seconds less ${SMOKE_FUNCTION_MARGIN_SECONDS} for its own start): use fewer checks or smokeRounds, or shorter latency budgets.`);
  }
}

/** Checks one smoke check's options; `name` is how the messages call it (`cutover.smokeChecks[0]`). */
function checkSmokeCheck(errors: string[], name: string, o: HttpSmokeCheckOptions): void {
  const max = LIMITS.maxSmokeCheckText;
  const tooLong = (field: string, value: string) => {
    if (value.length <= max) return false;
    errors.push(`${name}.${field} is ${value.length} characters long: keep it to at most ${max} characters; the state machine carries every check in its definition.`);
    return true;
  };

  // Path.
  const path: unknown = o.path;
  if (typeof path !== 'string' || path === '') {
    errors.push(`${name}.path is missing: give the path to request, such as '/health'.`);
  } else if (!Token.isUnresolved(path) && !tooLong('path', path)) {
    if (FULL_URL_PATTERN.test(path)) {
      errors.push(`${name}.path is '${path}', a full URL: give only the path, such as '${pathOfUrl(path)}'; the check calls the test listener (with Route 53 switching, the idle colour's own load balancer).`);
    } else if (!path.startsWith('/')) {
      errors.push(`${name}.path is '${path}': start it with '/', such as '/${path.replace(/^\.?\/*/, '')}'.`);
    } else if (PATH_FORBIDDEN.test(path)) {
      const encoded = path.split('#')[0].replace(/[^\u0021-\u007e]/gu, (c) => encodeURIComponent(c));
      errors.push(`${name}.path is '${path}': percent-encode spaces, control characters and non-ASCII characters and leave out any '#' fragment, such as '${encoded}'.`);
    }
  }

  // Status.
  const status = o.expectedStatus;
  if (resolved(status) && (typeof status !== 'number' || !isWholeNumber(status) || status < 200 || status > 599)) {
    errors.push(`${name}.expectedStatus is ${typeof status === 'string' ? `'${status}'` : status}: set it to a whole number from 200 to 599, such as 200 (a 1xx answer is interim: a check sees the final status).`);
  }

  // Body.
  if (o.bodyContains !== undefined && !Token.isUnresolved(o.bodyContains)) {
    if (o.bodyContains === '') {
      errors.push(`${name}.bodyContains is empty, which every body contains: give the text the body must contain, or leave bodyContains out.`);
    } else {
      tooLong('bodyContains', o.bodyContains);
    }
  }

  // JSON field and value: one compares the other.
  if (o.jsonField !== undefined && o.jsonValue === undefined) {
    errors.push(`${name}.jsonField is set without jsonValue: give jsonValue, the value the field must have (such as '\${version}'), or leave jsonField out.`);
  }
  if (o.jsonValue !== undefined && o.jsonField === undefined) {
    errors.push(`${name}.jsonValue is set without jsonField: give jsonField, the dotted path of the field to compare (such as 'version'), or leave jsonValue out.`);
  }
  if (o.jsonField !== undefined && !Token.isUnresolved(o.jsonField) && !tooLong('jsonField', o.jsonField)) {
    const f = o.jsonField;
    if (f.split('.').some((key) => key === '') || f === '$' || f.startsWith('$.') || /[[\]]/.test(f)) {
      errors.push(`${name}.jsonField is '${f}': use a dotted path of field names, such as 'version' or 'build.commit' (array items by index: 'items.0.id'), without '$' or brackets.`);
    }
  }
  if (o.jsonValue !== undefined && !Token.isUnresolved(o.jsonValue) && !tooLong('jsonValue', o.jsonValue)) {
    const unknown = (o.jsonValue.match(PLACEHOLDER_PATTERN) ?? []).filter((p) => p !== '${version}');
    if (unknown.length > 0) {
      errors.push(`${name}.jsonValue has the placeholder '${unknown[0]}', which is never replaced: use '\${version}' (the version being released), or no placeholder.`);
    }
  }

  // Headers.
  checkHeaders(errors, `${name}.headers`, o.headers, 'x-version');
  checkHeaders(errors, `${name}.requestHeaders`, o.requestHeaders, 'x-smoke-test');

  // Latency budget.
  const budget = o.latencyBudget;
  if (budget !== undefined) {
    if (budget.isUnresolved()) {
      errors.push(`${name}.latencyBudget is a token: use a Duration known at synth time, such as Duration.seconds(2); the smoke-test function's timeout is built from it.`);
    } else {
      const ms = budget.toMilliseconds({ integral: false });
      if (!isWholeNumber(ms)) {
        errors.push(`${name}.latencyBudget is ${ms} ms: use a whole number of milliseconds, such as Duration.millis(${Math.max(1, Math.round(ms))}).`);
      } else if (ms <= 0) {
        errors.push(`${name}.latencyBudget is 0 ms: set it to a positive Duration, such as Duration.seconds(2).`);
      }
    }
  }
}

/** Checks the names and values of a smoke check's `headers` or `requestHeaders`. */
function checkHeaders(errors: string[], name: string, headers: Record<string, string> | undefined, example: string): void {
  if (headers === undefined || headers === null || Token.isUnresolved(headers)) return;
  if (typeof headers !== 'object' || Array.isArray(headers)) {
    errors.push(`${name} is not an object of header names and values: give one, such as { '${example}': '1' }.`);
    return;
  }
  for (const [key, value] of Object.entries(headers)) {
    if (Token.isUnresolved(key)) continue;
    if (!HEADER_NAME_PATTERN.test(key) || key.length > LIMITS.maxSmokeCheckText) {
      errors.push(`${name} has the name '${key}', which is not a header name: use 1 to ${LIMITS.maxSmokeCheckText} letters, digits and !#$%&'*+-.^_\`|~, such as '${example}'.`);
      continue;
    }
    if (typeof value !== 'string') {
      errors.push(`${name}['${key}'] is ${value === null ? 'null' : typeof value}: give the header's value as a string.`);
    } else if (!Token.isUnresolved(value)) {
      if (HEADER_VALUE_FORBIDDEN.test(value)) {
        errors.push(`${name}['${key}'] has a line break or another control character: give a single-line value.`);
      } else if (value.length > LIMITS.maxSmokeCheckText) {
        errors.push(`${name}['${key}'] is ${value.length} characters long: keep it to at most ${LIMITS.maxSmokeCheckText} characters; the state machine carries every check in its definition.`);
      }
    }
  }
}

/** The path (with the query) of a full URL, for a message. */
function pathOfUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.pathname}${u.search}`;
  } catch {
    return '/health';
  }
}



/** Checks the traffic switch and the props that depend on it; returns the resolved Route 53 switch, if any. */
function checkTrafficSwitch(errors: string[], warnings: FleetWarning[], props: BlueGreenFleetProps): ResolvedDnsSwitch | undefined {
  const sw: TrafficSwitch | undefined = props.trafficSwitch;
  if (!sw?.isRoute53) return undefined;
  if (props.loadBalancer !== undefined) {
    errors.push('loadBalancer is set but trafficSwitch is TrafficSwitch.route53(): the Route 53 switch creates a load balancer per colour. Remove loadBalancer, or use TrafficSwitch.listenerRule().');
  }
  if (props.testPort !== undefined) {
    errors.push('testPort is set but trafficSwitch is TrafficSwitch.route53(): there is no test listener, the idle colour\'s own load balancer is its test endpoint. Remove testPort.');
  }
  if (props.testPeers !== undefined) {
    errors.push('testPeers is set but trafficSwitch is TrafficSwitch.route53(): there is no test listener; productionPeers decides who reaches each colour\'s load balancer. Remove testPeers.');
  }

  return checkRoute53Switch(errors, warnings, sw);
}


function checkPort(errors: string[], name: string, port: number | undefined): void {
  if (resolved(port) && (!isWholeNumber(port!) || port! < 1 || port! > 65535)) {
    errors.push(`${name} is ${port}: set it to a port number between 1 and 65535.`);
  }
}

function checkThreshold(errors: string[], name: string, count: number | undefined): void {
  if (resolved(count) && (!isWholeNumber(count!) || count! < 2 || count! > 10)) {
    errors.push(`${name} is ${count}: set it to a whole number between 2 and 10.`);
  }
}

function checkHttpCodes(errors: string[], codes: string): void {
  const wellFormed = HTTP_CODES_PATTERN.test(codes);
  const inRange = wellFormed && codes.split(/[,-]/).every((c) => Number(c) >= 200 && Number(c) <= 499);
  const ordered = wellFormed && codes.split(',').every((part) => {
    const [lo, hi] = part.split('-').map(Number);
    return hi === undefined || lo <= hi;
  });
  if (!inRange || !ordered) {
    errors.push(`healthCheck.healthyHttpCodes is '${codes}': use codes between 200 and 499 as a code ('200'), a list ('200,204') or a range ('200-299').`);
  }
}

function checkPeriods(errors: string[], name: string, period: Duration | undefined, evaluationPeriods: number | undefined, datapointsToAlarm: number | undefined, defaultEvaluationPeriods: number): void {
  if (period !== undefined && resolved(period.toSeconds())) {
    const s = period.toSeconds();
    if (s < 60 || s % 60 !== 0) {
      errors.push(`${name}.period is ${s} seconds: load balancer metrics are published per minute, so use a whole number of minutes, such as Duration.minutes(1).`);
    }
  }
  if (resolved(evaluationPeriods) && (!isWholeNumber(evaluationPeriods!) || evaluationPeriods! < 1)) {
    errors.push(`${name}.evaluationPeriods is ${evaluationPeriods}: set it to a whole number, 1 or more.`);
    return;
  }
  if (resolved(datapointsToAlarm)) {
    const limit = evaluationPeriods ?? defaultEvaluationPeriods;
    if (!isWholeNumber(datapointsToAlarm!) || datapointsToAlarm! < 1 || datapointsToAlarm! > limit) {
      errors.push(`${name}.datapointsToAlarm is ${datapointsToAlarm}: set it between 1 and ${name}.evaluationPeriods (${limit}).`);
    }
  }
}

function checkCountAlarm(errors: string[], name: string, options: CountAlarmOptions | undefined, defaultEvaluationPeriods: number): void {
  if (!options) return;
  if (resolved(options.threshold) && (!(options.threshold! >= 0) || !Number.isFinite(options.threshold!))) {
    errors.push(`${name}.threshold is ${options.threshold}: set it to a number, 0 or more.`);
  }
  checkPeriods(errors, name, options.period, options.evaluationPeriods, options.datapointsToAlarm, defaultEvaluationPeriods);
}

function checkLatencyAlarm(errors: string[], name: string, options: LatencyAlarmOptions | undefined): void {
  if (!options) return;
  if (options.threshold !== undefined && resolved(options.threshold.toMilliseconds()) && options.threshold.toMilliseconds() <= 0) {
    errors.push(`${name}.threshold is ${options.threshold.toMilliseconds()} ms: set it to a positive Duration, such as Duration.seconds(2).`);
  }
  checkPeriods(errors, name, options.period, options.evaluationPeriods, options.datapointsToAlarm, ALARM_DEFAULTS.latencyP99.evaluationPeriods);
}
