import { COLOURS, FLEET_CONFIG_ENV, FleetConfig } from '../../lib/contract';
import { FleetConfigError } from './errors';

/**
 * Reads the fleet's configuration from the {@link FLEET_CONFIG_ENV} environment variable.
 * The result is cached per value of the variable, so calling it on every invocation is cheap.
 */
export function loadFleetConfig(env: NodeJS.ProcessEnv = process.env): FleetConfig {
  const raw = env[FLEET_CONFIG_ENV];
  if (raw === undefined || raw.trim() === '') {
    throw new FleetConfigError(
      `Environment variable ${FLEET_CONFIG_ENV} is not set: the function needs the fleet's configuration as JSON ` +
      '(the BlueGreenFleet construct sets it; set it by hand only when running the handler outside Lambda).',
    );
  }
  if (cached && cached.raw === raw) return cached.config;
  const config = parseFleetConfig(raw);
  cached = { raw, config };
  return config;
}

let cached: { raw: string; config: FleetConfig } | undefined;

/** Where production traffic is decided, as operators read it in messages. */
export function switchName(config: FleetConfig): string {
  return config.route53 ? `the Route 53 records ${config.route53.recordName}` : 'the production rule';
}

/** Parses and checks a {@link FleetConfig} given as JSON text. */
export function parseFleetConfig(raw: string): FleetConfig {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (e) {
    throw new FleetConfigError(`Environment variable ${FLEET_CONFIG_ENV} is not valid JSON (${(e as Error).message}).`);
  }
  const problems: string[] = [];
  const c = new Checker(value, problems);
  const dns = isObject(value) && (value as Record<string, unknown>).route53 !== undefined;
  c.string('fleetId');
  if (dns) {
    // Route 53 switching: the records say which colour is live; each colour has its own load
    // balancer, so the shared rule and load balancer fields are empty.
    c.stringOrEmpty('productionRuleArn');
    c.stringOrEmpty('testRuleArn');
    c.stringOrEmpty('loadBalancerDnsName');
    c.stringOrEmpty('loadBalancerFullName');
  } else {
    c.string('productionRuleArn');
    c.string('testRuleArn');
    c.string('loadBalancerDnsName');
    c.string('loadBalancerFullName');
  }
  c.integer('testPort', 1, 65535);
  c.oneOf('testProtocol', ['HTTP', 'HTTPS']);
  c.stringArray('rollbackAlarmNames');
  c.string('lockTableName');
  c.integer('minCapacity', 0);
  c.integer('maxCapacity', 0);
  c.integer('lockLeaseSeconds', 1);
  c.integer('healthyTimeoutSeconds', 0);
  c.integer('smokeRounds', 0);
  c.integer('bakeSeconds', 0);
  c.integer('warmSeconds', 0);
  c.optionalInteger('stepSeconds', 0);
  c.optionalInteger('stickinessSeconds', 0, 604800);
  if (dns && c.object('route53')) {
    const route53 = (value as Record<string, unknown>).route53 as Record<string, unknown>;
    const r = new Checker(route53, problems, 'route53');
    r.string('hostedZoneId');
    r.string('recordName');
    r.oneOf('recordType', ['A', 'CNAME']);
    r.optionalInteger('ttlSeconds', 0);
    if (r.object('targets')) {
      for (const colour of COLOURS) {
        const t = new Checker((route53.targets as Record<string, unknown>)[colour], problems, `route53.targets.${colour}`);
        if (t.isObject()) {
          t.string('dnsName');
          t.string('hostedZoneId');
        }
      }
    }
  }
  if (c.object('colours')) {
    const colours = (value as Record<string, unknown>).colours as Record<string, unknown>;
    for (const colour of COLOURS) {
      if (!isObject(colours[colour])) {
        problems.push(`colours.${colour} must be an object`);
        continue;
      }
      const cc = new Checker(colours[colour], problems, `colours.${colour}`);
      cc.string('autoScalingGroupName');
      cc.string('targetGroupArn');
      cc.string('imageParameterName');
      cc.string('versionParameterName');
      cc.string('launchTemplateId');
      cc.stringArray('alarmNames');
      const lb = (colours[colour] as Record<string, unknown>).loadBalancer;
      if (lb !== undefined) {
        const lc = new Checker(lb, problems, `colours.${colour}.loadBalancer`);
        if (lc.isObject()) {
          lc.string('dnsName');
          lc.string('fullName');
        }
      } else if (dns) {
        problems.push(`colours.${colour}.loadBalancer must be an object with Route 53 switching (the smoke tests call it)`);
      }
    }
  }
  if (c.array('smokeChecks')) {
    ((value as Record<string, unknown>).smokeChecks as unknown[]).forEach((check, i) => {
      if (!isObject(check)) {
        problems.push(`smokeChecks[${i}] must be an object`);
        return;
      }
      const sc = new Checker(check, problems, `smokeChecks[${i}]`);
      sc.string('path');
      sc.integer('expectedStatus', 100, 599);
      sc.integer('latencyBudgetMs', 1);
      sc.optionalString('bodyContains');
      sc.optionalString('jsonField');
      sc.optionalString('jsonValue');
      sc.optionalStringMap('headers');
      sc.optionalStringMap('requestHeaders');
    });
  }
  if (problems.length > 0) {
    throw new FleetConfigError(`Environment variable ${FLEET_CONFIG_ENV} does not describe a fleet: ${problems.join('; ')}.`);
  }
  return value as FleetConfig;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Collects the problems of one object's fields. */
class Checker {
  private readonly obj: Record<string, unknown>;

  private readonly valueIsObject: boolean;

  constructor(value: unknown, private readonly problems: string[], private readonly prefix = '') {
    this.valueIsObject = isObject(value);
    this.obj = isObject(value) ? value : {};
    if (!isObject(value) && prefix === '') problems.push('the value is not a JSON object');
  }

  /** Whether the value is an object; records a problem if not. */
  isObject(): boolean {
    if (!this.valueIsObject) this.problems.push(`${this.prefix} must be an object`);
    return this.valueIsObject;
  }

  private name(key: string): string {
    return this.prefix ? `${this.prefix}.${key}` : key;
  }

  string(key: string): void {
    const v = this.obj[key];
    if (typeof v !== 'string' || v === '') this.problems.push(`${this.name(key)} must be a non-empty string`);
  }

  stringOrEmpty(key: string): void {
    if (typeof this.obj[key] !== 'string') this.problems.push(`${this.name(key)} must be a string`);
  }

  optionalString(key: string): void {
    const v = this.obj[key];
    if (v !== undefined && typeof v !== 'string') this.problems.push(`${this.name(key)} must be a string when set`);
  }

  integer(key: string, min: number, max = Number.MAX_SAFE_INTEGER): void {
    const v = this.obj[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      this.problems.push(`${this.name(key)} must be an integer from ${min}${max === Number.MAX_SAFE_INTEGER ? ' up' : ` to ${max}`}`);
    }
  }

  optionalInteger(key: string, min: number, max = Number.MAX_SAFE_INTEGER): void {
    if (this.obj[key] !== undefined) this.integer(key, min, max);
  }

  oneOf(key: string, values: string[]): void {
    const v = this.obj[key];
    if (typeof v !== 'string' || !values.includes(v)) this.problems.push(`${this.name(key)} must be one of ${values.join(', ')}`);
  }

  stringArray(key: string): void {
    const v = this.obj[key];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) this.problems.push(`${this.name(key)} must be an array of strings`);
  }

  optionalStringMap(key: string): void {
    const v = this.obj[key];
    if (v !== undefined && (!isObject(v) || Object.values(v).some((x) => typeof x !== 'string'))) {
      this.problems.push(`${this.name(key)} must map names to strings when set`);
    }
  }

  object(key: string): boolean {
    if (!isObject(this.obj[key])) {
      this.problems.push(`${this.name(key)} must be an object`);
      return false;
    }
    return true;
  }

  array(key: string): boolean {
    if (!Array.isArray(this.obj[key])) {
      this.problems.push(`${this.name(key)} must be an array`);
      return false;
    }
    return true;
  }
}
