/**
 * Provider of the `Custom::BlueGreenDnsRecords` resource: the two weighted records of a fleet
 * that switches traffic with Route 53.
 *
 * The weights belong to the cutover workflow, not to the template (DESIGN invariant 6): the
 * records are created once with blue at 100 and green at 0, and every later update (a new load
 * balancer, a new TTL, a new name) keeps the weights the records have at that moment.
 */
import {
  Change,
  ChangeResourceRecordSetsCommand,
  ResourceRecordSet,
  Route53Client,
} from '@aws-sdk/client-route-53';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { Colour, COLOURS, DNS_SET_IDENTIFIERS, DnsRecordsProperties, Route53Config } from '../../lib/private/contract';
import { desiredRecord, listWeightedRecords } from '../common/dns';
import { answer, CloudFormationResponse, FAILED_CREATE_ID, Responder, ResourceResult } from '../common/cfn-response';
import { logger } from '../common/logger';

/** Weights of a new pair of records: blue serves first, as the fleet's first deploy sizes it. */
export const INITIAL_WEIGHTS: Record<Colour, number> = { [Colour.BLUE]: 100, [Colour.GREEN]: 0 };

export { FAILED_CREATE_ID } from '../common/cfn-response';

export interface DnsRecordsDeps {
  readonly route53: Route53Client;
}

/** What the resource reports back to CloudFormation. */
export type DnsRecordsResult = ResourceResult;

/** The records' settings, from the resource properties. */
export function parseProperties(props: Record<string, unknown> | undefined): Route53Config {
  const p = (props ?? {}) as unknown as DnsRecordsProperties;
  const problems: string[] = [];
  for (const key of ['HostedZoneId', 'RecordName', 'RecordType'] as const) {
    if (typeof p[key] !== 'string' || p[key] === '') problems.push(`${key} must be a non-empty string`);
  }
  if (p.RecordType !== undefined && p.RecordType !== 'A' && p.RecordType !== 'CNAME') problems.push('RecordType must be A or CNAME');
  const ttl = p.Ttl === undefined || p.Ttl === '' ? undefined : Number(p.Ttl);
  if (ttl !== undefined && (!Number.isInteger(ttl) || ttl < 0)) problems.push('Ttl must be a whole number of seconds');
  if (p.RecordType === 'CNAME' && ttl === undefined) problems.push('Ttl is required for CNAME records');
  for (const c of COLOURS) {
    const t = p.Targets?.[c];
    if (!t || typeof t.DnsName !== 'string' || !t.DnsName || typeof t.HostedZoneId !== 'string' || !t.HostedZoneId) {
      problems.push(`Targets.${c} must have DnsName and HostedZoneId`);
    }
  }
  if (problems.length > 0) throw new Error(`Invalid Custom::BlueGreenDnsRecords properties: ${problems.join('; ')}.`);
  return {
    hostedZoneId: p.HostedZoneId,
    recordName: p.RecordName.toLowerCase().replace(/\.$/, ''),
    recordType: p.RecordType,
    ...(p.RecordType === 'CNAME' ? { ttlSeconds: ttl } : {}),
    targets: {
      [Colour.BLUE]: { dnsName: p.Targets.blue.DnsName, hostedZoneId: p.Targets.blue.HostedZoneId },
      [Colour.GREEN]: { dnsName: p.Targets.green.DnsName, hostedZoneId: p.Targets.green.HostedZoneId },
    },
  };
}

/** The resource's identity: records of one name in one zone (the type may change in place). */
export function physicalId(r: Route53Config): string {
  return `${r.hostedZoneId}/${r.recordName}`;
}

/** Our two records as they are now (by set identifier), or an empty map if there are none. */
async function ourRecords(route53: Route53Client, r: Route53Config): Promise<Partial<Record<Colour, ResourceRecordSet>>> {
  const sets = await listWeightedRecords(route53, r.hostedZoneId, r.recordName, r.recordType);
  const found: Partial<Record<Colour, ResourceRecordSet>> = {};
  for (const c of COLOURS) {
    const rs = sets.find((s) => s.SetIdentifier === DNS_SET_IDENTIFIERS[c]);
    if (rs) found[c] = rs;
  }
  return found;
}

/** The weights the records have now: the workflow's, which an update must keep. */
async function currentWeights(route53: Route53Client, r: Route53Config): Promise<Record<Colour, number>> {
  const found = await ourRecords(route53, r);
  const missing = COLOURS.filter((c) => !found[c]);
  if (missing.length > 0) {
    throw new Error(
      `The weighted record ${r.recordName} ${r.recordType} with set identifier '${DNS_SET_IDENTIFIERS[missing[0]]}' is missing from hosted zone ${r.hostedZoneId}, ` +
      'so the weights that say which colour is live are unknown. Re-create it by hand with the weight of the colour that should serve ' +
      '(100 for the serving colour, 0 for the other), then deploy again.',
    );
  }
  return { [Colour.BLUE]: found.blue!.Weight ?? 0, [Colour.GREEN]: found.green!.Weight ?? 0 };
}

async function change(route53: Route53Client, zoneId: string, comment: string, changes: Change[]): Promise<void> {
  if (changes.length === 0) return;
  await route53.send(new ChangeResourceRecordSetsCommand({ HostedZoneId: zoneId, ChangeBatch: { Comment: comment, Changes: changes } }));
}

function isError(e: unknown, ...names: string[]): boolean {
  const name = (e as { name?: string; Code?: string } | undefined)?.name ?? (e as { Code?: string } | undefined)?.Code;
  return name !== undefined && names.includes(name);
}

/** "The weighted records www.example.com A (set identifiers 'blue', 'green') in hosted zone Z…". */
function describe(r: Route53Config, colours: readonly Colour[] = COLOURS): string {
  return `The weighted records ${r.recordName} ${r.recordType} (set identifiers ${colours.map((c) => `'${DNS_SET_IDENTIFIERS[c]}'`).join(', ')}) in hosted zone ${r.hostedZoneId}`;
}

function errorName(e: unknown): string {
  return (e as { name?: string }).name ?? 'Error';
}

/** The service's own words, last in a reason: handleEvent keeps only its first 1000 characters. */
function saidBy(e: unknown): string {
  return `Route 53 said: ${(e as Error).message ?? String(e)}`;
}

/** What to do about a failed change of the records `r`, by the error. */
function fixFor(e: unknown, r: Route53Config): string {
  if (isError(e, 'AccessDenied', 'AccessDeniedException')) {
    return `The provider's role may change a record name only while the stack has that name's policy (one AWS::IAM::Policy per name and zone). ` +
      `A stack deployed by a version of this library without per-name policies has none for ${r.recordName}: deploy the library upgrade once without changing the records, ` +
      `then change them. Otherwise delete these records by hand and retry.`;
  }
  return 'Fix the cause and retry.';
}

/**
 * Moves the records from `from` (another name or zone) to `to`, keeping the weights, and returns
 * them: (1) UPSERT both records at `to` with the weights the records at `from` have, (2) DELETE the
 * records at `from` exactly as they are. Two calls, because each name's permission is a policy of
 * its own and an IAM condition with ForAllValues allows a change batch only when one statement
 * names every record in it.
 *
 * CloudFormation updates or creates the policies this resource depends on before it sends this
 * Update, and deletes the policy of a name removed from the template only during cleanup, after
 * every update succeeded: during this Update both names may be changed. If (2) fails, (1) is undone
 * and the Update fails, so CloudFormation rolls back with the records where they were.
 *
 * Idempotent: when `from` has no records any more and `to` has both (a retry, or a rollback of a
 * move that was undone), the records at `to` keep their weights and get the new targets.
 */
async function moveRecords(route53: Route53Client, from: Route53Config, to: Route53Config): Promise<Record<Colour, number>> {
  const source = await ourRecords(route53, from);
  const before = await ourRecords(route53, to);
  const moved = COLOURS.filter((c) => source[c]);
  const weightsOf = (found: Partial<Record<Colour, ResourceRecordSet>>) => ({ [Colour.BLUE]: found.blue!.Weight ?? 0, [Colour.GREEN]: found.green!.Weight ?? 0 });
  let weights: Record<Colour, number>;
  if (moved.length === COLOURS.length) weights = weightsOf(source);
  else if (moved.length === 0 && COLOURS.every((c) => before[c])) weights = weightsOf(before);
  else weights = await currentWeights(route53, from); // throws: a record is missing

  await change(route53, to.hostedZoneId, `Blue/green fleet: weighted records moved from ${from.recordName}, weights kept`,
    COLOURS.map((c) => ({ Action: 'UPSERT', ResourceRecordSet: desiredRecord(to, c, weights[c]) })));
  if (moved.length === 0) return weights;
  try {
    await change(route53, from.hostedZoneId, `Blue/green fleet: weighted records moved to ${to.recordName}`,
      moved.map((c) => ({ Action: 'DELETE', ResourceRecordSet: source[c]! })));
  } catch (e) {
    let undone = `The records at ${to.recordName} were put back as they were; nothing changed.`;
    try {
      const created = await ourRecords(route53, to);
      await change(route53, to.hostedZoneId, 'Blue/green fleet: move of the weighted records undone', COLOURS.flatMap((c): Change[] => {
        if (before[c]) return [{ Action: 'UPSERT', ResourceRecordSet: before[c] }];
        return created[c] ? [{ Action: 'DELETE', ResourceRecordSet: created[c] }] : [];
      }));
    } catch (u) {
      undone = `Putting the records at ${to.recordName} back failed too (${errorName(u)}: ${(u as Error).message}): both names answer now; delete the ones of the name you do not keep by hand.`;
    }
    throw new Error(`${describe(from, moved)} could not be deleted after the move to ${to.recordName}: route53:ChangeResourceRecordSets (DELETE) failed with ${errorName(e)}. ` +
      `${undone} ${fixFor(e, from)} ${saidBy(e)}`);
  }
  return weights;
}

/** Creates, updates or deletes the records. Throws with a message CloudFormation shows on failure. */
export async function onEvent(event: CloudFormationCustomResourceEvent, deps: DnsRecordsDeps): Promise<DnsRecordsResult> {
  const { route53 } = deps;
  switch (event.RequestType) {
    case 'Create': {
      const r = parseProperties(event.ResourceProperties);
      // CREATE, not UPSERT: records someone else owns at this name make the deploy fail instead of being taken over.
      await change(route53, r.hostedZoneId, 'Blue/green fleet: weighted records created, blue serving',
        COLOURS.map((c) => ({ Action: 'CREATE', ResourceRecordSet: desiredRecord(r, c, INITIAL_WEIGHTS[c]) })));
      logger.info('Weighted records created', { recordName: r.recordName, recordType: r.recordType, weights: INITIAL_WEIGHTS });
      return { physicalResourceId: physicalId(r), data: { RecordName: r.recordName } };
    }
    case 'Update': {
      const r = parseProperties(event.ResourceProperties);
      const old = parseProperties(event.OldResourceProperties);
      if (physicalId(r) !== physicalId(old)) {
        // Another name or zone: the provider moves the records itself, in this Update, while the
        // policies of both names are in place (see moveRecords). The Delete CloudFormation sends for
        // the old physical id during cleanup then finds nothing left to delete.
        const weights = await moveRecords(route53, old, r);
        logger.info('Weighted records moved, weights kept', { from: old.recordName, recordName: r.recordName, recordType: r.recordType, weights });
        return { physicalResourceId: physicalId(r), data: { RecordName: r.recordName } };
      }
      const weights = await currentWeights(route53, old);
      if (r.recordType !== old.recordType) {
        // Alias <-> CNAME at the same name: one batch deletes the old records exactly as they are and creates the new ones.
        const existing = await ourRecords(route53, old);
        await change(route53, r.hostedZoneId, 'Blue/green fleet: weighted records changed type, weights kept', [
          ...COLOURS.map((c): Change => ({ Action: 'DELETE', ResourceRecordSet: existing[c]! })),
          ...COLOURS.map((c): Change => ({ Action: 'CREATE', ResourceRecordSet: desiredRecord(r, c, weights[c]) })),
        ]);
      } else {
        // New targets or TTL: UPSERT with the weights the records have now.
        await change(route53, r.hostedZoneId, 'Blue/green fleet: weighted records updated, weights kept',
          COLOURS.map((c) => ({ Action: 'UPSERT', ResourceRecordSet: desiredRecord(r, c, weights[c]) })));
      }
      logger.info('Weighted records updated, weights kept', { recordName: r.recordName, recordType: r.recordType, weights });
      return { physicalResourceId: physicalId(r), data: { RecordName: r.recordName } };
    }
    case 'Delete': {
      if (event.PhysicalResourceId.startsWith(FAILED_CREATE_ID)) return { physicalResourceId: event.PhysicalResourceId };
      const r = parseProperties(event.ResourceProperties);
      let existing: Partial<Record<Colour, ResourceRecordSet>>;
      try {
        existing = await ourRecords(route53, r);
      } catch (e) {
        if (!isError(e, 'NoSuchHostedZone')) throw e;
        logger.info('The hosted zone is gone: nothing to delete', { hostedZoneId: r.hostedZoneId });
        return { physicalResourceId: event.PhysicalResourceId };
      }
      const found = COLOURS.filter((c) => existing[c]);
      try {
        // DELETE must name each record exactly as it is, weights included: delete what is there.
        await change(route53, r.hostedZoneId, 'Blue/green fleet: weighted records deleted',
          found.map((c) => ({ Action: 'DELETE', ResourceRecordSet: existing[c]! })));
      } catch (e) {
        // Never reported as deleted while they still answer: CloudFormation must see the failure.
        throw new Error(`${describe(r, found)} could not be deleted: route53:ChangeResourceRecordSets (DELETE) failed with ${errorName(e)}. ` +
          `They still answer for the name. ${fixFor(e, r)} ${saidBy(e)}`);
      }
      logger.info('Weighted records deleted', { recordName: r.recordName, deleted: found });
      return { physicalResourceId: event.PhysicalResourceId };
    }
  }
}

export type { CloudFormationResponse, Responder } from '../common/cfn-response';
export { putResponse } from '../common/cfn-response';

/** Runs the event and always answers CloudFormation, so a failure never leaves the stack waiting. */
export async function handleEvent(event: CloudFormationCustomResourceEvent, deps: DnsRecordsDeps & { readonly respond: Responder }): Promise<CloudFormationResponse> {
  return answer(event, deps.respond, () => onEvent(event, deps), logger);
}
