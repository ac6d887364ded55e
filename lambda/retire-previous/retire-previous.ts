import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { CutoverState, LOCK_ATTRIBUTES, LOCK_PARTITION_KEY, LockPhase } from '../../lib/private/contract';
import { BaseDeps } from '../common/deps';
import { FleetStateConflict, NewColourUnhealthy } from '../common/errors';
import { assessColour, colours, describeColourHealth, stillServing, withColour } from '../common/fleet';
import { isConditionFailure, lockItem, previousRecordKey, requireLock, supersededBy } from '../common/lock';
import { logger } from '../common/logger';
import { scaleColourToZero, TrafficClients } from '../common/traffic';
import { STATE_NAMES } from '../../lib/private/stage-names';
import { beginStage } from '../common/stage';

export const STAGE = STATE_NAMES.retire;

/** The state after "Keep the previous colour warm" and its wait. */
export type RetirePreviousRequest = CutoverState;
/** The state with the live (previous) colour in scaledToZero. Throws Superseded when the lock is no longer this execution's. */
export type RetirePreviousResponse = CutoverState;

export interface RetirePreviousDeps extends BaseDeps, TrafficClients {
  readonly dynamoDb: DynamoDBClient;
  readonly autoScaling: AutoScalingClient;
}

/**
 * Ends the warm period: moves the lock from KeepingWarm to Retiring (a retry finds it
 * Retiring already and writes nothing), marks this execution's previous-colour record retired,
 * then scales the previous colour to zero. If a rollback execution took
 * the lock over meanwhile, changes nothing and throws Superseded. From the Retiring write on, a stop
 * of this execution leaves all traffic on the new colour (`restoreTo`).
 *
 * Before scaling anything it looks at the new colour's health once more (the warm period is not
 * watched). If the new colour no longer serves, nothing is retired: with the previous colour still
 * healthy it throws NewColourUnhealthy, which the state machine catches into "Move traffic back"
 * (traffic to the warm previous colour, the new one to zero, `RolledBack`); with the previous colour
 * not healthy either it throws FleetStateConflict: nothing is moved or scaled, the cutover fails and
 * an operator decides.
 */
export async function retirePrevious(state: RetirePreviousRequest, deps: RetirePreviousDeps): Promise<RetirePreviousResponse> {
  const { config } = deps;
  const run = beginStage(state, deps, STAGE);
  const { live, target: newColour } = colours(state);

  // A rollback may have taken the fleet over during the warm period: then nothing here is ours.
  await requireLock(deps, state.executionId, `scale ${live} to zero`);
  // The new colour's health first (reads only): a new colour that no longer serves goes back to
  // the warm previous colour, and until then a stop of this execution does too.
  const target = newColour;
  const seen = await assessColour(deps.autoScaling, deps.elbv2, config.colours[target]);
  if (!stillServing(seen)) {
    const newHealth = `The new colour ${target} is no longer healthy after the warm period: ${describeColourHealth(seen, target)}`;
    const previous = await assessColour(deps.autoScaling, deps.elbv2, config.colours[live]);
    if (previous.healthy) {
      const unhealthy = new NewColourUnhealthy(`${newHealth}. The previous colour ${live} was not scaled down and is healthy: rolling back to it.`);
      logger.error(unhealthy.message, { errorName: unhealthy.name, failing: seen.failing });
      throw unhealthy;
    }
    throw new FleetStateConflict(
      `${newHealth}. The previous colour ${live} is not healthy either (${describeColourHealth(previous, live)}), so traffic was not moved ` +
      `back to it and neither colour was scaled down: production traffic still goes to ${target}. Repair one colour, then start a cutover to it.`,
    );
  }

  // Then the lock: Retiring, and from here on a stop leaves all traffic on the new colour.
  try {
    await deps.dynamoDb.send(new UpdateItemCommand({
      TableName: config.lockTableName,
      Key: { [LOCK_PARTITION_KEY]: { S: config.fleetId } },
      UpdateExpression: 'SET phase = :retiring, #restoreTo = :new',
      ConditionExpression: '#owner = :me AND phase = :warm',
      ExpressionAttributeNames: { '#owner': 'owner', '#restoreTo': LOCK_ATTRIBUTES.restoreTo },
      ExpressionAttributeValues: {
        ':me': { S: state.executionId },
        ':warm': { S: LockPhase.KEEPING_WARM },
        ':retiring': { S: LockPhase.RETIRING },
        ':new': { S: newColour },
      },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    }));
  } catch (e) {
    if (!isConditionFailure(e)) throw e;
    const held = lockItem(e.Item);
    if (held?.owner === state.executionId && held.phase === LockPhase.RETIRING) {
      // A retried task: the lock already says Retiring; finish the scale-down.
      logger.info('The lock is already Retiring');
    } else {
      logger.warn('Another execution took the lock over: the previous colour is left to it', { holder: held ?? null });
      throw supersededBy(config, held, `scale ${live} to zero`);
    }
  }

  // Before the scale-down: from here on no rollback may move traffic to this colour.
  await retirePreviousRecord(state, deps);
  const change = await scaleColourToZero(deps, config, live);
  logger.info('Previous colour scaled to zero', { colour: live, changed: change.changed, before: change.before });
  return run.done({
    scaledToZero: withColour(state.scaledToZero, live),
  });
}

/**
 * Marks the record of the colour this execution left retired. Only the record this execution
 * wrote: a missing record, or one another execution wrote, is left as it is.
 */
async function retirePreviousRecord(state: RetirePreviousRequest, deps: RetirePreviousDeps): Promise<void> {
  try {
    await deps.dynamoDb.send(new UpdateItemCommand({
      TableName: deps.config.lockTableName,
      Key: previousRecordKey(deps.config.fleetId),
      UpdateExpression: 'SET retired = :true, retiredAt = :at',
      ConditionExpression: 'executionId = :me AND retired = :false',
      ExpressionAttributeValues: {
        ':me': { S: state.executionId },
        ':true': { BOOL: true },
        ':false': { BOOL: false },
        ':at': { S: deps.now().toISOString() },
      },
    }));
    logger.info('Previous colour record retired', { colour: state.live });
  } catch (e) {
    if (!isConditionFailure(e)) throw e;
    logger.info('No unretired previous colour record of this execution: leaving the record as it is');
  }
}
