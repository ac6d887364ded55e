import { AttributeValue, DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import {
  Colour,
  ColourRelease,
  CutoverState,
  HISTORY_INDEX_NAME,
  HISTORY_PARTITION_ATTRIBUTE,
  HISTORY_SORT_ATTRIBUTE,
  HISTORY_TEXT_LIMITS,
  HistoryStage,
  historyItemKey,
  LOCK_PARTITION_KEY,
  ReleaseHistoryEntry,
  ReleaseOutcome,
  STARTED_BY_PATTERN,
  StageTiming,
} from '../../lib/private/contract';
import { STATE_NAMES } from '../../lib/private/stage-names';

/**
 * The release history: one item per execution that ends, in the fleet's lock table, read newest
 * first through the `History` index (partition `historyOf` = fleet id, sort `endedAt`).
 * Written by release-lock (in the transaction that records the `#last` result, so only the lock
 * holder writes it) and by the recovery handler for an execution stopped from outside.
 */

const ELLIPSIS = '…';

/** `text` cut to at most `maxBytes` bytes of UTF-8 (whole characters), ending in `…` when cut. */
export function capText(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text, 'utf8') <= maxBytes) return text;
  const budget = maxBytes - Buffer.byteLength(ELLIPSIS, 'utf8');
  let bytes = 0;
  let out = '';
  for (const ch of text) {
    const n = Buffer.byteLength(ch, 'utf8');
    if (bytes + n > budget) break;
    bytes += n;
    out += ch;
  }
  return out + ELLIPSIS;
}

/** The execution input as JSON text, capped (an input that cannot be serialized is described as such). */
export function inputText(input: unknown): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(input ?? {});
  } catch {
    json = undefined;
  }
  return capText(json ?? '"<input that is not JSON>"', HISTORY_TEXT_LIMITS.input);
}

/** The input's `startedBy`, when it is one the start handler accepts. */
export function startedByOf(input: unknown): string | undefined {
  const value = input && typeof input === 'object' && !Array.isArray(input) ? (input as Record<string, unknown>).startedBy : undefined;
  return typeof value === 'string' && STARTED_BY_PATTERN.test(value) ? value : undefined;
}

/** Stage timings as the history keeps them, as JSON text of at most the cap: stages left out from the middle if needed. */
export function stagesText(stages: readonly StageTiming[] | undefined): string {
  const list: HistoryStage[] = (stages ?? []).map((s) => ({
    name: capText(s.stage, 256),
    startedAt: s.startedAt,
    seconds: Math.max(0, (Date.parse(s.endedAt) - Date.parse(s.startedAt)) / 1000),
  }));
  const text = JSON.stringify(list);
  if (Buffer.byteLength(text, 'utf8') <= HISTORY_TEXT_LIMITS.stages) return text;
  // Keep stages from both ends, alternately, while they fit with a marker saying how many were left out.
  const sizes = list.map((st) => Buffer.byteLength(JSON.stringify(st), 'utf8') + 1);
  let budget = HISTORY_TEXT_LIMITS.stages - 2 - 160;
  let head = 0;
  let tail = 0;
  for (let fromHead = true; head + tail < list.length; fromHead = !fromHead) {
    const i = fromHead ? head : list.length - 1 - tail;
    if (sizes[i] > budget) break;
    budget -= sizes[i];
    if (fromHead) head++; else tail++;
  }
  const marker: HistoryStage = { name: `${ELLIPSIS} ${list.length - head - tail} stages left out`, startedAt: list[head].startedAt, seconds: 0 };
  return JSON.stringify([...list.slice(0, head), marker, ...list.slice(list.length - tail)]);
}

/** Seconds between two ISO 8601 times, or undefined when either is missing or the span is negative. */
function secondsBetween(from: string | undefined, to: string | undefined): number | undefined {
  if (!from || !to) return undefined;
  const seconds = (Date.parse(to) - Date.parse(from)) / 1000;
  return Number.isFinite(seconds) && seconds >= 0 ? seconds : undefined;
}

/** Whether a stage name is one of a shift step's ("Shift all traffic", "Shift 10% of traffic"). */
function isShiftStage(name: string): boolean {
  const m = /^Shift (\d+)% of traffic$/.exec(name);
  return name === STATE_NAMES.shift(100) || (m !== null && STATE_NAMES.shift(Number(m[1])) === name);
}

/**
 * When production traffic first moved to the new colour: the end of the execution's first shift
 * stage (the weight change had been made, and for Route 53 seen INSYNC or waited for).
 */
export function trafficMovedAt(state: CutoverState): string | undefined {
  if (!state.trafficMoved && !state.rollback) return undefined;
  return state.stages?.find((s) => isShiftStage(s.stage))?.endedAt;
}

/**
 * The derived times of an execution.
 *
 * - `timeToDetectSeconds`: from when production traffic first moved to the new colour (the end of
 *   the first shift stage, {@link trafficMovedAt}) to when the check-alarms handler saw the alarm
 *   in ALARM (`alarm.detectedAt`). Measured on the workflow's side, not from the alarm's own
 *   transition: it is how long bad traffic could flow before the workflow knew.
 * - `timeToRevertSeconds`: from the rollback's decision (`rollback.decidedAt`) to production
 *   traffic back on the previous colour (`rollback.trafficRestoredAt`).
 */
export function historyTimes(state: CutoverState): { timeToDetectSeconds?: number; timeToRevertSeconds?: number } {
  const detect = state.alarm ? secondsBetween(trafficMovedAt(state), state.alarm.detectedAt) : undefined;
  const revert = secondsBetween(state.rollback?.decidedAt, state.rollback?.trafficRestoredAt);
  return {
    ...(detect !== undefined ? { timeToDetectSeconds: detect } : {}),
    ...(revert !== undefined ? { timeToRevertSeconds: revert } : {}),
  };
}

/**
 * What one history item says, before it becomes DynamoDB attributes: an entry of the history
 * whose input is capped again here and whose stages are JSON text (see {@link stagesText}).
 */
export type HistoryRecord = Omit<ReleaseHistoryEntry, 'stages'> & { readonly stages: string };

/** The history record of an execution that ends through the workflow (release-lock), from its state. */
export function historyFromState(
  state: CutoverState,
  outcome: ReleaseOutcome,
  fleetId: string,
  endedAt: Date,
  live: Colour | undefined,
  failure: { error: string; cause: string } | undefined,
): HistoryRecord {
  const releases: Partial<Record<Colour, ColourRelease>> = {};
  if (state.live && state.liveRelease) releases[state.live] = state.liveRelease;
  if (state.target && state.targetRelease) releases[state.target] = state.targetRelease;
  const startedBy = startedByOf(state.input);
  const startedAt = state.stages?.find((s) => s.stage === STATE_NAMES.start)?.startedAt;
  return {
    fleetId,
    executionId: state.executionId,
    action: state.action ?? 'deploy',
    outcome,
    endedAt: endedAt.toISOString(),
    ...(startedAt ? { startedAt } : {}),
    ...(state.input !== undefined ? { input: inputText(state.input) } : {}),
    ...(startedBy ? { startedBy } : {}),
    ...(state.live ? { from: state.live } : {}),
    ...(state.target ? { to: state.target } : {}),
    ...(live ? { live } : {}),
    releases,
    ...(failure ? { error: failure.error, cause: failure.cause } : {}),
    ...(state.rollback?.reason ? { rollbackReason: state.rollback.reason } : {}),
    ...(state.alarm ? { alarm: state.alarm.name } : {}),
    ...historyTimes(state),
    stages: stagesText(state.stages),
  };
}

/** The history item (DynamoDB attributes) of a record; every free text capped (see HISTORY_TEXT_LIMITS). */
export function historyItem(r: HistoryRecord): Record<string, AttributeValue> {
  const L = HISTORY_TEXT_LIMITS;
  const s = (value: string | undefined, limit: number): AttributeValue | undefined => (value !== undefined ? { S: capText(value, limit) } : undefined);
  const n = (value: number | undefined): AttributeValue | undefined => (value !== undefined ? { N: String(value) } : undefined);
  const releases: Record<string, AttributeValue> = {};
  for (const [colour, release] of Object.entries(r.releases)) {
    if (release) releases[colour] = { M: { imageId: { S: capText(release.imageId, 256) }, version: { S: capText(release.version, 256) } } };
  }
  const attributes: Record<string, AttributeValue | undefined> = {
    [LOCK_PARTITION_KEY]: { S: historyItemKey(r.fleetId, r.endedAt, capText(r.executionId, L.executionId)) },
    [HISTORY_PARTITION_ATTRIBUTE]: { S: r.fleetId },
    [HISTORY_SORT_ATTRIBUTE]: { S: r.endedAt },
    startedAt: s(r.startedAt, 64),
    executionId: s(r.executionId, L.executionId),
    action: { S: r.action },
    outcome: { S: r.outcome },
    input: s(r.input, L.input),
    from: s(r.from, 16),
    to: s(r.to, 16),
    live: s(r.live, 16),
    releases: { M: releases },
    error: s(r.error, L.error),
    cause: s(r.cause, L.cause),
    rollbackReason: s(r.rollbackReason, L.rollbackReason),
    alarm: s(r.alarm, L.alarm),
    timeToDetectSeconds: n(r.timeToDetectSeconds),
    timeToRevertSeconds: n(r.timeToRevertSeconds),
    stages: { S: r.stages },
    startedBy: s(r.startedBy, L.startedBy),
  };
  return Object.fromEntries(Object.entries(attributes).filter(([, v]) => v !== undefined)) as Record<string, AttributeValue>;
}

function colourOf(value: AttributeValue | undefined): Colour | undefined {
  const c = value?.S;
  return c === Colour.BLUE || c === Colour.GREEN ? c : undefined;
}

/** A history item as the reader returns it. */
export function historyEntry(item: Record<string, AttributeValue>): ReleaseHistoryEntry {
  const str = (name: string) => item[name]?.S;
  const num = (name: string) => (item[name]?.N !== undefined ? Number(item[name].N) : undefined);
  const releases: Partial<Record<Colour, ColourRelease>> = {};
  for (const [colour, value] of Object.entries(item.releases?.M ?? {})) {
    if (colour === Colour.BLUE || colour === Colour.GREEN) {
      releases[colour] = { imageId: value.M?.imageId?.S ?? '', version: value.M?.version?.S ?? '' };
    }
  }
  let stages: HistoryStage[] = [];
  try {
    const parsed = JSON.parse(str('stages') ?? '[]') as unknown;
    if (Array.isArray(parsed)) stages = parsed as HistoryStage[];
  } catch {
    stages = [];
  }
  const optional = {
    startedAt: str('startedAt'),
    input: str('input'),
    startedBy: str('startedBy'),
    from: colourOf(item.from),
    to: colourOf(item.to),
    live: colourOf(item.live),
    error: str('error'),
    cause: str('cause'),
    rollbackReason: str('rollbackReason'),
    alarm: str('alarm'),
    timeToDetectSeconds: num('timeToDetectSeconds'),
    timeToRevertSeconds: num('timeToRevertSeconds'),
  };
  return {
    fleetId: str(HISTORY_PARTITION_ATTRIBUTE) ?? '',
    executionId: str('executionId') ?? '',
    action: str('action') === 'rollback' ? 'rollback' : 'deploy',
    outcome: (str('outcome') ?? 'failed') as ReleaseOutcome,
    endedAt: str(HISTORY_SORT_ATTRIBUTE) ?? '',
    ...Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== undefined)),
    releases,
    stages,
  };
}

/**
 * The fleet's last `limit` executions, newest first: a Query of the `History` index
 * (ScanIndexForward false), following pages until `limit` entries are read. The index is
 * eventually consistent: an execution that ended a moment ago may not be listed yet.
 */
export async function readHistory(dynamoDb: DynamoDBClient, tableName: string, fleetId: string, limit: number): Promise<ReleaseHistoryEntry[]> {
  if (!Number.isInteger(limit) || limit < 1) {
    throw new RangeError(`readHistory: limit must be a whole number of entries, 1 or more, got ${JSON.stringify(limit)}.`);
  }
  const entries: ReleaseHistoryEntry[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const out = await dynamoDb.send(new QueryCommand({
      TableName: tableName,
      IndexName: HISTORY_INDEX_NAME,
      KeyConditionExpression: '#of = :fleet',
      ExpressionAttributeNames: { '#of': HISTORY_PARTITION_ATTRIBUTE },
      ExpressionAttributeValues: { ':fleet': { S: fleetId } },
      ScanIndexForward: false,
      Limit: limit - entries.length,
      ExclusiveStartKey: start,
    }));
    for (const item of out.Items ?? []) entries.push(historyEntry(item));
    start = out.LastEvaluatedKey;
  } while (start && entries.length < limit);
  return entries.slice(0, limit);
}

/** The release an entry moved to (deploy) or back to (rollback): its version, else its image; '' if unknown. */
export function releaseLabel(e: ReleaseHistoryEntry): string {
  const colour = e.to ?? e.live;
  const release = colour ? e.releases[colour] : undefined;
  return release?.version ?? release?.imageId ?? '';
}

/** Why an execution did not succeed: the rollback's reason, else its error and cause; '' for a success. */
export function failureReason(e: ReleaseHistoryEntry): string {
  return e.rollbackReason ?? (e.outcome === 'succeeded' ? '' : [e.error, e.cause].filter(Boolean).join(': '));
}
