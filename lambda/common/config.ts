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
  c.string('fleetId');
  c.string('productionRuleArn');
  c.string('testRuleArn');
  c.integer('testPort', 1, 65535);
  c.oneOf('testProtocol', ['HTTP', 'HTTPS']);
  c.string('loadBalancerDnsName');
  c.string('loadBalancerFullName');
  c.stringArray('rollbackAlarmNames');
  c.string('lockTableName');
  c.integer('lockLeaseSeconds', 1);
  c.integer('healthyTimeoutSeconds', 0);
  c.integer('smokeRounds', 0);
  c.integer('bakeSeconds', 0);
  c.integer('warmSeconds', 0);
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
      cc.stringArray('alarmNames');
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

  constructor(value: unknown, private readonly problems: string[], private readonly prefix = '') {
    this.obj = isObject(value) ? value : {};
    if (!isObject(value) && prefix === '') problems.push('the value is not a JSON object');
  }

  private name(key: string): string {
    return this.prefix ? `${this.prefix}.${key}` : key;
  }

  string(key: string): void {
    const v = this.obj[key];
    if (typeof v !== 'string' || v === '') this.problems.push(`${this.name(key)} must be a non-empty string`);
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
