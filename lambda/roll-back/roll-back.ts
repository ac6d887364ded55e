import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { CutoverState } from '../../lib/contract';
import { BaseDeps } from '../common/deps';
import { causeMessage } from '../common/errors';
import { appendStage, colours, setRuleWeights, weightsFor } from '../common/fleet';
import { logger, setLogContext } from '../common/logger';

export const STAGE = 'Move traffic back';

/** The state after an alarm (`alarm` set) or a caught error (`error` set) once traffic moved. */
export type RollBackRequest = CutoverState;
/** The state with rollback recorded and targetWeight 0. */
export type RollBackResponse = CutoverState & Required<Pick<CutoverState, 'rollback' | 'targetWeight'>>;

export interface RollBackDeps extends BaseDeps {
  readonly elbv2: ElasticLoadBalancingV2Client;
}

/**
 * Sends all production traffic back to the live colour with one ModifyRule call (none if it
 * is already there) and records why and how fast. The test rule is left alone.
 */
export async function rollBack(state: RollBackRequest, deps: RollBackDeps): Promise<RollBackResponse> {
  const { config } = deps;
  const startedAt = deps.now();
  setLogContext(state, config, STAGE);
  const { live } = colours(state);

  const change = await setRuleWeights(deps.elbv2, config.productionRuleArn, config, weightsFor(live, 100), deps.now);
  const restoredAt = deps.now();
  const reason = state.alarm?.name ?? (state.error ? `${state.error.Error}: ${causeMessage(state.error.Cause)}` : 'unknown');
  const rollback = {
    reason,
    decidedAt: state.alarm?.detectedAt ?? startedAt.toISOString(),
    trafficRestoredAt: restoredAt.toISOString(),
    ...(change.callMs !== undefined ? { revertCallMs: change.callMs } : {}),
  };
  logger.warn('Production traffic moved back', { live, changed: change.changed, before: change.before, ...rollback });
  return {
    ...state,
    targetWeight: 0,
    rollback,
    stages: appendStage(state.stages, STAGE, startedAt, deps.now()),
  };
}
