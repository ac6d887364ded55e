import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { AttributeValue, DeleteItemCommand, DynamoDBClient, GetItemCommand, PutItemCommand, TransactWriteItemsCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import {
  Colour,
  CutoverState,
  ExecutionStoppedEvent,
  FleetConfig,
  LOCK_ATTRIBUTES,
  LOCK_EXPIRY_ATTRIBUTE,
  LOCK_PARTITION_KEY,
  LockPhase,
  otherColour,
  RECOVERY_OWNER_PREFIX,
  RecoveryReport,
  RESULT_RECORD_KEY_SUFFIX,
} from '../../lib/private/contract';
import { parseFleetConfig } from '../common/config';
import { BaseDeps, Sleep } from '../common/deps';
import { FleetStateConflict } from '../common/errors';
import { assessColour, colourAtFull, describeColourHealth, RuleWeights, stillServing, weightsFor } from '../common/fleet';
import { isConditionFailure, lockItem, lockKey, previousRecordKey, requireLock } from '../common/lock';
import { logger, setLogContext } from '../common/logger';
import { readProductionWeights, scaleColourToZero, setProductionWeights, switchName, TrafficClients } from '../common/traffic';
import { MetricClients, publishTrafficWeights } from '../common/traffic-metric';
import { STATE_NAMES } from '../../lib/private/stage-names';
import { beginStage } from '../common/stage';
import { HistoryRecord, historyItem, startedByOf } from '../common/history';

export const STAGE = STATE_NAMES.recover;

/** How long the recovery handler holds a lock it took from a stopped execution. */
export const RECOVERY_LEASE_SECONDS = 600;

/** What the recovery needs, without the fleet configuration (it comes from the lock or the state). */
export interface RecoverClients extends TrafficClients, MetricClients {
  readonly dynamoDb: DynamoDBClient;
  readonly autoScaling: AutoScalingClient;
  readonly now: () => Date;
  /** How the Route 53 INSYNC wait sleeps (tests move a clock instead). */
  readonly sleep?: Sleep;
}

export type RecoverDeps = RecoverClients & BaseDeps;

/** What the EventBridge path did. */
export interface StoppedExecutionResult {
  /** 'recovered', or 'nothing' when the execution did not hold the lock (it ended on its own paths, or another took over). */
  readonly outcome: 'recovered' | 'nothing';
  readonly report?: RecoveryReport;
  readonly reason?: string;
}

/**
 * Puts traffic where a stop of the execution leaves it: all of it on `restoreTo` (one call, none
 * if it is there already), when that colour still serves. If it does not, and the other colour
 * has traffic and serves (it passed the health checks and the smoke tests before any traffic moved
 * to it), all traffic goes there instead. Otherwise nothing moves and the report names the problem.
 * Reads only, then at most one mutating call.
 */
async function restoreTraffic(
  deps: RecoverDeps,
  restoreTo: Colour | undefined,
): Promise<{ live?: Colour; trafficMoved: boolean; weightsBefore: RuleWeights; problem?: string }> {
  const { config } = deps;
  const weights = await readProductionWeights(deps, config);
  const atFull = colourAtFull(weights);
  if (!restoreTo) {
    // Stopped before "Find the live colour" recorded anything: nothing was changed.
    return atFull
      ? { live: atFull, trafficMoved: false, weightsBefore: weights }
      : { trafficMoved: false, weightsBefore: weights, problem: `${switchName(config)} split traffic (blue ${weights.blue}%, green ${weights.green}%) and the stopped execution recorded no colour to restore` };
  }
  if (atFull === restoreTo) return { live: restoreTo, trafficMoved: false, weightsBefore: weights };

  const choices: Colour[] = [restoreTo];
  if (weights[otherColour(restoreTo)] > 0) choices.push(otherColour(restoreTo));
  const seen: string[] = [];
  for (const colour of choices) {
    const health = await assessColour(deps.autoScaling, deps.elbv2, config.colours[colour]);
    if (!stillServing(health)) {
      seen.push(describeColourHealth(health, colour));
      continue;
    }
    if (atFull === colour) return { live: colour, trafficMoved: false, weightsBefore: weights };
    const change = await setProductionWeights(deps, config, weightsFor(colour, 100), { now: deps.now, sleep: deps.sleep });
    logger.warn('Production traffic restored', { live: colour, before: weights, changed: change.changed, callMs: change.callMs, inSync: change.inSync });
    // Only once traffic is restored; a failed metric is only a warning.
    await publishTrafficWeights(deps, config, weightsFor(colour, 100));
    return { live: colour, trafficMoved: change.changed, weightsBefore: weights };
  }
  return {
    trafficMoved: false,
    weightsBefore: weights,
    problem: `no colour to give all traffic to serves: ${seen.join('; ')}. Traffic was left as it is (blue ${weights.blue}%, green ${weights.green}%)`,
  };
}

/**
 * After traffic is on `live`: the other colour to zero (listener rule switch only: with Route 53,
 * resolvers still hold answers for a few TTLs, and the next cutover's "Prepare" starts that colour
 * afresh anyway), and the previous-colour record retired: no rollback is left to go to.
 */
async function settle(deps: RecoverDeps, live: Colour): Promise<Colour[]> {
  const { config } = deps;
  const other = otherColour(live);
  const scaled: Colour[] = [];
  if (!config.route53) {
    const change = await scaleColourToZero(deps, config, other);
    logger.info('Scaled to zero', { colour: other, changed: change.changed });
    scaled.push(other);
  }
  try {
    await deps.dynamoDb.send(new UpdateItemCommand({
      TableName: config.lockTableName,
      Key: previousRecordKey(config.fleetId),
      UpdateExpression: 'SET retired = :true, retiredAt = :at',
      ConditionExpression: 'retired = :false',
      ExpressionAttributeValues: { ':true': { BOOL: true }, ':false': { BOOL: false }, ':at': { S: deps.now().toISOString() } },
    }));
    logger.info('Previous colour record retired');
  } catch (e) {
    if (!isConditionFailure(e)) throw e;
  }
  return scaled;
}

/**
 * "Recover the stopped execution": this execution took the lock over from one that no longer runs
 * (or whose lease expired). Puts the fleet back as a stop leaves it before this execution goes
 * on; FleetStateConflict (the cutover fails, nothing else changes) when no colour can take all
 * traffic.
 */
export async function recoverTakenOver(state: CutoverState, deps: RecoverDeps): Promise<CutoverState> {
  const run = beginStage(state, deps, STAGE);
  const stopped = state.takenOver;
  if (!stopped) throw new TypeError('recover: the state has no takenOver lock: this task runs only after the start handler took a lock over.');
  await requireLock(deps, state.executionId, 'recover the fleet');
  const restored = await restoreTraffic(deps, stopped.restoreTo);
  if (!restored.live) {
    throw new FleetStateConflict(
      `Took the lock over from execution ${stopped.owner} (${stopped.ownerStatus}), but ${restored.problem}. ` +
      'Repair one colour and set the weights by hand (100 for the colour that should serve, 0 for the other), then start again.',
    );
  }
  const scaledToZero = await settle(deps, restored.live);
  const recovered: RecoveryReport = {
    executionId: stopped.owner,
    status: stopped.ownerStatus,
    live: restored.live,
    trafficMoved: restored.trafficMoved,
    weightsBefore: restored.weightsBefore,
    scaledToZero,
  };
  logger.warn('Recovered the fleet from the stopped execution', { ...recovered });
  return run.done({ recovered });
}

/**
 * The EventBridge path: `event.executionArn` ended ABORTED, TIMED_OUT or FAILED. If it still holds
 * its fleet's lock (it did not end through the workflow's own paths), puts the fleet back as a stop
 * leaves it, records the result and releases the lock. Traffic is restored first, with one call,
 * before anything is written; then the lock is claimed (`recovery:<arn>`, a short lease) so no
 * cutover starts while the other colour is scaled down. An event for an execution that does not
 * hold the lock changes nothing.
 */
export async function recoverStoppedExecution(event: ExecutionStoppedEvent, clients: RecoverClients): Promise<StoppedExecutionResult> {
  const startedAt = clients.now();
  const table = event.lockTableName;
  const recoveryOwner = `${RECOVERY_OWNER_PREFIX}${event.executionArn}`;
  setLogContext({ executionId: event.executionArn }, { fleetId: event.fleetId }, STAGE);
  const out = await clients.dynamoDb.send(new GetItemCommand({ TableName: table, Key: lockKey(event.fleetId), ConsistentRead: true }));
  const held = lockItem(out.Item);
  if (held?.owner !== event.executionArn && held?.owner !== recoveryOwner) {
    logger.info('The execution does not hold the lock: nothing to recover', { status: event.status, holder: held?.owner ?? null });
    return { outcome: 'nothing', reason: held?.owner ? `the lock is held by ${held.owner}` : 'the lock is not held' };
  }
  if (!held.config) {
    logger.error('The lock carries no fleet configuration: the fleet cannot be recovered automatically; the lock expires with its lease');
    return { outcome: 'nothing', reason: 'the lock carries no fleet configuration' };
  }
  const config: FleetConfig = parseFleetConfig(held.config, 'the lock item');
  const deps: RecoverDeps = { ...clients, config };

  const restored = await restoreTraffic(deps, held.restoreTo);
  try {
    await clients.dynamoDb.send(new UpdateItemCommand({
      TableName: table,
      Key: lockKey(event.fleetId),
      UpdateExpression: 'SET #owner = :rec, phase = :recovering, #exp = :exp, #from = :stopped',
      ConditionExpression: '#owner = :stopped OR #owner = :rec',
      ExpressionAttributeNames: { '#owner': 'owner', '#exp': LOCK_EXPIRY_ATTRIBUTE, '#from': LOCK_ATTRIBUTES.recoveringFrom },
      ExpressionAttributeValues: {
        ':rec': { S: recoveryOwner },
        ':stopped': { S: event.executionArn },
        ':recovering': { S: LockPhase.RECOVERING },
        ':exp': { N: String(Math.floor(startedAt.getTime() / 1000) + RECOVERY_LEASE_SECONDS) },
      },
    }));
  } catch (e) {
    if (!isConditionFailure(e)) throw e;
    // A new execution took the lock over meanwhile: it recovers the fleet itself.
    logger.info('Another execution took the lock over: it recovers the fleet');
    return { outcome: 'nothing', reason: 'another execution took the lock over' };
  }

  const scaledToZero = restored.live ? await settle(deps, restored.live) : [];
  const report: RecoveryReport = {
    executionId: event.executionArn,
    status: event.status,
    ...(restored.live ? { live: restored.live } : {}),
    trafficMoved: restored.trafficMoved,
    weightsBefore: restored.weightsBefore,
    scaledToZero,
    ...(restored.problem ? { problem: restored.problem } : {}),
  };
  const cause = describeRecovery(report, config);
  const result: Record<string, AttributeValue> = {
    [LOCK_PARTITION_KEY]: { S: `${event.fleetId}${RESULT_RECORD_KEY_SUFFIX}` },
    outcome: { S: 'stopped' },
    executionId: { S: event.executionArn },
    status: { S: event.status },
    ...(report.live ? { live: { S: report.live } } : {}),
    endedAt: { S: startedAt.toISOString() },
    recoveredAt: { S: clients.now().toISOString() },
    cause: { S: cause },
  };
  try {
    // The last result, if it is this execution's already: a retry of this invocation wrote it (and
    // the history item), or the execution ended through its own paths with the lock kept (moving
    // traffic back failed), and release-lock recorded its history. Either way, no second history item.
    // (This handler holds the lock under its recovery owner meanwhile: nobody else writes these.)
    const last = await clients.dynamoDb.send(new GetItemCommand({ TableName: table, Key: { [LOCK_PARTITION_KEY]: { S: `${event.fleetId}${RESULT_RECORD_KEY_SUFFIX}` } }, ConsistentRead: true }));
    const recorded = last.Item?.executionId?.S === event.executionArn;
    if (recorded && last.Item?.outcome?.S === 'stopped') {
      logger.info('A retry: the result and the history of this stop are recorded already');
    } else if (recorded) {
      await clients.dynamoDb.send(new PutItemCommand({ TableName: table, Item: result }));
    } else {
      const history = historyItem(stoppedHistory(event, held.phase, out.Item ?? {}, report, startedAt, cause));
      await clients.dynamoDb.send(new TransactWriteItemsCommand({
        TransactItems: [{ Put: { TableName: table, Item: result } }, { Put: { TableName: table, Item: history } }],
      }));
    }
  } catch (e) {
    logger.warn('Could not write the result record and the history: releasing the lock anyway', { error: (e as Error).message });
  }
  await clients.dynamoDb.send(new DeleteItemCommand({
    TableName: table,
    Key: lockKey(event.fleetId),
    ConditionExpression: '#owner = :rec',
    ExpressionAttributeNames: { '#owner': 'owner' },
    ExpressionAttributeValues: { ':rec': { S: recoveryOwner } },
  })).catch((e) => {
    if (!isConditionFailure(e)) throw e;
  });
  logger.warn('Recovered the fleet after the execution stopped', { ...report });
  return { outcome: 'recovered', report };
}

/** The result record's cause for a recovered stop. */
export function describeRecovery(report: RecoveryReport, config: FleetConfig): string {
  const head = `Execution ${report.executionId} ended ${report.status} still holding the lock.`;
  if (report.problem) return `${head} The recovery handler changed nothing: ${report.problem}. Repair one colour and set ${switchName(config)} by hand.`;
  const traffic = report.trafficMoved ? `all traffic was moved to ${report.live}` : `all traffic was already on ${report.live}`;
  const scaled = report.scaledToZero.length > 0 ? `, ${report.scaledToZero.join(' and ')} scaled to zero` : ', the other colour left running (Route 53: resolvers may still hold its address)';
  return `${head} The recovery handler restored the fleet: ${traffic}${scaled}, the lock released.`;
}

/**
 * The history record of an execution stopped from outside, from what its lock item kept: when it
 * took the lock (`acquiredAt`), its input and `startedBy`, its phase, the colour a stop gives
 * traffic back to. Its state (stages, releases, rollback) died with it: the stages list is empty.
 */
export function stoppedHistory(
  event: ExecutionStoppedEvent,
  phase: string | undefined,
  lock: Record<string, AttributeValue>,
  report: RecoveryReport,
  endedAt: Date,
  cause: string,
): HistoryRecord {
  const restoreTo = lockItem(lock)?.restoreTo;
  const input = lock[LOCK_ATTRIBUTES.input]?.S;
  let startedBy = lock[LOCK_ATTRIBUTES.startedBy]?.S;
  if (startedBy === undefined && input !== undefined) {
    try {
      startedBy = startedByOf(JSON.parse(input));
    } catch {
      startedBy = undefined;
    }
  }
  const acquiredAt = lock.acquiredAt?.S;
  // A deploy's restoreTo is the colour that served when it began until it retires the colour it left.
  const deploying = phase === LockPhase.CUTOVER && restoreTo !== undefined;
  return {
    fleetId: event.fleetId,
    executionId: event.executionArn,
    action: phase === LockPhase.ROLLING_BACK ? 'rollback' : 'deploy',
    outcome: 'stopped',
    endedAt: endedAt.toISOString(),
    ...(acquiredAt ? { startedAt: acquiredAt } : {}),
    ...(input !== undefined ? { input } : {}),
    ...(startedBy ? { startedBy } : {}),
    ...(deploying ? { from: restoreTo, to: otherColour(restoreTo) } : {}),
    ...(report.live ? { live: report.live } : {}),
    releases: {},
    error: event.status,
    cause,
    stages: '[]',
  };
}
