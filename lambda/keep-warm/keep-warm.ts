import { DynamoDBClient, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { CutoverState, LOCK_PARTITION_KEY, LockPhase } from '../../lib/private/contract';
import { BaseDeps } from '../common/deps';
import { colours, isoPlusSeconds } from '../common/fleet';
import { isConditionFailure, lockItem, previousRecordItem, supersededBy } from '../common/lock';
import { logger } from '../common/logger';
import { beginStage } from '../common/stage';
import { STATE_NAMES } from '../../lib/private/stage-names';

export const STAGE = STATE_NAMES.keepWarm;

/** The state after a successful bake. */
export type KeepWarmRequest = CutoverState;
/** The state with warmUntil set. Throws Superseded when the lock is no longer this execution's. */
export type KeepWarmResponse = CutoverState;

export interface KeepWarmDeps extends BaseDeps {
  readonly dynamoDb: DynamoDBClient;
}

/**
 * Marks the lock KeepingWarm until now + warmSeconds, so a `{"action": "rollback"}` execution
 * may take it over while the previous colour still runs, then records which colour traffic left
 * and what it runs (`<fleetId>#previous`): the only colour such a rollback may move traffic to.
 * The record is written only after the lock update confirmed that this execution still holds the
 * lock. A retry finds the lock already KeepingWarm, keeps its warmUntil and writes the same record.
 */
export async function keepWarm(state: KeepWarmRequest, deps: KeepWarmDeps): Promise<KeepWarmResponse> {
  const { config } = deps;
  const run = beginStage(state, deps, STAGE);
  const warmUntil = isoPlusSeconds(run.startedAt, config.warmSeconds);
  const done = (extra: Partial<CutoverState>): KeepWarmResponse => run.done(extra);

  try {
    await deps.dynamoDb.send(new UpdateItemCommand({
      TableName: config.lockTableName,
      Key: { [LOCK_PARTITION_KEY]: { S: config.fleetId } },
      UpdateExpression: 'SET phase = :warm, warmUntil = :until',
      ConditionExpression: '#owner = :me AND phase <> :warm',
      ExpressionAttributeNames: { '#owner': 'owner' },
      ExpressionAttributeValues: {
        ':me': { S: state.executionId },
        ':warm': { S: LockPhase.KEEPING_WARM },
        ':until': { S: warmUntil },
      },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    }));
  } catch (e) {
    if (!isConditionFailure(e)) throw e;
    const held = lockItem(e.Item);
    if (held?.owner === state.executionId && held.phase === LockPhase.KEEPING_WARM) {
      logger.info('The lock is already KeepingWarm', { warmUntil: held.warmUntil });
      await recordPrevious(state, deps);
      return done({ warmUntil: held.warmUntil ?? warmUntil });
    }
    logger.warn('The lock is no longer this execution\'s: leaving the fleet to its holder', { holder: held ?? null });
    throw supersededBy(config, held, 'keep the previous colour warm');
  }
  logger.info('Keeping the previous colour warm', { warmUntil });
  await recordPrevious(state, deps);
  return done({ warmUntil });
}

/**
 * Records the colour traffic left (the state's live colour) and the release it runs, as "Find
 * the live colour" read it. Its target has passed the health checks, the smoke tests and the bake.
 */
async function recordPrevious(state: KeepWarmRequest, deps: KeepWarmDeps): Promise<void> {
  if (!state.live || !state.target || !state.liveRelease) {
    // Never the case after "Find the live colour"; without a record no rollback trusts the colour.
    logger.warn('No previous colour or release in the state: a rollback to it will be refused', { live: state.live ?? null });
    return;
  }
  const { live, target } = colours(state);
  await deps.dynamoDb.send(new PutItemCommand({
    TableName: deps.config.lockTableName,
    Item: previousRecordItem(deps.config.fleetId, {
      colour: live,
      release: state.liveRelease,
      live: target,
      executionId: state.executionId,
      recordedAt: deps.now().toISOString(),
    }),
  }));
  logger.info('Recorded the previous colour', { previous: live, release: state.liveRelease });
}
