import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { CutoverState, ShiftPayload } from '../../lib/contract';
import { BaseDeps } from '../common/deps';
import { appendStage, colours, setRuleWeights, weightsFor } from '../common/fleet';
import { logger, setLogContext } from '../common/logger';

/** The console name of the stage: it names the step, or the move back for a rollback execution. */
export function stageName(state: CutoverState, weight: number): string {
  if (state.action === 'rollback') return 'Move traffic to the previous colour';
  return weight === 100 ? 'Shift all traffic' : `Shift ${weight}% of traffic`;
}

/** `{ state, weight }`: the target's new percentage of production traffic (100 = all at once). */
export type ShiftRequest = ShiftPayload;
/** The state with trafficMoved and targetWeight set. */
export type ShiftResponse = CutoverState & Required<Pick<CutoverState, 'trafficMoved' | 'targetWeight'>>;

export interface ShiftDeps extends BaseDeps {
  readonly elbv2: ElasticLoadBalancingV2Client;
}

/** Moves `weight` percent of production traffic to the target with one ModifyRule call (none if already so). */
export async function shift(request: ShiftRequest, deps: ShiftDeps): Promise<ShiftResponse> {
  const { state, weight } = request;
  const { config } = deps;
  const startedAt = deps.now();
  const stage = stageName(state, weight);
  setLogContext(state, config, stage);
  if (!Number.isInteger(weight) || weight < 0 || weight > 100) {
    throw new RangeError(`shift: weight must be an integer percentage from 0 to 100, got ${JSON.stringify(weight)}.`);
  }
  const { target } = colours(state);
  const change = await setRuleWeights(deps.elbv2, config.productionRuleArn, config, weightsFor(target, weight), deps.now);
  logger.info('Production traffic shifted', { target, weight, changed: change.changed, before: change.before, callMs: change.callMs });
  return {
    ...state,
    // From here on a failure must move traffic back.
    trafficMoved: true,
    targetWeight: weight,
    stages: appendStage(state.stages, stage, startedAt, deps.now()),
  };
}
