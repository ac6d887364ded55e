import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { SSMClient } from '@aws-sdk/client-ssm';
import { Colour, ColourRelease, CutoverState, otherColour } from '../../lib/contract';
import { BaseDeps } from '../common/deps';
import { FleetStateConflict, NothingToRollBack } from '../common/errors';
import { appendStage, assessColour, checkStoredRelease, colourAtFull, readCapacity, readReleases } from '../common/fleet';
import { logger, setLogContext } from '../common/logger';
import { readProductionWeights, switchName, TrafficClients } from '../common/traffic';

export const STAGE = 'Find the live colour';

/** The state after "Validate input and take the lock". */
export type FindLiveRequest = CutoverState;
/** The state with live, target, liveCapacity, liveRelease and targetRelease set. */
export type FindLiveResponse = CutoverState & Required<Pick<CutoverState, 'live' | 'target' | 'liveCapacity' | 'liveRelease' | 'targetRelease'>>;

export interface FindLiveDeps extends BaseDeps, TrafficClients {
  readonly autoScaling: AutoScalingClient;
  readonly ssm: SSMClient;
}

/**
 * Finds the live colour from the production rule or the Route 53 records (the truth), what both colours run and the
 * live colour's capacity. For a rollback, the target is the previous colour, which must still
 * be warm: scaled up, every instance InService and healthy in its target group.
 */
export async function findLive(state: FindLiveRequest, deps: FindLiveDeps): Promise<FindLiveResponse> {
  const { config } = deps;
  const startedAt = deps.now();
  setLogContext(state, config, STAGE);

  const weights = await readProductionWeights(deps, config);
  const live = colourAtFull(weights);
  if (!live) {
    const where = switchName(config);
    throw new FleetStateConflict(
      `${where[0].toUpperCase()}${where.slice(1)} ${config.route53 ? 'split' : 'splits'} traffic (blue ${weights.blue}%, green ${weights.green}%): a previous cutover was interrupted mid-shift. ` +
      `Finish it by hand first: set the ${config.route53 ? 'records\'' : 'production rule\'s'} weights to 100 for the colour that should serve and 0 for the other, ` +
      'then start again. Nothing was changed.',
    );
  }
  const target = otherColour(live);
  const [liveRelease, targetRelease] = await readReleases(deps.ssm, [config.colours[live], config.colours[target]]);
  // Before any mutating call: `{}` copies the live release, a rollback goes back to the target's,
  // and the output reports both.
  checkStoredRelease(live, config.colours[live], liveRelease);
  checkStoredRelease(target, config.colours[target], targetRelease);

  if (state.action === 'rollback') {
    await requireWarm(deps, target, targetRelease);
  }
  const liveCapacity = await readCapacity(deps.autoScaling, config.colours[live].autoScalingGroupName);
  logger.info('Live colour found', { live, target, liveCapacity, liveRelease, targetRelease, action: state.action });

  return {
    ...state,
    live,
    target,
    liveCapacity,
    liveRelease,
    targetRelease,
    stages: appendStage(state.stages, STAGE, startedAt, deps.now()),
  };
}

async function requireWarm(deps: FindLiveDeps, previous: Colour, previousRelease: ColourRelease): Promise<void> {
  const health = await assessColour(deps.autoScaling, deps.elbv2, deps.config.colours[previous]);
  if (health.healthy) return;
  const why = health.capacity.desired === 0
    ? `the previous colour (${previous}) is scaled down to zero`
    : `the previous colour (${previous}) is not healthy: ${health.healthyTargets} of ${health.capacity.desired} instances InService and healthy` +
      (health.problems.length > 0 ? ` (${health.problems.slice(0, 5).join('; ')})` : '');
  throw new NothingToRollBack(
    `Nothing to roll back to: ${why}. ` +
    'The way back is a normal cutover with the previous release: start ' +
    `{"imageId": "${previousRelease.imageId}"} or {"version": "${previousRelease.version}"} (what ${previous} last ran). Nothing was changed.`,
  );
}
