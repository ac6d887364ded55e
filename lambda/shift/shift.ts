import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CutoverState, LOCK_ATTRIBUTES, ShiftPayload } from '../../lib/private/contract';
import { BaseDeps, Sleep } from '../common/deps';
import { DnsChangePending } from '../common/errors';
import { colours, weightsFor } from '../common/fleet';
import { requireLock, updateLock } from '../common/lock';
import { logger } from '../common/logger';
import { setProductionWeights, switchName, TrafficClients } from '../common/traffic';
import { MetricClients, publishTrafficWeights } from '../common/traffic-metric';
import { STATE_NAMES } from '../../lib/private/stage-names';
import { beginStage } from '../common/stage';

/** The console name of the stage: it names the step, or the move back for a rollback execution. */
export function stageName(state: CutoverState, weight: number): string {
  if (state.action === 'rollback') return STATE_NAMES.rollbackShift;
  return STATE_NAMES.shift(weight);
}

/** `{ state, weight }`: the target's new percentage of production traffic (100 = all at once). */
export type ShiftRequest = ShiftPayload;
/** The state with trafficMoved and targetWeight set. */
export type ShiftResponse = CutoverState & Required<Pick<CutoverState, 'trafficMoved' | 'targetWeight'>>;

export interface ShiftDeps extends BaseDeps, TrafficClients, MetricClients {
  readonly dynamoDb: DynamoDBClient;
  /** How the Route 53 INSYNC wait sleeps (tests move a clock instead). */
  readonly sleep?: Sleep;
}

/**
 * Moves `weight` percent of production traffic to the target with one mutating call (none if
 * already so): ModifyRule on the production rule, or one Route 53 change of both records, which
 * it then waits to be INSYNC. A deploy's change not INSYNC in time throws DnsChangePending (and is
 * rolled back); a rollback execution's is only logged: going back is what was asked for.
 */
export async function shift(request: ShiftRequest, deps: ShiftDeps): Promise<ShiftResponse> {
  const { state, weight } = request;
  const { config } = deps;
  const stage = stageName(state, weight);
  const run = beginStage(state, deps, stage);
  if (!Number.isInteger(weight) || weight < 0 || weight > 100) {
    throw new RangeError(`shift: weight must be an integer percentage from 0 to 100, got ${JSON.stringify(weight)}.`);
  }
  const { target } = colours(state);
  const weights = weightsFor(target, weight);
  if (state.action === 'rollback') {
    // Before the move: from here on a stop of this execution gives all traffic to the previous
    // colour, the one it was started to go back to (with one conditional write that checks the lock).
    await updateLock(deps, state.executionId, { [LOCK_ATTRIBUTES.restoreTo]: { S: target } }, `move traffic to ${target}`);
  } else {
    await requireLock(deps, state.executionId, `move ${weight}% of traffic to ${target}`);
  }
  const change = await setProductionWeights(deps, config, weights, { now: deps.now, sleep: deps.sleep });
  logger.info('Production traffic shifted', {
    target, weight, changed: change.changed, before: change.before, callMs: change.callMs,
    ...(change.dnsChangeId ? { dnsChangeId: change.dnsChangeId, inSync: change.inSync, syncMs: change.syncMs } : {}),
  });
  // After the move, never before: the metric only reports what was done (a failure is a warning).
  await publishTrafficWeights(deps, config, weights);
  if (change.inSync === false && state.action === 'rollback') {
    // Moving back is what the operator asked for: Route 53 has the weights, its servers will follow.
    logger.warn('The Route 53 change moving traffic back is not INSYNC yet', { dnsChangeId: change.dnsChangeId, waitedMs: change.syncMs });
  } else if (change.inSync === false) {
    // The weights are written; Route 53 has not confirmed them everywhere. Not knowing what
    // clients get, the cutover goes back (the state machine catches this as after the shift).
    throw new DnsChangePending(
      `Route 53 change ${change.dnsChangeId} of ${switchName(config)} (blue ${weights.blue}%, green ${weights.green}%) ` +
      `was not INSYNC after ${Math.round((change.syncMs ?? 0) / 1000)} s: moving traffic back.`,
    );
  }
  return run.done({
    // From here on a failure must move traffic back.
    trafficMoved: true,
    targetWeight: weight,
  });
}
