import { Token } from 'aws-cdk-lib';
import { TrafficSwitch } from '../traffic-switch';
import { wholeSeconds } from './checks';
import { ALIAS_RECORD_TTL_SECONDS, HIGH_TTL_SECONDS, LIMITS, WARNING_IDS } from './defaults';

// Route 53 switching resolved: the records' fully qualified name, type and TTL from
// TrafficSwitch.route53()'s options, checked once. The fleet, the records and the workflow take
// the result; validation reports the problems.

/** The Route 53 switch, as the fleet and the workflow use it. */
export interface ResolvedDnsSwitch {
  /** Fully qualified, lower case, no trailing dot. */
  readonly recordName: string;
  readonly recordType: 'A' | 'CNAME';
  /** The TTL clients see: the record's, or the load balancer's for alias records. */
  readonly ttlSeconds: number;
  /** Set for CNAME records. */
  readonly recordTtlSeconds?: number;
}

const RECORD_NAME_PATTERN = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.?$/;

/**
 * The fully qualified record name (lower case, no trailing dot) of `recordName` in the zone
 * `zoneName`: a name ending in '.' or in the zone's name is taken as is, anything else is
 * relative to the zone.
 */
export function fullyQualifiedRecordName(recordName: string, zoneName: string): string {
  const zone = zoneName.replace(/\.$/, '').toLowerCase();
  const name = recordName.toLowerCase();
  if (name.endsWith('.')) return name.slice(0, -1);
  if (name === zone || name.endsWith(`.${zone}`)) return name;
  return `${name}.${zone}`;
}

/**
 * Checks a Route 53 switch's zone, record name and TTL; returns it resolved, or undefined with
 * the problems in `errors` (and risky settings in `warnings`).
 */
export function checkRoute53Switch(errors: string[], warnings: Array<{ id: string; message: string }>, sw: TrafficSwitch): ResolvedDnsSwitch | undefined {
  const o = sw.route53Options!;
  let zoneName: string | undefined;
  try {
    zoneName = o.zone.zoneName;
  } catch {
    errors.push('trafficSwitch zone has no name (it was imported with HostedZone.fromHostedZoneId): import it with HostedZone.fromHostedZoneAttributes({ hostedZoneId, zoneName }) so the records and their IAM conditions can be named.');
    return undefined;
  }
  if (Token.isUnresolved(zoneName)) {
    errors.push('trafficSwitch zone name is a token: pass a zone whose name is known at synth time (created in the app, or imported with HostedZone.fromHostedZoneAttributes or fromLookup).');
    return undefined;
  }
  if (Token.isUnresolved(o.recordName)) {
    errors.push('trafficSwitch recordName is a token: use a name known at synth time, such as \'www\'; it names the records in their IAM conditions.');
    return undefined;
  }
  if (!RECORD_NAME_PATTERN.test(o.recordName)) {
    errors.push(`trafficSwitch recordName is '${o.recordName}': use letters, digits, '-' and '_' separated by dots, relative to the zone ('www') or fully qualified ('www.${zoneName}').`);
    return undefined;
  }
  const zone = zoneName.replace(/\.$/, '').toLowerCase();
  const fqdn = fullyQualifiedRecordName(o.recordName, zone);
  if (fqdn !== zone && !fqdn.endsWith(`.${zone}`)) {
    errors.push(`trafficSwitch recordName '${o.recordName}' is not in the zone ${zone}: use a name in the zone, such as 'www' or 'www.${zone}'.`);
    return undefined;
  }
  if (fqdn.length > 253) {
    errors.push(`trafficSwitch recordName '${fqdn}' is ${fqdn.length} characters long: DNS names are at most 253 characters.`);
    return undefined;
  }

  const ttl = wholeSeconds(errors, 'trafficSwitch ttl', o.ttl);
  if (o.ttl === undefined) {
    return { recordName: fqdn, recordType: 'A', ttlSeconds: ALIAS_RECORD_TTL_SECONDS };
  }
  if (ttl === undefined) return undefined;
  if (ttl > LIMITS.maxTtlSeconds) {
    errors.push(`trafficSwitch ttl is ${ttl} seconds: set it to a whole number of seconds from 0 to ${LIMITS.maxTtlSeconds}, such as Duration.seconds(60).`);
    return undefined;
  }
  if (fqdn === zone) {
    errors.push(`trafficSwitch ttl is set, which makes the records CNAME records, but recordName '${o.recordName}' is the zone apex, where a CNAME cannot sit: remove ttl to use alias records, or choose a name below the apex such as 'www'.`);
    return undefined;
  }
  if (ttl > HIGH_TTL_SECONDS) {
    warnings.push({
      id: WARNING_IDS.highDnsTtl,
      message: `trafficSwitch ttl is ${ttl} seconds: after every switch and every rollback, clients and resolvers keep the old answer at least that long. Keep it at ${ALIAS_RECORD_TTL_SECONDS} seconds or less, or remove it to use alias records.`,
    });
  }
  return { recordName: fqdn, recordType: 'CNAME', ttlSeconds: ttl, recordTtlSeconds: ttl };
}

/** The resolved Route 53 switch of a traffic switch that passed validation; undefined for the listener-rule switch. */
export function resolveRoute53Switch(sw: TrafficSwitch | undefined): ResolvedDnsSwitch | undefined {
  if (!sw?.isRoute53) return undefined;
  const errors: string[] = [];
  const resolvedSwitch = checkRoute53Switch(errors, [], sw);
  if (errors.length > 0 || !resolvedSwitch) {
    throw new Error(`The Route 53 traffic switch cannot be resolved: ${errors.join(' ') || 'validate the props first'}`);
  }
  return resolvedSwitch;
}
