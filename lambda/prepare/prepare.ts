import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { SSMClient } from '@aws-sdk/client-ssm';
import { ColourRelease, CutoverState } from '../../lib/contract';
import { BaseDeps } from '../common/deps';
import { appendStage, colours, readRelease, setCapacity, setRuleWeights, weightsFor, writeRelease } from '../common/fleet';
import { logger, setLogContext } from '../common/logger';

export const STAGE = 'Prepare the idle colour';

/** The state after "Find the live colour". */
export type PrepareRequest = CutoverState;
/** The state with targetRelease set to what the target now runs. */
export type PrepareResponse = CutoverState & Required<Pick<CutoverState, 'targetRelease'>>;

export interface PrepareDeps extends BaseDeps {
  readonly elbv2: ElasticLoadBalancingV2Client;
  readonly autoScaling: AutoScalingClient;
  readonly ssm: SSMClient;
}

/**
 * Writes the target's release parameters, points the test rule at the target (with Route 53
 * switching there is none: the target's own load balancer is its test endpoint) and sizes the
 * target like the live colour. Parameters come first: instances launched by the resize
 * resolve their image (and read their version) at launch.
 */
export async function prepare(state: PrepareRequest, deps: PrepareDeps): Promise<PrepareResponse> {
  const { config } = deps;
  const startedAt = deps.now();
  setLogContext(state, config, STAGE);
  const { target } = colours(state);
  const targetConfig = config.colours[target];
  if (!state.liveCapacity) throw new TypeError('The state has no liveCapacity: this task must run after "Find the live colour".');

  let targetRelease: ColourRelease;
  if (state.action === 'rollback') {
    // A rollback goes back to what the previous colour already runs.
    targetRelease = state.targetRelease ?? await readRelease(deps.ssm, targetConfig);
  } else {
    if (!state.liveRelease) throw new TypeError('The state has no liveRelease: this task must run after "Find the live colour".');
    targetRelease = {
      imageId: state.release?.imageId ?? state.liveRelease.imageId,
      version: state.release?.version ?? state.liveRelease.version,
    };
    const written = await writeRelease(deps.ssm, targetConfig, targetRelease);
    logger.info('Release parameters of the target', { target, targetRelease, written });
  }

  if (config.testRuleArn) {
    const test = await setRuleWeights(deps.elbv2, config.testRuleArn, config, weightsFor(target, 100), deps.now);
    logger.info('Test rule', { pointsAt: target, changed: test.changed, before: test.before });
  } else {
    logger.info('No test rule: the target\'s own load balancer is its test endpoint', { target, loadBalancer: targetConfig.loadBalancer?.dnsName });
  }

  const size = await setCapacity(deps.autoScaling, targetConfig.autoScalingGroupName, state.liveCapacity);
  logger.info('Target capacity', { target, changed: size.changed, before: size.before, after: size.after });

  return {
    ...state,
    targetRelease,
    stages: appendStage(state.stages, STAGE, startedAt, deps.now()),
  };
}
