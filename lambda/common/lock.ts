import { AttributeValue, ConditionalCheckFailedException, DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { Colour, ColourRelease, FleetConfig, LOCK_ATTRIBUTES, LOCK_PARTITION_KEY, PREVIOUS_RECORD_KEY_SUFFIX } from '../../lib/private/contract';
import { Superseded } from './errors';

/** Whether an error is DynamoDB's failed condition. */
export function isConditionFailure(e: unknown): e is ConditionalCheckFailedException {
  return e instanceof ConditionalCheckFailedException || (e as Error | undefined)?.name === 'ConditionalCheckFailedException';
}

/** The lock item as it was when a condition failed (ReturnValuesOnConditionCheckFailure ALL_OLD). */
export interface LockItem {
  readonly owner?: string;
  readonly phase?: string;
  readonly expiresAt?: number;
  readonly warmUntil?: string;
  /** The colour a stop of the owner gives all traffic back to (see TakenOverLock). */
  readonly restoreTo?: Colour;
  /** The owner's fleet configuration, as JSON text. */
  readonly config?: string;
}

/** Reads the lock attributes from an item, if there is one. */
export function lockItem(item: Record<string, AttributeValue> | undefined): LockItem | undefined {
  if (!item) return undefined;
  const restoreTo = item[LOCK_ATTRIBUTES.restoreTo]?.S;
  return {
    owner: item.owner?.S,
    phase: item.phase?.S,
    expiresAt: item.expiresAt?.N !== undefined ? Number(item.expiresAt.N) : undefined,
    warmUntil: item.warmUntil?.S,
    restoreTo: restoreTo === Colour.BLUE || restoreTo === Colour.GREEN ? restoreTo : undefined,
    config: item[LOCK_ATTRIBUTES.config]?.S,
  };
}

/** The key of a fleet's lock item. */
export function lockKey(fleetId: string): Record<string, AttributeValue> {
  return { [LOCK_PARTITION_KEY]: { S: fleetId } };
}

/** The Superseded error for an execution that found `holder` holding its fleet's lock. */
export function supersededBy(config: FleetConfig, holder: LockItem | undefined, notDone: string): Superseded {
  const who = holder?.owner
    ? `execution ${holder.owner} holds the lock of fleet '${config.fleetId}' now${holder.phase ? ` (phase ${holder.phase})` : ''}`
    : `the lock of fleet '${config.fleetId}' is no longer held by this execution (it was released or deleted)`;
  return new Superseded(
    `Superseded: ${who}, so this execution did not ${notDone} and changes nothing more. ` +
    'It records no result: the execution that holds the fleet now reports what happens next.',
  );
}

/**
 * Checks, with one strongly consistent read, that `executionId` still holds the fleet's lock;
 * throws Superseded otherwise. Every task that changes the fleet calls it before its first change.
 */
export async function requireLock(
  deps: { readonly dynamoDb: DynamoDBClient; readonly config: FleetConfig },
  executionId: string,
  notDone: string,
): Promise<LockItem> {
  const out = await deps.dynamoDb.send(new GetItemCommand({
    TableName: deps.config.lockTableName,
    Key: lockKey(deps.config.fleetId),
    ConsistentRead: true,
  }));
  const held = lockItem(out.Item);
  if (held?.owner !== executionId) throw supersededBy(deps.config, held, notDone);
  return held;
}

/**
 * Sets lock attributes (and removes `remove`) with one conditional write that also checks
 * `executionId` holds the lock; throws Superseded otherwise.
 */
export async function updateLock(
  deps: { readonly dynamoDb: DynamoDBClient; readonly config: FleetConfig },
  executionId: string,
  set: Record<string, AttributeValue>,
  notDone: string,
  remove: readonly string[] = [],
): Promise<void> {
  const names = Object.keys(set);
  const clauses = [
    ...(names.length > 0 ? [`SET ${names.map((_, i) => `#a${i} = :v${i}`).join(', ')}`] : []),
    ...(remove.length > 0 ? [`REMOVE ${remove.map((_, i) => `#r${i}`).join(', ')}`] : []),
  ];
  if (clauses.length === 0) throw new RangeError('updateLock: nothing to set or remove.');
  try {
    await deps.dynamoDb.send(new UpdateItemCommand({
      TableName: deps.config.lockTableName,
      Key: lockKey(deps.config.fleetId),
      UpdateExpression: clauses.join(' '),
      ConditionExpression: '#owner = :me',
      ExpressionAttributeNames: {
        '#owner': 'owner',
        ...Object.fromEntries(names.map((n, i) => [`#a${i}`, n])),
        ...Object.fromEntries(remove.map((n, i) => [`#r${i}`, n])),
      },
      ExpressionAttributeValues: { ':me': { S: executionId }, ...Object.fromEntries(names.map((n, i) => [`:v${i}`, set[n]])) },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    }));
  } catch (e) {
    if (isConditionFailure(e)) throw supersededBy(deps.config, lockItem(e.Item), notDone);
    throw e;
  }
}

/** The record of the colour a cutover left (`<fleetId>#previous`), as the handlers read it. */
export interface PreviousRecord {
  /** The colour traffic left. */
  readonly colour: Colour;
  /** What that colour ran when traffic left it. */
  readonly release: ColourRelease;
  /** The colour that took over. */
  readonly live?: Colour;
  /** The cutover that recorded it. */
  readonly executionId: string;
  readonly recordedAt?: string;
  /** Set when "Scale the previous colour to zero" retired the colour. */
  readonly retired: boolean;
  readonly retiredAt?: string;
}

/** The key of a fleet's previous-colour record. */
export function previousRecordKey(fleetId: string): Record<string, AttributeValue> {
  return { [LOCK_PARTITION_KEY]: { S: `${fleetId}${PREVIOUS_RECORD_KEY_SUFFIX}` } };
}

/** The item recording that a cutover left `colour` (running `release`) for `live`. */
export function previousRecordItem(
  fleetId: string,
  record: { colour: Colour; release: ColourRelease; live: Colour; executionId: string; recordedAt: string },
): Record<string, AttributeValue> {
  return {
    ...previousRecordKey(fleetId),
    colour: { S: record.colour },
    imageId: { S: record.release.imageId },
    version: { S: record.release.version },
    live: { S: record.live },
    executionId: { S: record.executionId },
    recordedAt: { S: record.recordedAt },
    retired: { BOOL: false },
  };
}

/** Reads a previous-colour record; undefined when there is none or it is not one this code wrote. */
export function previousRecord(item: Record<string, AttributeValue> | undefined): PreviousRecord | undefined {
  const colour = item?.colour?.S;
  if (!item || (colour !== Colour.BLUE && colour !== Colour.GREEN)) return undefined;
  const live = item.live?.S;
  return {
    colour: colour as Colour,
    release: { imageId: item.imageId?.S ?? '', version: item.version?.S ?? '' },
    live: live === Colour.BLUE || live === Colour.GREEN ? live as Colour : undefined,
    executionId: item.executionId?.S ?? '',
    recordedAt: item.recordedAt?.S,
    retired: item.retired?.BOOL === true,
    retiredAt: item.retiredAt?.S,
  };
}
