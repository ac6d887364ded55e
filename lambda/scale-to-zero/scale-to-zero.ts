import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ColourRole, CutoverState, ScaleToZeroPayload } from '../../lib/private/contract';
import { BaseDeps } from '../common/deps';
import { colours, withColour } from '../common/fleet';
import { requireLock } from '../common/lock';
import { logger } from '../common/logger';
import { scaleColourToZero, TrafficClients } from '../common/traffic';
import { STATE_NAMES } from '../../lib/private/stage-names';
import { beginStage } from '../common/stage';

/** `{ state, colour }`: which colour of the state to scale to zero, 'target' or 'live'. */
export type ScaleToZeroRequest = ScaleToZeroPayload;
/** The state with the colour added to scaledToZero. */
export type ScaleToZeroResponse = CutoverState & Required<Pick<CutoverState, 'scaledToZero'>>;

export interface ScaleToZeroDeps extends BaseDeps, TrafficClients {
  readonly autoScaling: AutoScalingClient;
  readonly dynamoDb: DynamoDBClient;
}

/** The console name of the stage, which depends on why the colour goes. */
export function stageName(state: CutoverState, role: ColourRole): string {
  if (role === 'target') {
    // After "Move traffic back" the target is the failed colour, even if its shift never completed.
    return state.trafficMoved || state.rollback ? STATE_NAMES.scaleFailedDown : STATE_NAMES.scaleIdleDown;
  }
  return state.action === 'rollback' ? STATE_NAMES.rollbackRetire : STATE_NAMES.retire;
}

/**
 * Scales one colour to zero (min 0, desired 0, max unchanged), unless it already is.
 * Refuses with FleetStateConflict while production traffic goes to that colour.
 */
export async function scaleToZero(request: ScaleToZeroRequest, deps: ScaleToZeroDeps): Promise<ScaleToZeroResponse> {
  const { state, colour: role } = request;
  const { config } = deps;
  if (role !== 'target' && role !== 'live') throw new RangeError(`scale-to-zero: colour must be 'target' or 'live', got ${JSON.stringify(role)}.`);
  const stage = stageName(state, role);
  const run = beginStage(state, deps, stage);
  const colour = colours(state)[role];

  await requireLock(deps, state.executionId, `scale ${colour} to zero`);
  const change = await scaleColourToZero(deps, config, colour);
  logger.info('Scaled to zero', { colour, role, changed: change.changed, before: change.before });
  return run.done({
    scaledToZero: withColour(state.scaledToZero, colour),
  });
}
