import { AttributeValue, ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { Colour, ColourRelease, LOCK_PARTITION_KEY, PREVIOUS_RECORD_KEY_SUFFIX } from '../../lib/contract';

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
}

/** Reads the lock attributes from an item, if there is one. */
export function lockItem(item: Record<string, AttributeValue> | undefined): LockItem | undefined {
  if (!item) return undefined;
  return {
    owner: item.owner?.S,
    phase: item.phase?.S,
    expiresAt: item.expiresAt?.N !== undefined ? Number(item.expiresAt.N) : undefined,
    warmUntil: item.warmUntil?.S,
  };
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
