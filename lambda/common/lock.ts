import { AttributeValue, ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';

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
