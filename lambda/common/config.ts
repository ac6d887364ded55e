import { COLOURS, FleetConfig } from '../../lib/private/contract';
import { FleetConfigError } from './errors';

/**
 * Where a handler finds the fleet's configuration in its event: `config` (the start task's
 * payload, and tasks given the state as it is) or `state.config` (tasks given `{ state, ...args }`).
 * The state machine definition carries it as a literal in the start task's payload; the start
 * handler puts it into the state, and every task after it passes it on.
 */
export type ConfigLocation = 'config' | 'state.config';

/**
 * The fleet's configuration from a handler's event, checked by {@link parseFleetConfig}. The
 * last result is cached per identical configuration (the same object, or the same JSON text),
 * so calling it on every invocation is cheap.
 */
export function loadFleetConfig(event: unknown, where: ConfigLocation = 'config'): FleetConfig {
  const holder = where === 'config' ? event : (isObject(event) ? event.state : undefined);
  const raw = isObject(holder) ? holder.config : undefined;
  if (raw === undefined || raw === null || (typeof raw === 'string' && raw.trim() === '')) {
    throw new FleetConfigError(
      `The event has no fleet configuration at ${where}: the cutover state machine's start task carries it in its payload ` +
      'and every later task passes it on in the state. Start cutovers through the state machine; invoke a handler by hand ' +
      `only with the configuration at ${where}.`,
    );
  }
  return cachedParse(raw, where);
}

let lastObject: object | undefined;
let lastKey: string | undefined;
let lastConfig: FleetConfig | undefined;

function cachedParse(raw: unknown, where: ConfigLocation): FleetConfig {
  if (typeof raw === 'object' && raw !== null && raw === lastObject) return lastConfig!;
  const key = typeof raw === 'string' ? raw : JSON.stringify(raw);
  if (key !== lastKey || !lastConfig) {
    lastConfig = parseFleetConfig(raw, where);
    lastKey = key;
  }
  lastObject = typeof raw === 'object' && raw !== null ? raw : undefined;
  return lastConfig;
}

/** Where production traffic is decided, as operators read it in messages. */
export function switchName(config: FleetConfig): string {
  return config.route53 ? `the Route 53 records ${config.route53.recordName}` : 'the production rule';
}

/**
 * Checks a {@link FleetConfig} given as an object (or as JSON text); `where` names it in messages.
 * Throws {@link FleetConfigError} naming every field that is wrong.
 */
export function parseFleetConfig(raw: unknown, where = 'config'): FleetConfig {
  let value: unknown = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch (e) {
      throw new FleetConfigError(`The fleet configuration at ${where} is not valid JSON (${(e as Error).message}).`);
    }
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
  c.optionalString('notificationTopicArn');
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
    throw new FleetConfigError(`The fleet configuration at ${where} does not describe a fleet: ${problems.join('; ')}.`);
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
