import { AttributeValue, DeleteItemCommand, DynamoDBClient, GetItemCommand, PutItemCommand, TransactWriteItemsCommand } from '@aws-sdk/client-dynamodb';
import {
  Colour,
  ColourRelease,
  CutoverErrorName,
  CutoverOutcome,
  CutoverState,
  LOCK_DELETE_RETRY,
  LOCK_PARTITION_KEY,
  otherColour,
  ReleaseLockPayload,
  RESULT_RECORD_KEY_SUFFIX,
  TRANSIENT_ERRORS,
} from '../../lib/private/contract';
import { BaseDeps, Sleep } from '../common/deps';
import { causeMessage } from '../common/errors';
import { isConditionFailure, lockItem, lockKey, LockItem, supersededBy } from '../common/lock';
import { logger } from '../common/logger';
import { switchName } from '../common/config';
import { STATE_NAMES } from '../../lib/private/stage-names';
import { beginStage } from '../common/stage';
import { historyFromState, historyItem } from '../common/history';

/** The console name of the stage for each outcome. */
export const STAGES: Record<CutoverOutcome, string> = {
  'succeeded': STATE_NAMES.release,
  'failed': STATE_NAMES.releaseAfterFailure,
  'rolled-back': STATE_NAMES.releaseAfterRollback,
};

/** `{ state, outcome }` with outcome 'succeeded', 'rolled-back' or 'failed'. */
export type ReleaseLockRequest = ReleaseLockPayload;
/**
 * The state; for 'rolled-back' and 'failed', `failure` holds the error and cause the Fail state
 * reports; for 'succeeded', `failure` is set only when the lock could not be released.
 */
export type ReleaseLockResponse = CutoverState;

export interface ReleaseLockDeps extends BaseDeps {
  readonly dynamoDb: DynamoDBClient;
  /** How the retry of a transient lock-delete failure waits (tests record the waits instead). */
  readonly sleep: Sleep;
}

/**
 * No retry of the lock's delete starts later than this after the handler started: half the
 * function's 60 s timeout, so a slow failure still ends in a described error, not a timeout.
 */
export const LOCK_DELETE_BUDGET_MS = 30_000;

const OUTCOMES: readonly CutoverOutcome[] = ['succeeded', 'rolled-back', 'failed'];

/**
 * Records the result (`<fleetId>#last`) in one transaction with a check that this execution still
 * holds the lock, then deletes the lock. An execution that no longer holds it (another took it
 * over) records nothing and throws Superseded: the holder records its own result. A retry of this
 * task after the lock was deleted finds its own result record and ends as the first attempt would.
 *
 * When moving traffic back failed (outcome 'rolled-back' without `rollback`), the lock is kept:
 * the recovery handler, invoked when this execution ends, moves traffic back once more, scales the
 * failed colour to zero and releases it.
 */
export async function releaseLock(request: ReleaseLockRequest, deps: ReleaseLockDeps): Promise<ReleaseLockResponse> {
  const { state, outcome } = request;
  const { config } = deps;
  if (!OUTCOMES.includes(outcome)) {
    throw new RangeError(`release-lock: outcome must be one of ${OUTCOMES.join(', ')}, got ${JSON.stringify(outcome)}.`);
  }
  const stage = STAGES[outcome];
  const run = beginStage(state, deps, stage);
  const { startedAt } = run;
  const described = outcome === 'succeeded' ? undefined : describeFailure(state, outcome, switchName(config));

  // The result record is for operators: failing to write it must not keep the lock. Only an
  // execution that holds the lock writes it (one transaction).
  const held = await recordResult(state, deps, [
    resultRecord(state, outcome, config.fleetId, startedAt, described),
    historyItem(historyFromState(state, outcome, config.fleetId, startedAt, servingColour(state, outcome), described)),
  ]);
  if (held === 'released-by-me') {
    logger.info('A retry: this execution already recorded its result and released the lock');
    return run.done({ ...(described ? { failure: described } : {}) });
  }
  if (held !== 'mine') {
    logger.warn('Another execution holds the lock: recording nothing, changing nothing', { holder: held ?? null });
    throw supersededBy(config, held, 'record a result or release the lock');
  }

  if (outcome === 'rolled-back' && !state.rollback) {
    // Moving traffic back failed: keep the lock, so no cutover starts on a fleet whose traffic may
    // still reach the failed colour, and so the recovery handler moves it back when this ends.
    logger.error('Moving traffic back failed: keeping the lock for the recovery handler');
    return run.done({
      ...(described ? { failure: { error: described.error, cause: `${described.cause} The recovery handler tries once more when this execution ends: it moves all traffic back to ${state.live ?? 'the previous colour'} if that colour is healthy, scales the other to zero and releases the lock.` } } : {}),
    });
  }

  if (state.warmLockHandBack && !state.trafficMoved) {
    // A rollback that moved nothing gives the lock back to the cutover it took it from.
    const handedBack = await handBackWarmLock(state, deps);
    if (handedBack) {
      return run.done({ ...(described ? { failure: described } : {}) });
    }
  }

  // A lock that cannot be deleted (after the client's attempts, and for a transient error the
  // handler's own retries) does not hide what the cutover did: the failure says both, and the
  // lock expires with its lease.
  let lockProblem: string | undefined;
  try {
    await deleteLock(state.executionId, deps, startedAt);
    logger.info('Lock released', { outcome });
  } catch (e) {
    if (isConditionFailure(e)) {
      logger.info('The lock was already released or is held by another execution: leaving it', { holder: lockItem(e.Item) ?? null });
    } else {
      lockProblem = errorText(e);
      logger.error('Could not release the lock', { error: lockProblem });
    }
  }

  const failure = lockProblem ? withLockProblem(state, outcome, described, lockProblem, config.lockTableName, config.fleetId) : described;
  return run.done({
    ...(failure ? { failure } : {}),
  });
}

/**
 * Writes the result record and the history item if this execution holds the lock. Returns 'mine'
 * when it does (whether or not the records could be written), 'released-by-me' when the lock is
 * gone and the result record is this execution's (a retried task), otherwise the lock as another
 * holder has it. The result record's put is conditional on not being this execution's already: a
 * retry of a task whose transaction went through (its answer lost) writes no second history item.
 */
async function recordResult(
  state: CutoverState,
  deps: ReleaseLockDeps,
  [record, history]: [Record<string, AttributeValue>, Record<string, AttributeValue>],
): Promise<'mine' | 'released-by-me' | LockItem | undefined> {
  const { config } = deps;
  try {
    await deps.dynamoDb.send(new TransactWriteItemsCommand({
      TransactItems: [
        {
          ConditionCheck: {
            TableName: config.lockTableName,
            Key: lockKey(config.fleetId),
            ConditionExpression: '#owner = :me',
            ExpressionAttributeNames: { '#owner': 'owner' },
            ExpressionAttributeValues: { ':me': { S: state.executionId } },
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          },
        },
        {
          Put: {
            TableName: config.lockTableName,
            Item: record,
            ConditionExpression: 'attribute_not_exists(#pk) OR executionId <> :me',
            ExpressionAttributeNames: { '#pk': LOCK_PARTITION_KEY },
            ExpressionAttributeValues: { ':me': { S: state.executionId } },
          },
        },
        { Put: { TableName: config.lockTableName, Item: history } },
      ],
    }));
    return 'mine';
  } catch (e) {
    const reasons = (e as { name?: string; CancellationReasons?: Array<{ Code?: string; Item?: Record<string, AttributeValue> }> });
    const cancelled = reasons.name === 'TransactionCanceledException' ? reasons.CancellationReasons : undefined;
    const lockReason = cancelled?.[0];
    if (lockReason?.Code !== 'ConditionalCheckFailed' && cancelled?.[1]?.Code === 'ConditionalCheckFailed') {
      logger.info('A retry: this execution already recorded its result and its history; releasing the lock');
      return 'mine';
    }
    if (lockReason?.Code !== 'ConditionalCheckFailed') {
      logger.warn('Could not write the result record: releasing the lock anyway', { error: errorText(e) });
      return 'mine';
    }
  }
  // Not the holder: a retry of this task after it released the lock, or another execution's lock.
  const [lock, last] = await Promise.all([lockKey(config.fleetId), { [LOCK_PARTITION_KEY]: { S: `${config.fleetId}${RESULT_RECORD_KEY_SUFFIX}` } }]
    .map((Key) => deps.dynamoDb.send(new GetItemCommand({ TableName: config.lockTableName, Key, ConsistentRead: true }))));
  const holder = lockItem(lock.Item);
  if (!holder && last.Item?.executionId?.S === state.executionId) return 'released-by-me';
  return holder;
}

/**
 * Puts back the lock item of the cutover a rollback took over while it kept its previous colour
 * warm, if this execution still holds the lock. True when it did.
 */
async function handBackWarmLock(state: CutoverState, deps: ReleaseLockDeps): Promise<boolean> {
  let item: Record<string, AttributeValue>;
  try {
    item = JSON.parse(state.warmLockHandBack!) as Record<string, AttributeValue>;
  } catch {
    return false;
  }
  try {
    await deps.dynamoDb.send(new PutItemCommand({
      TableName: deps.config.lockTableName,
      Item: item,
      ConditionExpression: '#owner = :me',
      ExpressionAttributeNames: { '#owner': 'owner' },
      ExpressionAttributeValues: { ':me': { S: state.executionId } },
    }));
    logger.info('Handed the lock back to the cutover keeping its previous colour warm', { owner: item.owner?.S });
    return true;
  } catch (e) {
    if (isConditionFailure(e)) return false;
    logger.warn('Could not hand the lock back: releasing it', { error: errorText(e) });
    return false;
  }
}

/**
 * Deletes the lock if this execution holds it. A transient error (a 5xx or a timeout that
 * outlasted the SDK client's attempts) is tried again ({@link LOCK_DELETE_RETRY}): the task's own
 * transient retrier never sees it, since the handler describes a lock it cannot delete instead
 * of failing. A retry after a delete that went through but was answered with an error finds the
 * condition failing, which the caller takes as released.
 */
async function deleteLock(executionId: string, deps: ReleaseLockDeps, startedAt: Date): Promise<void> {
  const { config } = deps;
  for (let retry = 0; ; retry++) {
    try {
      await deps.dynamoDb.send(new DeleteItemCommand({
        TableName: config.lockTableName,
        Key: { [LOCK_PARTITION_KEY]: { S: config.fleetId } },
        ConditionExpression: '#owner = :me',
        ExpressionAttributeNames: { '#owner': 'owner' },
        ExpressionAttributeValues: { ':me': { S: executionId } },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }));
      return;
    } catch (e) {
      const r = LOCK_DELETE_RETRY;
      const waitMs = Math.min(r.maxDelaySeconds, r.intervalSeconds * r.backoffRate ** retry) * 1000;
      const transient = TRANSIENT_ERRORS.includes((e as Error | undefined)?.name ?? '');
      const inBudget = deps.now().getTime() - startedAt.getTime() + waitMs <= LOCK_DELETE_BUDGET_MS;
      if (!transient || retry >= r.maxAttempts || !inBudget) throw e;
      logger.warn('Deleting the lock failed with a transient error: trying again', { error: errorText(e), retry: retry + 1, waitMs });
      await deps.sleep(waitMs);
    }
  }
}

function errorText(e: unknown): string {
  const err = e as { name?: string; message?: string } | undefined;
  return `${err?.name ?? 'Error'}: ${err?.message ?? String(e)}`;
}

/**
 * The failure to report when the lock could not be deleted: after a success, LockReleaseFailed
 * saying what serves; otherwise the cutover's own error, its cause extended.
 */
export function withLockProblem(
  state: CutoverState,
  outcome: CutoverOutcome,
  described: { error: string; cause: string } | undefined,
  problem: string,
  table: string,
  fleetId: string,
): { error: string; cause: string } {
  const held = `The lock (item '${fleetId}' of the table ${table}) is released when this execution ends: by the recovery handler (the EventBridge rule on its FAILED status), or else by the next cutover, which takes over a lock whose execution no longer runs.`;
  if (outcome === 'succeeded' || !described) {
    const serving = servingColour(state, outcome);
    return {
      error: CutoverErrorName.LOCK_RELEASE_FAILED,
      cause: `The cutover succeeded${serving ? `: ${serving} serves all traffic` : ''}. Then releasing the lock failed (${problem}). ${held}`,
    };
  }
  return { error: described.error, cause: `${described.cause.replace(/\.?$/, '.')} Releasing the lock failed too (${problem}). ${held}` };
}

/** The colour serving production traffic at the end, as this execution left it. */
function servingColour(state: CutoverState, outcome: CutoverOutcome): Colour | undefined {
  return outcome === 'succeeded' ? state.target ?? state.live : state.live;
}

function resultRecord(
  state: CutoverState,
  outcome: CutoverOutcome,
  fleetId: string,
  endedAt: Date,
  failure: { error: string; cause: string } | undefined,
): Record<string, AttributeValue> {
  const releases: Record<string, AttributeValue> = {};
  const add = (colour: Colour | undefined, release: ColourRelease | undefined) => {
    if (colour && release) releases[colour] = { M: { imageId: { S: release.imageId }, version: { S: release.version } } };
  };
  add(state.live, state.liveRelease);
  add(state.target, state.targetRelease);
  const live = servingColour(state, outcome);
  return {
    [LOCK_PARTITION_KEY]: { S: `${fleetId}${RESULT_RECORD_KEY_SUFFIX}` },
    outcome: { S: outcome },
    executionId: { S: state.executionId },
    action: { S: state.action ?? 'deploy' },
    ...(live ? { live: { S: live } } : {}),
    releases: { M: releases },
    endedAt: { S: endedAt.toISOString() },
    ...(failure ? { error: { S: failure.error }, cause: { S: failure.cause } } : {}),
  };
}

/** The error and cause an operator reads on the failed execution. */
export function describeFailure(
  state: CutoverState,
  outcome: Exclude<CutoverOutcome, 'succeeded'>,
  where = 'the production rule',
): { error: string; cause: string } {
  const live = state.live;
  const target = state.target ?? (live ? otherColour(live) : undefined);
  const cleanup = state.cleanupError
    ? `scaling ${target ?? 'the new colour'} to zero failed (${causeMessage(state.cleanupError.Cause)}): scale it down by hand`
    : undefined;
  if (outcome === 'failed') {
    const cause = state.error ? causeMessage(state.error.Cause) : 'The cutover failed without a recorded error; see the execution history.';
    return {
      error: state.error?.Error ?? 'Failed',
      cause: cleanup ? `${cause.replace(/\.?$/, '.')} Then ${cleanup}.` : cause,
    };
  }

  const why = state.alarm
    ? `Alarm${state.alarm.name.includes(', ') ? 's' : ''} ${state.alarm.name} in ALARM at ${state.alarm.detectedAt}`
    : state.error
      ? `${state.error.Error} after traffic moved (${causeMessage(state.error.Cause)})`
      : `Rolled back (${state.rollback?.reason ?? 'no reason recorded'})`;
  const rb = state.rollback;
  if (!rb) {
    // "Move traffic back" itself failed: say so loudly, the fleet needs a hand.
    const failedWith = state.rollbackError ? ` (${state.rollbackError.Error}: ${causeMessage(state.rollbackError.Cause)})` : '';
    return {
      error: CutoverErrorName.ROLLBACK_FAILED,
      cause: `${why}; moving traffic back to ${live} failed${failedWith}: ${where} may still send traffic to ${target}. ` +
        `Set ${where.startsWith('the Route 53') ? 'their' : 'its'} weights by hand (${live} 100, ${target} 0), then scale ${target} to zero.`,
    };
  }
  let traffic: string;
  if (rb.trafficRestoredAt && rb.revertCallMs !== undefined) {
    const seconds = (Date.parse(rb.trafficRestoredAt) - Date.parse(rb.decidedAt)) / 1000;
    const dns = rb.dnsInSync === undefined ? ''
      : rb.dnsInSync
        ? `, Route 53 change INSYNC after ${((rb.dnsSyncMs ?? 0) / 1000).toFixed(1)} s; clients follow within the record TTL`
        : `, Route 53 change not yet INSYNC after ${((rb.dnsSyncMs ?? 0) / 1000).toFixed(1)} s`;
    traffic = `traffic back on ${live} ${seconds.toFixed(1)} s after ${state.alarm ? 'detection' : 'the failure'} (revert call took ${rb.revertCallMs} ms${dns})`;
  } else if (rb.trafficRestoredAt) {
    traffic = `traffic was already back on ${live} at ${rb.trafficRestoredAt}`;
  } else {
    traffic = `traffic back on ${live}`;
  }
  const scaled = target && state.scaledToZero?.includes(target)
    ? `${target} scaled to zero`
    : cleanup ?? `${target ?? 'the failed colour'} was not scaled to zero: scale it down once you have looked at it`;
  return { error: CutoverErrorName.ROLLED_BACK, cause: `${why}; ${traffic}; ${scaled}.` };
}
