import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CutoverState, LOCK_ATTRIBUTES } from '../../lib/private/contract';
import { BaseDeps, Sleep } from '../common/deps';
import { causeMessage } from '../common/errors';
import { colours, weightsFor } from '../common/fleet';
import { requireLock, updateLock } from '../common/lock';
import { logger } from '../common/logger';
import { setProductionWeights, TrafficClients } from '../common/traffic';
import { MetricClients, publishTrafficWeights } from '../common/traffic-metric';
import { STATE_NAMES } from '../../lib/private/stage-names';
import { beginStage } from '../common/stage';

export const STAGE = STATE_NAMES.rollBack;

/** The state after an alarm (`alarm` set) or a caught error (`error` set) once traffic moved. */
export type RollBackRequest = CutoverState;
/** The state with rollback recorded and targetWeight 0. */
export type RollBackResponse = CutoverState & Required<Pick<CutoverState, 'rollback' | 'targetWeight'>>;

export interface RollBackDeps extends BaseDeps, TrafficClients, MetricClients {
  readonly dynamoDb: DynamoDBClient;
  /** How the Route 53 INSYNC wait sleeps (tests move a clock instead). */
  readonly sleep?: Sleep;
}

/**
 * Sends all production traffic back to the live colour with one mutating call (none if it is
 * already there): ModifyRule on the production rule, with stickiness off so no client stays
 * pinned to the failed colour, or one Route 53 change of both records, which it then waits to be
 * INSYNC. Records why and how fast. The test rule is left alone.
 */
export async function rollBack(state: RollBackRequest, deps: RollBackDeps): Promise<RollBackResponse> {
  const { config } = deps;
  const run = beginStage(state, deps, STAGE);
  const { startedAt } = run;
  const { live } = colours(state);

  // A superseded execution leaves traffic to the execution that holds the fleet now. A rollback
  // execution whose move failed goes back to where it started: a stop from here on does too.
  if (state.action === 'rollback') {
    await updateLock(deps, state.executionId, { [LOCK_ATTRIBUTES.restoreTo]: { S: live } }, `move traffic back to ${live}`);
  } else {
    await requireLock(deps, state.executionId, `move traffic back to ${live}`);
  }
  const weights = weightsFor(live, 100);
  const change = await setProductionWeights(deps, config, weights, { now: deps.now, sleep: deps.sleep });
  if (change.inSync === false) {
    // Route 53 has the weights; its servers will follow. Not a reason to fail the rollback.
    logger.warn('The Route 53 change moving traffic back is not INSYNC yet', { dnsChangeId: change.dnsChangeId, waitedMs: change.syncMs });
  }
  const restoredAt = deps.now();
  const reason = state.alarm?.name ?? (state.error ? `${state.error.Error}: ${causeMessage(state.error.Cause)}` : 'unknown');
  const rollback = {
    reason,
    decidedAt: state.alarm?.detectedAt ?? startedAt.toISOString(),
    trafficRestoredAt: restoredAt.toISOString(),
    ...(change.callMs !== undefined ? { revertCallMs: change.callMs } : {}),
    ...(change.inSync !== undefined ? { dnsInSync: change.inSync, dnsSyncMs: change.syncMs } : {}),
  };
  logger.warn('Production traffic moved back', { live, changed: change.changed, before: change.before, ...rollback });
  // Traffic is back before the metric is sent; a failed metric is only a warning.
  await publishTrafficWeights(deps, config, weights);
  return run.done({
    targetWeight: 0,
    rollback,
  });
}
