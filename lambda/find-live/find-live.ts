import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { SSMClient } from '@aws-sdk/client-ssm';
import { Colour, ColourRelease, CutoverState, LOCK_ATTRIBUTES, otherColour } from '../../lib/private/contract';
import { BaseDeps } from '../common/deps';
import { FleetStateConflict, NothingToRollBack } from '../common/errors';
import { assessColour, checkStoredRelease, colourAtFull, readCapacity, readReleases } from '../common/fleet';
import { PreviousRecord, previousRecord, previousRecordKey, updateLock } from '../common/lock';
import { logger } from '../common/logger';
import { readProductionWeights, switchName, TrafficClients } from '../common/traffic';
import { STATE_NAMES } from '../../lib/private/stage-names';
import { beginStage } from '../common/stage';

export const STAGE = STATE_NAMES.findLive;

/** The state after "Validate input and take the lock". */
export type FindLiveRequest = CutoverState;
/** The state with live, target, liveCapacity, liveRelease and targetRelease set. */
export type FindLiveResponse = CutoverState & Required<Pick<CutoverState, 'live' | 'target' | 'liveCapacity' | 'liveRelease' | 'targetRelease'>>;

export interface FindLiveDeps extends BaseDeps, TrafficClients {
  readonly autoScaling: AutoScalingClient;
  readonly ssm: SSMClient;
  readonly dynamoDb: DynamoDBClient;
}

/**
 * Finds the live colour from the production rule or the Route 53 records (the truth), what both colours run and the
 * live colour's capacity. For a rollback, the target is the previous colour, and only the one a
 * cutover recorded when it left it (`<fleetId>#previous`): not retired, not live, its parameters
 * still holding the recorded release, and still warm (scaled up, every instance InService and
 * healthy in its target group). Anything else is NothingToRollBack, before any mutating call.
 */
export async function findLive(state: FindLiveRequest, deps: FindLiveDeps): Promise<FindLiveResponse> {
  const { config } = deps;
  const run = beginStage(state, deps, STAGE);

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
    const record = await requireRecordedPrevious(deps, live, target, targetRelease);
    await requireWarm(deps, target, record.release);
  }
  const liveCapacity = await readCapacity(deps.autoScaling, config.colours[live].autoScalingGroupName);
  // From here on a stop of this execution gives all traffic back to the live colour. The write is
  // conditional on this execution holding the lock: nothing else happens if it does not.
  await updateLock(deps, state.executionId, { [LOCK_ATTRIBUTES.restoreTo]: { S: live } }, 'record the live colour');
  logger.info('Live colour found', { live, target, liveCapacity, liveRelease, targetRelease, action: state.action });

  return run.done({
    live,
    target,
    liveCapacity,
    liveRelease,
    targetRelease,
  });
}

/** The way back when a rollback is refused: a normal cutover with the release to go back to. */
function wayBack(release: ColourRelease | undefined, colour?: Colour): string {
  if (!release) {
    return 'To go back to an earlier release, deploy it as a normal cutover: start {"version": "..."} or {"imageId": "ami-..."} with that release. Nothing was changed.';
  }
  return 'The way back is a normal cutover with the previous release: start ' +
    `{"imageId": "${release.imageId}"} or {"version": "${release.version}"}${colour ? ` (what ${colour} last ran)` : ''}. Nothing was changed.`;
}

/**
 * Reads the record of the colour the last cutover left and checks it is the rollback's target:
 * present, not retired, not the live colour, its parameters still holding the recorded release.
 */
async function requireRecordedPrevious(deps: FindLiveDeps, live: Colour, target: Colour, targetRelease: ColourRelease): Promise<PreviousRecord> {
  const { config } = deps;
  const out = await deps.dynamoDb.send(new GetItemCommand({
    TableName: config.lockTableName,
    Key: previousRecordKey(config.fleetId),
    ConsistentRead: true,
  }));
  const record = previousRecord(out.Item);
  const refuse = (why: string, release: ColourRelease | undefined, colour?: Colour) =>
    new NothingToRollBack(`Nothing to roll back to: ${why}. ${wayBack(release, colour)}`);
  if (!record) {
    throw refuse(
      'no cutover of this fleet has recorded a previous colour (a cutover records the colour it left only once the new colour passed its health checks, ' +
      `smoke tests and bake, and ${target} is not such a colour)`,
      undefined,
    );
  }
  const what = `the previous colour (${record.colour}, version ${record.release.version}, image ${record.release.imageId})`;
  if (record.colour === live) {
    throw refuse(
      `${what} already serves all traffic: a rollback, or the recovery of a stopped cutover, already moved traffic back to it, or the ${config.route53 ? 'records were' : 'production rule was'} changed by hand, ` +
      `and ${target} never passed a cutover's checks to become the colour to go back to`,
      record.release,
      record.colour,
    );
  }
  if (record.retired) {
    throw refuse(`${what} is scaled down to zero: it was retired at ${record.retiredAt ?? 'the end of its cutover'}`, record.release, record.colour);
  }
  if (record.colour !== target) {
    // Cannot happen with two colours; guards the record against being read for the wrong colour.
    throw refuse(`${what} is not ${target}, the colour a rollback would move traffic to`, record.release, record.colour);
  }
  if (targetRelease.imageId !== record.release.imageId || targetRelease.version !== record.release.version) {
    throw refuse(
      `${what} no longer holds the release it was left with: its parameters now say version ${targetRelease.version}, image ${targetRelease.imageId} ` +
      '(they were changed after that cutover, so its instances may not run what passed the checks)',
      record.release,
    );
  }
  return record;
}

async function requireWarm(deps: FindLiveDeps, previous: Colour, previousRelease: ColourRelease): Promise<void> {
  const health = await assessColour(deps.autoScaling, deps.elbv2, deps.config.colours[previous]);
  if (health.healthy) return;
  const why = health.capacity.desired === 0
    ? `the previous colour (${previous}) is scaled down to zero`
    : `the previous colour (${previous}) is not healthy: ${health.healthyTargets} of ${health.capacity.desired} instances InService and healthy` +
      (health.problems.length > 0 ? ` (${health.problems.slice(0, 5).join('; ')})` : '');
  throw new NothingToRollBack(`Nothing to roll back to: ${why}. ${wayBack(previousRelease, previous)}`);
}
