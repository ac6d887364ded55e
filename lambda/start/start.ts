import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import {
  CutoverInput,
  CutoverState,
  IMAGE_ID_PATTERN,
  LOCK_EXPIRY_ATTRIBUTE,
  LOCK_PARTITION_KEY,
  LockPhase,
  VERSION_PATTERN,
} from '../../lib/contract';
import { BaseDeps } from '../common/deps';
import { CutoverInProgress, InvalidInput, truncate } from '../common/errors';
import { appendStage } from '../common/fleet';
import { isConditionFailure, LockItem, lockItem } from '../common/lock';
import { logger, setLogContext } from '../common/logger';

export const STAGE = 'Validate input and take the lock';

/**
 * The state as the state machine starts it: the raw execution input, the execution id and the
 * fleet's configuration (a literal of the definition: the operator's input never supplies it).
 */
export type StartRequest = Pick<CutoverState, 'input' | 'executionId'> & Partial<CutoverState>;
/** The state with `config`, `action` and `release` set. */
export type StartResponse = CutoverState & Required<Pick<CutoverState, 'config' | 'action' | 'release'>>;

export interface StartDeps extends BaseDeps {
  readonly dynamoDb: DynamoDBClient;
}

const ALLOWED_FIELDS = ['imageId', 'version', 'action'] as const;

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
      throw new InvalidInput(`unknown field '${truncate(key, 40)}': the input accepts only imageId, version and action.`);
    }
  }
  const { imageId, version, action } = record;
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
 */
export async function start(state: StartRequest, deps: StartDeps): Promise<StartResponse> {
  const { config } = deps;
  const startedAt = deps.now();
  setLogContext(state, config, STAGE);

  // No AWS call before the input is known to be good.
  const input = validateInput(state.input);
  const phase = input.action === 'rollback' ? LockPhase.ROLLING_BACK : LockPhase.CUTOVER;
  const nowSeconds = Math.floor(startedAt.getTime() / 1000);
  const expiresAt = nowSeconds + config.lockLeaseSeconds;

  const condition = [
    `attribute_not_exists(${LOCK_PARTITION_KEY})`,
    `${LOCK_EXPIRY_ATTRIBUTE} < :now`,
    '#owner = :me',
    ...(input.action === 'rollback' ? ['phase = :warm'] : []),
  ].join(' OR ');
  try {
    await deps.dynamoDb.send(new PutItemCommand({
      TableName: config.lockTableName,
      Item: {
        [LOCK_PARTITION_KEY]: { S: config.fleetId },
        owner: { S: state.executionId },
        phase: { S: phase },
        acquiredAt: { S: startedAt.toISOString() },
        [LOCK_EXPIRY_ATTRIBUTE]: { N: String(expiresAt) },
      },
      ConditionExpression: condition,
      // `owner` is a DynamoDB reserved word.
      ExpressionAttributeNames: { '#owner': 'owner' },
      ExpressionAttributeValues: {
        ':now': { N: String(nowSeconds) },
        ':me': { S: state.executionId },
        ...(input.action === 'rollback' ? { ':warm': { S: LockPhase.KEEPING_WARM } } : {}),
      },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    }));
  } catch (e) {
    if (isConditionFailure(e)) {
      throw new CutoverInProgress(lockHeldMessage(config.fleetId, config.lockTableName, lockItem(e.Item), input.action));
    }
    throw e;
  }
  logger.info('Lock taken', { action: input.action, phase, expiresAt: new Date(expiresAt * 1000).toISOString() });

  const release = {
    ...(input.imageId !== undefined ? { imageId: input.imageId } : {}),
    ...(input.version !== undefined ? { version: input.version } : {}),
  };
  return {
    ...state,
    // The definition's configuration travels on in the state: every later task reads it there.
    config,
    action: input.action,
    release,
    stages: appendStage(state.stages, STAGE, startedAt, deps.now()),
  };
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
  return `${head} Wait for it to finish and start again; if it was stopped, delete the item '${fleetId}' from the table ${table} ` +
    'or wait for the lease to expire. Nothing was changed.';
}
