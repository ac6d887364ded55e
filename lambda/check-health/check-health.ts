import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { CutoverState, GroupCapacity } from '../../lib/private/contract';
import { BaseDeps } from '../common/deps';
import { IdleNotHealthy } from '../common/errors';
import { assessColour, colours, isoPlusSeconds, readCapacity, setCapacity, targetCapacity } from '../common/fleet';
import { requireLock } from '../common/lock';
import { logger } from '../common/logger';
import { staleInstances } from '../common/release-instances';
import { STATE_NAMES } from '../../lib/private/stage-names';
import { beginStage } from '../common/stage';

export const STAGE = STATE_NAMES.checkHealth;

/** The state after "Prepare the idle colour" (or a previous health check). */
export type CheckHealthRequest = CutoverState;
/** The state with health set (and liveCapacity updated if the live colour was resized meanwhile). */
export type CheckHealthResponse = CutoverState & Required<Pick<CutoverState, 'health'>>;

export interface CheckHealthDeps extends BaseDeps {
  readonly elbv2: ElasticLoadBalancingV2Client;
  readonly autoScaling: AutoScalingClient;
  readonly ec2: EC2Client;
  readonly dynamoDb: DynamoDBClient;
}

/**
 * One poll of the target's health. Healthy when the target wants at least one instance and
 * every one of them is InService and Healthy in its group and `healthy` in its target group,
 * counting only instances that belong to the group and serve the release "Prepare" wrote
 * (`targetLaunch`: launched from its launch template version, after its parameters changed).
 * A target with other instances is held at zero until they are gone, then started again.
 * Throws IdleNotHealthy once past the deadline.
 */
export async function checkHealth(state: CheckHealthRequest, deps: CheckHealthDeps): Promise<CheckHealthResponse> {
  const { config } = deps;
  const run = beginStage(state, deps, STAGE);
  const { startedAt } = run;
  const { live, target } = colours(state);
  const deadline = state.health?.deadline ?? isoPlusSeconds(startedAt, config.healthyTimeoutSeconds);

  // The live colour may have scaled since "Prepare": keep the target the same size.
  const current = await readCapacity(deps.autoScaling, config.colours[live].autoScalingGroupName);
  const liveResized = !state.liveCapacity || !sameCapacity(current, state.liveCapacity);
  if (liveResized) logger.info('The live colour was resized: resizing the target to match', { before: state.liveCapacity, after: current });
  const liveCapacity = current;

  // Only instances launched for the release count (see "Prepare"). While the target has others it
  // is held at zero; once they are gone it is sized like the live colour, and launches the release.
  const launch = state.targetLaunch;
  const seen = await assessColour(deps.autoScaling, deps.elbv2, config.colours[target], launch ? (instances) => staleInstances(deps.ec2, instances, launch) : undefined);
  const hold = seen.stale.length > 0;
  const release = !hold && state.targetHeldAtZero === true && seen.capacity.desired === 0;
  const wanted = hold ? { min: 0, max: seen.capacity.max, desired: 0 } : liveResized || release ? targetCapacity(config, liveCapacity) : seen.capacity;
  const resize = !sameCapacity(seen.capacity, wanted);
  if (resize) {
    await requireLock(deps, state.executionId, `resize ${target}`);
    await setCapacity(deps.autoScaling, config.colours[target].autoScalingGroupName, wanted);
    logger.info(hold ? 'Holding the target at zero until its instances from before the release are gone' : 'Target resized',
      { target, before: seen.capacity, after: wanted, stale: seen.stale });
  }
  const desired = wanted.desired;
  const waitingForStale = seen.stale.length > 0
    ? ` (${seen.stale.length} instance${seen.stale.length > 1 ? 's' : ''} from before the release, not counted: the ${target} colour is held at zero until ${seen.stale.length > 1 ? 'they are' : 'it is'} gone, then started again: ${summarise(seen.stale)})`
    : '';
  const detail = `${seen.healthyTargets} of ${desired} instances healthy in the ${target} target group` +
    (desired === 0 && seen.stale.length === 0 ? ' (the target wants no instances: the live colour runs none)' : '') +
    waitingForStale +
    (seen.problems.length > 0 ? ` (${summarise(seen.problems)})` : '');
  const health = {
    healthy: seen.healthy && !resize,
    deadline,
    inService: seen.inService,
    healthyTargets: seen.healthyTargets,
    desired,
    detail,
  };
  logger.info('Target health', { ...health });

  const nowMs = deps.now().getTime();
  if (!health.healthy && nowMs >= Date.parse(deadline)) {
    const waited = Math.round((nowMs - Date.parse(deadline)) / 1000) + config.healthyTimeoutSeconds;
    throw new IdleNotHealthy(
      `${seen.healthyTargets} of ${desired} instances healthy in the ${target} target group after ${waited} s` +
      waitingForStale +
      (seen.problems.length > 0 ? ` (${summarise(seen.problems)})` : '') +
      (desired === 0 && seen.stale.length === 0 ? ' (the target wants no instances because the live colour runs none)' : '') +
      `; ${seen.inService} InService in the Auto Scaling group. The live colour was not touched.`,
    );
  }

  return run.done({
    liveCapacity,
    targetHeldAtZero: hold,
    health,
  });
}

function sameCapacity(a: GroupCapacity, b: GroupCapacity): boolean {
  return a.min === b.min && a.max === b.max && a.desired === b.desired;
}

function summarise(problems: string[], max = 5): string {
  const shown = problems.slice(0, max).join(', ');
  return problems.length > max ? `${shown} and ${problems.length - max} more` : shown;
}
