import { Duration, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { VERSION_PATTERN } from './contract';
import { BlueGreenFleetProps, CountAlarmOptions, LatencyAlarmOptions } from './fleet-props';

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
} as const;

/** Defaults of the built-in per-colour alarms. */
export const ALARM_DEFAULTS = {
  unhealthyHosts: { threshold: 1, evaluationPeriods: 2, datapointsToAlarm: 2 },
  serverErrors: { threshold: 5, evaluationPeriods: 1, datapointsToAlarm: 1 },
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
} as const;

const PARAMETER_PREFIX_PATTERN = /^(\/[A-Za-z0-9_.-]+)+$/;
const HTTP_CODES_PATTERN = /^\d{3}(-\d{3})?(,\d{3}(-\d{3})?)*$/;

function resolved(value: unknown): boolean {
  return value !== undefined && !Token.isUnresolved(value);
}

function isWholeNumber(n: number): boolean {
  return Number.isInteger(n);
}

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
  const protocol = props.protocol ?? (certificates.length > 0 ? elbv2.ApplicationProtocol.HTTPS : elbv2.ApplicationProtocol.HTTP);
  if (protocol === elbv2.ApplicationProtocol.HTTPS && certificates.length === 0) {
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
  if (resolved(productionPort) && resolved(testPort) && productionPort === testPort) {
    errors.push(`testPort (${testPort}) is the same as productionPort (${productionPort}): give the test listener a port of its own, such as ${productionPort === DEFAULTS.httpTestPort ? 9080 : DEFAULTS.httpTestPort}.`);
  }
  if (props.httpRedirect && https) {
    for (const [name, port] of [['productionPort', productionPort], ['testPort', testPort]] as const) {
      if (port === DEFAULTS.httpPort) {
        errors.push(`${name} is 80, which httpRedirect needs for its redirect listener: choose another ${name} or set httpRedirect to false.`);
      }
    }
  }

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
  checkLatencyAlarm(errors, 'alarms.latencyP99', alarms.latencyP99);
  for (const [name, options] of Object.entries(alarms)) {
    if ((options as CountAlarmOptions | undefined)?.enabled === false) {
      warnings.push({
        id: WARNING_IDS.alarmDisabled,
        message: `alarms.${name}.enabled is false: cutovers no longer roll back on this signal. Add an equivalent alarm with addRollbackAlarm(), or keep it enabled.`,
      });
    }
  }

  return { errors, warnings };
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
