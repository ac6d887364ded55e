import { AttributeValue, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import {
  CutoverInput,
  CutoverState,
  IMAGE_ID_PATTERN,
  LOCK_ATTRIBUTES,
  LOCK_EXPIRY_ATTRIBUTE,
  LOCK_PARTITION_KEY,
  LockPhase,
  RECOVERY_OWNER_PREFIX,
  TakenOverLock,
  VERSION_PATTERN,
} from '../../lib/private/contract';
import { BaseDeps } from '../common/deps';
import { CutoverInProgress, InvalidInput, truncate } from '../common/errors';
import { isConditionFailure, LockItem, lockItem } from '../common/lock';
import { logger } from '../common/logger';
import { STATE_NAMES } from '../../lib/private/stage-names';
import { beginStage } from '../common/stage';

export const STAGE = STATE_NAMES.start;

/**
 * The state as the state machine starts it: the raw execution input, the execution id and the
 * fleet's configuration (a literal of the definition: the operator's input never supplies it).
 */
export type StartRequest = Pick<CutoverState, 'input' | 'executionId'> & Partial<CutoverState>;
/** The state with `config`, `action` and `release` set. */
export type StartResponse = CutoverState & Required<Pick<CutoverState, 'config' | 'action' | 'release'>>;

export interface StartDeps extends BaseDeps {
  readonly dynamoDb: DynamoDBClient;
  /** Asks whether the execution holding the lock still runs (DescribeExecution). */
  readonly sfn: SFNClient;
}

const ALLOWED_FIELDS = ['imageId', 'version', 'action', 'startedBy'] as const;

/** Checks the execution input strictly. Throws InvalidInput naming the field, the value and the fix. */
export function validateInput(input: unknown): Required<Pick<CutoverInput, 'action'>> & Pick<CutoverInput, 'imageId' | 'version'> {
  // Step Functions passes {} when an execution is started without input.
  if (input === undefined) return { action: 'deploy' };
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new InvalidInput(
      `the input ${describe(input)} is not a JSON object: use an object such as {}, {"imageId": "ami-0123456789abcdef0"}, {"version": "1.4.2"} or {"action": "rollback"}.`,
    );
  }
  const record = input as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!(ALLOWED_FIELDS as readonly string[]).includes(key)) {
      throw new InvalidInput(`unknown field '${truncate(key, 40)}': the input accepts only imageId, version, action and startedBy.`);
    }
  }
  const { imageId, version, action, startedBy } = record;
  if (startedBy !== undefined && (typeof startedBy !== 'string' || startedBy.length < 1 || startedBy.length > 256)) {
    throw new InvalidInput(`startedBy ${describe(startedBy)} is not a name: use 1 to 256 characters naming who started the execution, such as an IAM ARN or a user name.`);
  }
  if (action !== undefined && action !== 'deploy' && action !== 'rollback') {
    throw new InvalidInput(`action ${describe(action)} is not an action: use 'deploy' (the default) or 'rollback'.`);
  }
  if (imageId !== undefined && (typeof imageId !== 'string' || !IMAGE_ID_PATTERN.test(imageId))) {
    throw new InvalidInput(
      `imageId ${describe(imageId)} is not an AMI id: use 'ami-' followed by 8 or 17 hex digits, such as ami-0123456789abcdef0.`,
    );
  }
  if (version !== undefined && (typeof version !== 'string' || !VERSION_PATTERN.test(version))) {
    throw new InvalidInput(
      `version ${describe(version)} is not a version: use 1 to 128 letters, digits and . _ + - starting with a letter or digit, such as 1.4.2.`,
    );
  }
  if (action === 'rollback' && (imageId !== undefined || version !== undefined)) {
    const fields = [imageId !== undefined ? 'imageId' : undefined, version !== undefined ? 'version' : undefined].filter(Boolean).join(' and ');
    throw new InvalidInput(
      `action 'rollback' takes no ${fields}: a rollback moves traffic back to the previous colour as it is; ` +
      'to deploy a release, leave out action.',
    );
  }
  return {
    action: (action as 'deploy' | 'rollback' | undefined) ?? 'deploy',
    ...(imageId !== undefined ? { imageId: imageId as string } : {}),
    ...(version !== undefined ? { version: version as string } : {}),
  };
}

/** A value as it appears in a message: strings quoted and truncated, anything else as JSON. */
function describe(value: unknown): string {
  if (typeof value === 'string') return `'${truncate(value)}'`;
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch {
    json = undefined;
  }
  return truncate(json ?? String(value));
}

/**
 * Validates the input, then takes the fleet's lock with one conditional PutItem.
 * The lock is free when absent or expired, re-entrant for this execution (a retried task),
 * and a rollback may take over a finished cutover that is only keeping its previous colour warm.
 * A lock held by an execution that no longer runs (stopped from the console, timed out, or failed
 * without releasing it; DescribeExecution says so) is taken over at once, with a second
 * conditional PutItem on that exact owner: no waiting for its lease.
 *
 * Taking over from any other execution (expired or not running) returns `takenOver`: the state
 * machine then runs "Recover the stopped execution", which puts traffic back where a stop leaves
 * it, before this execution goes on.
 */
export async function start(state: StartRequest, deps: StartDeps): Promise<StartResponse> {
  const { config } = deps;
  const run = beginStage(state, deps, STAGE);
  const { startedAt } = run;

  // No AWS call before the input is known to be good.
  const input = validateInput(state.input);
  const phase = input.action === 'rollback' ? LockPhase.ROLLING_BACK : LockPhase.CUTOVER;
  const nowSeconds = Math.floor(startedAt.getTime() / 1000);
  const expiresAt = nowSeconds + config.lockLeaseSeconds;
  const item: Record<string, AttributeValue> = {
    [LOCK_PARTITION_KEY]: { S: config.fleetId },
    owner: { S: state.executionId },
    phase: { S: phase },
    acquiredAt: { S: startedAt.toISOString() },
    [LOCK_EXPIRY_ATTRIBUTE]: { N: String(expiresAt) },
    // What the recovery handler needs if this execution is stopped from outside.
    [LOCK_ATTRIBUTES.config]: { S: JSON.stringify(config) },
  };

  const condition = [
    `attribute_not_exists(${LOCK_PARTITION_KEY})`,
    `${LOCK_EXPIRY_ATTRIBUTE} < :now`,
    '#owner = :me',
    ...(input.action === 'rollback' ? ['phase = :warm'] : []),
  ].join(' OR ');
  let takenOver: TakenOverLock | undefined;
  let handBack: string | undefined;
  try {
    const out = await deps.dynamoDb.send(new PutItemCommand({
      TableName: config.lockTableName,
      Item: item,
      ConditionExpression: condition,
      // `owner` is a DynamoDB reserved word.
      ExpressionAttributeNames: { '#owner': 'owner' },
      ExpressionAttributeValues: {
        ':now': { N: String(nowSeconds) },
        ':me': { S: state.executionId },
        ...(input.action === 'rollback' ? { ':warm': { S: LockPhase.KEEPING_WARM } } : {}),
      },
      ReturnValues: 'ALL_OLD',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    }));
    const old = lockItem(out.Attributes);
    // A rollback taking over a cutover that keeps its previous colour warm is the designed path:
    // that cutover finds the lock gone when it would retire the colour, and stops (Superseded).
    const designed = input.action === 'rollback' && old?.phase === LockPhase.KEEPING_WARM;
    if (old?.owner && old.owner !== state.executionId && !designed) {
      takenOver = takenOverLock(old, 'LEASE_EXPIRED');
    }
    if (designed && old?.owner !== state.executionId) handBack = JSON.stringify(out.Attributes);
  } catch (e) {
    if (!isConditionFailure(e)) throw e;
    const held = lockItem(e.Item);
    const status = held?.owner ? await ownerStatus(held.owner, deps) : 'RUNNING';
    if (status === 'RUNNING' || !held?.owner) {
      throw new CutoverInProgress(lockHeldMessage(config.fleetId, config.lockTableName, held, input.action));
    }
    try {
      await deps.dynamoDb.send(new PutItemCommand({
        TableName: config.lockTableName,
        Item: item,
        ConditionExpression: '#owner = :them',
        ExpressionAttributeNames: { '#owner': 'owner' },
        ExpressionAttributeValues: { ':them': { S: held.owner } },
      }));
    } catch (e2) {
      // Someone else was faster (another start, or the recovery handler).
      if (isConditionFailure(e2)) throw new CutoverInProgress(lockHeldMessage(config.fleetId, config.lockTableName, held, input.action));
      throw e2;
    }
    takenOver = takenOverLock(held, status);
  }
  if (takenOver) {
    logger.warn('Took the lock over from an execution that no longer holds it rightfully', { ...takenOver });
  }
  logger.info('Lock taken', { action: input.action, phase, expiresAt: new Date(expiresAt * 1000).toISOString() });

  const release = {
    ...(input.imageId !== undefined ? { imageId: input.imageId } : {}),
    ...(input.version !== undefined ? { version: input.version } : {}),
  };
  return run.done({
    // The definition's configuration travels on in the state: every later task reads it there.
    config,
    action: input.action,
    release,
    ...(takenOver ? { takenOver } : {}),
    ...(handBack ? { warmLockHandBack: handBack } : {}),
  });
}

function takenOverLock(held: LockItem, ownerStatus: string): TakenOverLock {
  return {
    owner: held.owner!,
    ownerStatus,
    ...(held.phase ? { phase: held.phase } : {}),
    ...(held.expiresAt !== undefined ? { expiresAt: held.expiresAt } : {}),
    ...(held.restoreTo ? { restoreTo: held.restoreTo } : {}),
  };
}

/**
 * The status of the execution that holds the lock: RUNNING, or what it ended with. The recovery
 * handler's own hold (`recovery:...`) counts as running until its short lease expires. An
 * execution Step Functions does not know cannot be running.
 */
async function ownerStatus(owner: string, deps: StartDeps): Promise<string> {
  if (owner.startsWith(RECOVERY_OWNER_PREFIX) || !owner.startsWith('arn:')) return 'RUNNING';
  try {
    const out = await deps.sfn.send(new DescribeExecutionCommand({ executionArn: owner }));
    return out.status ?? 'RUNNING';
  } catch (e) {
    if ((e as Error).name === 'ExecutionDoesNotExist') return 'UNKNOWN';
    throw e;
  }
}

function lockHeldMessage(
  fleetId: string,
  table: string,
  item: LockItem | undefined,
  action: 'deploy' | 'rollback',
): string {
  const owner = item?.owner ?? 'another execution';
  const phase = item?.phase;
  const until = item?.expiresAt !== undefined ? new Date(item.expiresAt * 1000).toISOString() : 'an unknown time';
  const head = `Fleet '${fleetId}' is locked by execution ${owner}${phase ? ` (phase ${phase})` : ''}; its lease expires at ${until}.`;
  if (phase === LockPhase.KEEPING_WARM && action === 'deploy') {
    return `${head} That cutover finished and keeps its previous colour warm until it scales it to zero: ` +
      'start {"action": "rollback"} to go back to the previous colour now, or start this cutover again once it has finished. Nothing was changed.';
  }
  if (item?.owner?.startsWith(RECOVERY_OWNER_PREFIX)) {
    return `${head} The recovery handler is putting the fleet back after that execution stopped: start again in a minute. Nothing was changed.`;
  }
  return `${head} That execution is still running: wait for it to finish and start again, or stop it (in the console, Stop execution ` +
    `is a stop and roll back) and start again at once. Nothing was changed. (The lock is the item '${fleetId}' of the table ${table}.)`;
}
