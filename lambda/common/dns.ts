/**
 * The Route 53 traffic switch: two weighted records (set identifiers `blue` and `green`), one per
 * colour's load balancer. Their weights are the truth about which colour is live. Every weight
 * change is one ChangeResourceRecordSets call that UPSERTs both records, so a rollback is one call.
 */
import {
  Change,
  ChangeInfo,
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  ListResourceRecordSetsCommand,
  ListResourceRecordSetsCommandOutput,
  ResourceRecordSet,
  RRType,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { Colour, COLOURS, DNS_SET_IDENTIFIERS, FleetConfig, Route53Config } from '../../lib/private/contract';
import { realSleep, Sleep } from './deps';
import { FleetStateConflict } from './errors';
import { RuleWeights, WeightChange } from './fleet';

/** How long a handler waits for a change to be INSYNC (its function may run 300 s). */
export const DNS_SYNC_BUDGET_MS = 240_000;

/** Lower case, without the trailing dot: how names are compared. */
export function normalizeName(name: string | undefined): string {
  return (name ?? '').toLowerCase().replace(/\.$/, '');
}

/** The record sets of the weighted group `name`/`type` in the zone, by set identifier. */
export async function listWeightedRecords(route53: Route53Client, zoneId: string, name: string, type: string): Promise<ResourceRecordSet[]> {
  const found: ResourceRecordSet[] = [];
  let startName: string | undefined = `${name}.`;
  let startType: RRType | undefined = type as RRType;
  let startId: string | undefined;
  // Records are listed in order from the start name and type; stop at the first other name or type.
  for (;;) {
    const out: ListResourceRecordSetsCommandOutput = await route53.send(new ListResourceRecordSetsCommand({
      HostedZoneId: zoneId,
      StartRecordName: startName,
      StartRecordType: startType,
      StartRecordIdentifier: startId,
      MaxItems: 100,
    }));
    const sets = out.ResourceRecordSets ?? [];
    let ended = false;
    for (const rs of sets) {
      if (normalizeName(rs.Name) !== normalizeName(name) || rs.Type !== type) {
        ended = true;
        break;
      }
      found.push(rs);
    }
    if (ended || !out.IsTruncated) return found;
    startName = out.NextRecordName;
    startType = out.NextRecordType;
    startId = out.NextRecordIdentifier;
  }
}

/** The record a colour should have, at `weight`. */
export function desiredRecord(r53: Route53Config, colour: Colour, weight: number): ResourceRecordSet {
  const target = r53.targets[colour];
  return {
    Name: `${r53.recordName}.`,
    Type: r53.recordType,
    SetIdentifier: DNS_SET_IDENTIFIERS[colour],
    Weight: weight,
    ...(r53.recordType === 'A'
      // The weights alone decide: Route 53 must not send traffic to a colour because the other is unhealthy.
      ? { AliasTarget: { DNSName: target.dnsName, HostedZoneId: target.hostedZoneId, EvaluateTargetHealth: false } }
      : { TTL: r53.ttlSeconds ?? 60, ResourceRecords: [{ Value: target.dnsName }] }),
  };
}

/** Whether an existing record already points where `wanted` does (weights aside). */
function sameTarget(existing: ResourceRecordSet, wanted: ResourceRecordSet): boolean {
  if (wanted.AliasTarget) {
    return !!existing.AliasTarget
      && normalizeName(existing.AliasTarget.DNSName) === normalizeName(wanted.AliasTarget.DNSName)
      && existing.AliasTarget.HostedZoneId === wanted.AliasTarget.HostedZoneId
      && (existing.AliasTarget.EvaluateTargetHealth ?? false) === false;
  }
  const values = (existing.ResourceRecords ?? []).map((r) => normalizeName(r.Value));
  return !existing.AliasTarget && existing.TTL === wanted.TTL
    && values.length === 1 && values[0] === normalizeName(wanted.ResourceRecords?.[0]?.Value);
}

interface ParsedRecords {
  readonly weights: RuleWeights;
  readonly byColour: Partial<Record<Colour, ResourceRecordSet>>;
  /** Records in the weighted group that belong to neither colour. */
  readonly foreign: ResourceRecordSet[];
}

function describeRecords(sets: ResourceRecordSet[], config: FleetConfig): ParsedRecords {
  const r53 = config.route53!;
  const byColour: Partial<Record<Colour, ResourceRecordSet>> = {};
  for (const c of COLOURS) byColour[c] = sets.find((s) => s.SetIdentifier === DNS_SET_IDENTIFIERS[c]);
  const foreign = sets.filter((s) => !COLOURS.some((c) => s.SetIdentifier === DNS_SET_IDENTIFIERS[c]));
  const missing = COLOURS.filter((c) => !byColour[c]);
  if (missing.length > 0) {
    const c = missing[0];
    throw new FleetStateConflict(
      `The Route 53 record ${r53.recordName} ${r53.recordType} with set identifier '${DNS_SET_IDENTIFIERS[c]}' does not exist in hosted zone ${r53.hostedZoneId} ` +
      `(fleet '${config.fleetId}'): it was deleted outside the stack. Re-create it by hand (weighted, set identifier '${DNS_SET_IDENTIFIERS[c]}', ` +
      `pointing at ${r53.targets[c].dnsName}, weight 100 if ${c} should serve, otherwise 0), then start again. Nothing was changed.`,
    );
  }
  const raw = (s: ResourceRecordSet | undefined) => s?.Weight ?? 0;
  const all = [...COLOURS.map((c) => byColour[c]!), ...foreign];
  const total = all.reduce((sum, s) => sum + raw(s), 0);
  // All weights 0: Route 53 answers with every record equally.
  const share = (s: ResourceRecordSet) => (total > 0 ? Math.round((raw(s) * 100) / total) : Math.round(100 / all.length));
  return { weights: { blue: share(byColour.blue!), green: share(byColour.green!) }, byColour, foreign };
}

/**
 * Reads which percentage of answers each colour's record gets. Throws FleetStateConflict when a
 * colour's record is missing, or a record of neither colour in the same weighted group has weight.
 */
export async function readRecordWeights(route53: Route53Client, config: FleetConfig): Promise<RuleWeights> {
  const r53 = config.route53!;
  const parsed = describeRecords(await listWeightedRecords(route53, r53.hostedZoneId, r53.recordName, r53.recordType), config);
  const foreign = parsed.foreign.filter((s) => (s.Weight ?? 0) > 0);
  if (foreign.length > 0) {
    throw new FleetStateConflict(
      `The Route 53 records ${r53.recordName} ${r53.recordType} of fleet '${config.fleetId}' also answer with ` +
      `${foreign.map((s) => `set identifier '${s.SetIdentifier}' (weight ${s.Weight})`).join(', ')}, which is neither blue nor green: ` +
      'set its weight to 0 or delete it by hand, then start again. Nothing was changed.',
    );
  }
  return parsed.weights;
}

/** What a record weight change did. */
export interface RecordChange extends WeightChange {
  /** The Route 53 change, when there was one. */
  readonly changeInfo?: ChangeInfo;
}

/**
 * Sets both records' weights with one ChangeResourceRecordSets call (UPSERT of both records in
 * one change batch), only when the weights or the records' targets differ from the wanted ones.
 */
export async function setRecordWeights(
  route53: Route53Client,
  config: FleetConfig,
  weights: RuleWeights,
  now: () => Date = () => new Date(),
): Promise<RecordChange> {
  for (const c of COLOURS) {
    if (!Number.isInteger(weights[c]) || weights[c] < 0 || weights[c] > 100) {
      throw new RangeError(`setRecordWeights: the ${c} weight must be an integer from 0 to 100, got ${weights[c]}.`);
    }
  }
  const r53 = config.route53!;
  const parsed = describeRecords(await listWeightedRecords(route53, r53.hostedZoneId, r53.recordName, r53.recordType), config);
  const wanted = COLOURS.map((c) => desiredRecord(r53, c, weights[c]));
  const same = COLOURS.every((c, i) => (parsed.byColour[c]!.Weight ?? 0) === weights[c] && sameTarget(parsed.byColour[c]!, wanted[i]));
  if (same) return { changed: false, before: parsed.weights };

  const changes: Change[] = wanted.map((rs) => ({ Action: 'UPSERT', ResourceRecordSet: rs }));
  const started = now().getTime();
  const out = await route53.send(new ChangeResourceRecordSetsCommand({
    HostedZoneId: r53.hostedZoneId,
    ChangeBatch: { Comment: `Blue/green cutover of ${config.fleetId}: blue ${weights.blue}%, green ${weights.green}%`, Changes: changes },
  }));
  return { changed: true, before: parsed.weights, callMs: now().getTime() - started, changeInfo: out.ChangeInfo };
}

/** How waiting for a change ended. */
export interface ChangeSync {
  readonly inSync: boolean;
  readonly waitedMs: number;
  readonly polls: number;
}

/**
 * Polls GetChange until the change is INSYNC (every Route 53 authoritative server answers with
 * it) or `budgetMs` has passed, backing off from 1 to 10 seconds.
 */
export async function waitForChange(
  route53: Route53Client,
  change: ChangeInfo,
  options: { now: () => Date; sleep?: Sleep; budgetMs?: number },
): Promise<ChangeSync> {
  const sleep = options.sleep ?? realSleep;
  const budgetMs = options.budgetMs ?? DNS_SYNC_BUDGET_MS;
  const started = options.now().getTime();
  let status = change.Status;
  let delay = 1000;
  let polls = 0;
  while (status !== 'INSYNC') {
    const waited = options.now().getTime() - started;
    if (waited >= budgetMs) return { inSync: false, waitedMs: waited, polls };
    await sleep(Math.min(delay, budgetMs - waited));
    delay = Math.min(delay * 2, 10_000);
    const out = await route53.send(new GetChangeCommand({ Id: change.Id }));
    polls++;
    status = out.ChangeInfo?.Status;
  }
  return { inSync: true, waitedMs: options.now().getTime() - started, polls };
}
