import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { DescribeLaunchTemplatesCommand, EC2Client, ModifyLaunchTemplateCommand } from '@aws-sdk/client-ec2';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { SSMClient } from '@aws-sdk/client-ssm';
import { Colour, ColourConfig, ColourRelease, CutoverState, ReleaseLaunch } from '../../lib/private/contract';
import { BaseDeps, Sleep } from '../common/deps';
import { FleetStateConflict, ImageNotAccepted } from '../common/errors';
import {
  colours, groupInstances, readRelease, releaseWrittenAt, setCapacity, setRuleWeights, targetCapacity, weightsFor, writeRelease,
} from '../common/fleet';
import { isConditionFailure, previousRecordKey, requireLock } from '../common/lock';
import { logger } from '../common/logger';
import { launchedAfterFor, staleInstances } from '../common/release-instances';
import { STATE_NAMES } from '../../lib/private/stage-names';
import { beginStage } from '../common/stage';

export const STAGE = STATE_NAMES.prepare;

/** The state after "Find the live colour". */
export type PrepareRequest = CutoverState;
/** The state with targetRelease set to what the target now runs, and targetLaunch to which of its instances serve it. */
export type PrepareResponse = CutoverState & Required<Pick<CutoverState, 'targetRelease' | 'targetLaunch'>>;

export interface PrepareDeps extends BaseDeps {
  readonly elbv2: ElasticLoadBalancingV2Client;
  readonly autoScaling: AutoScalingClient;
  readonly ssm: SSMClient;
  readonly ec2: EC2Client;
  readonly dynamoDb: DynamoDBClient;
  readonly sleep: Sleep;
}

/**
 * How long "Prepare" waits for SSM to take a new image id: an `aws:ec2:image` parameter is
 * validated after PutParameter returns, and a 200 does not mean the value changed (SSM
 * PutParameter reference, DataType). Instances launched before it lands would run the old image.
 */
export const IMAGE_CONFIRM_ATTEMPTS = 10;
export const IMAGE_CONFIRM_INTERVAL_MS = 1000;

/**
 * Writes the target's release parameters (and waits until SSM has taken the image id), points
 * the test rule at the target (with Route 53 switching there is none: the target's own load
 * balancer is its test endpoint), makes the latest version of the target's launch template the
 * one it launches, and sizes the target from the configured capacity and the live colour's
 * desired count. Parameters come first: instances launched by the resize resolve their image
 * (and read their version) at launch.
 */
export async function prepare(state: PrepareRequest, deps: PrepareDeps): Promise<PrepareResponse> {
  const { config } = deps;
  const run = beginStage(state, deps, STAGE);
  const { target } = colours(state);
  const targetConfig = config.colours[target];
  if (!state.liveCapacity) throw new TypeError(`The state has no liveCapacity: this task must run after "${STATE_NAMES.findLive}".`);
  await requireLock(deps, state.executionId, `prepare ${target}`);
  // From here on the target no longer runs what any earlier cutover left on it.
  await retireRecordOf(deps, target);

  let targetRelease: ColourRelease;
  if (state.action === 'rollback') {
    // A rollback goes back to what the previous colour already runs.
    targetRelease = state.targetRelease ?? await readRelease(deps.ssm, targetConfig);
  } else {
    if (!state.liveRelease) throw new TypeError(`The state has no liveRelease: this task must run after "${STATE_NAMES.findLive}".`);
    targetRelease = {
      imageId: state.release?.imageId ?? state.liveRelease.imageId,
      version: state.release?.version ?? state.liveRelease.version,
    };
    const written = await writeRelease(deps.ssm, targetConfig, targetRelease);
    if (written.includes(targetConfig.imageParameterName)) await confirmImage(deps, targetConfig, targetRelease.imageId, target);
    logger.info('Release parameters of the target', { target, targetRelease, written });
  }

  if (config.testRuleArn) {
    const test = await setRuleWeights(deps.elbv2, config.testRuleArn, config, weightsFor(target, 100), deps.now);
    logger.info('Test rule', { pointsAt: target, changed: test.changed, before: test.before });
  } else {
    logger.info('No test rule: the target\'s own load balancer is its test endpoint', { target, loadBalancer: targetConfig.loadBalancer?.dnsName });
  }

  const version = await releaseLaunchTemplate(deps.ec2, targetConfig);
  // Only instances launched from this launch template version after the parameters took their
  // values serve the release: one launched before resolved the old image and read the old version.
  // The parameters' own LastModifiedDate makes this the same when the task is retried.
  const releasedAt = await releaseWrittenAt(deps.ssm, targetConfig);
  const targetLaunch: ReleaseLaunch = { releasedAt: releasedAt.toISOString(), launchedAfter: launchedAfterFor(releasedAt), launchTemplateVersion: version };
  // EC2 counts launch times in whole seconds: start nothing in the second of the write.
  const wait = Date.parse(targetLaunch.launchedAfter) - deps.now().getTime();
  if (wait > 0) await deps.sleep(wait);

  // Instances the target already runs (the listener was flipped by hand, or a scale-down of the
  // idle colour failed) were launched before the release: start the colour from zero. The health
  // check scales it up once they are gone, and never counts them.
  const stale = await staleInstances(deps.ec2, await groupInstances(deps.autoScaling, targetConfig.autoScalingGroupName), targetLaunch);
  const capacity = stale.size > 0 ? { min: 0, desired: 0 } : targetCapacity(config, state.liveCapacity);
  if (stale.size > 0) {
    logger.warn('The target runs instances from before the release: scaling it to zero first', { target, stale: Object.fromEntries(stale) });
  }
  const size = await setCapacity(deps.autoScaling, targetConfig.autoScalingGroupName, capacity, { id: targetConfig.launchTemplateId, version });
  logger.info('Target capacity and launch template version', { target, launchTemplateVersion: version, targetLaunch, changed: size.changed, before: size.before, after: size.after });

  return run.done({
    targetRelease,
    targetLaunch,
    targetHeldAtZero: stale.size > 0,
  });
}

/** Waits until the image parameter reads back the new image id, or fails saying why it may not. */
async function confirmImage(deps: PrepareDeps, colour: ColourConfig, imageId: string, target: string): Promise<void> {
  let seen: string | undefined;
  for (let attempt = 1; attempt <= IMAGE_CONFIRM_ATTEMPTS; attempt++) {
    seen = (await readRelease(deps.ssm, colour)).imageId;
    if (seen === imageId) return;
    if (attempt < IMAGE_CONFIRM_ATTEMPTS) await deps.sleep(IMAGE_CONFIRM_INTERVAL_MS);
  }
  throw new ImageNotAccepted(
    `SSM did not take image ${imageId} for ${colour.imageParameterName}: after ${IMAGE_CONFIRM_ATTEMPTS} reads over ` +
    `${((IMAGE_CONFIRM_ATTEMPTS - 1) * IMAGE_CONFIRM_INTERVAL_MS) / 1000} s it still holds ${seen ?? 'nothing'}. ` +
    'An aws:ec2:image parameter keeps its old value when the image does not exist in this Region or is not shared with this account: ' +
    `check the AMI id, then start the cutover again. The ${target} colour was not started; the live colour was not touched.`,
  );
}

/**
 * Makes the launch template's latest version its default (the version CloudFormation's template
 * names for the group) and returns it, so the colour launches what the last deploy described.
 */
async function releaseLaunchTemplate(ec2: EC2Client, colour: ColourConfig): Promise<string> {
  const out = await ec2.send(new DescribeLaunchTemplatesCommand({ LaunchTemplateIds: [colour.launchTemplateId] }));
  const template = out.LaunchTemplates?.[0];
  if (!template?.LatestVersionNumber) {
    throw new FleetStateConflict(`Launch template ${colour.launchTemplateId} of ${colour.autoScalingGroupName} does not exist: it was deleted outside the stack; redeploy the stack to restore it.`);
  }
  const latest = template.LatestVersionNumber;
  if (template.DefaultVersionNumber !== latest) {
    await ec2.send(new ModifyLaunchTemplateCommand({ LaunchTemplateId: colour.launchTemplateId, DefaultVersion: String(latest) }));
    logger.info('Launch template default version moved', { launchTemplate: colour.launchTemplateId, from: template.DefaultVersionNumber, to: latest });
  }
  return String(latest);
}

/**
 * Marks the record of the colour an earlier cutover left retired when it names `colour`: this
 * cutover is about to change that colour, so no rollback may go to it as it was recorded (a
 * record left unretired by a cutover that failed while retiring, for instance). One conditional
 * write; a record of the other colour, or none, is left as it is.
 */
async function retireRecordOf(deps: PrepareDeps, colour: Colour): Promise<void> {
  try {
    await deps.dynamoDb.send(new UpdateItemCommand({
      TableName: deps.config.lockTableName,
      Key: previousRecordKey(deps.config.fleetId),
      UpdateExpression: 'SET retired = :true, retiredAt = :at',
      ConditionExpression: 'colour = :colour AND retired = :false',
      ExpressionAttributeValues: { ':colour': { S: colour }, ':true': { BOOL: true }, ':false': { BOOL: false }, ':at': { S: deps.now().toISOString() } },
    }));
    logger.info('Retired the record of an earlier cutover naming the colour being prepared', { colour });
  } catch (e) {
    if (!isConditionFailure(e)) throw e;
  }
}
