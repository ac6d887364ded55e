import { dynamoDb } from '../common/clients';
import { loadFleetConfig } from '../common/config';
import { realSleep, systemClock } from '../common/deps';
import { releaseLock, ReleaseLockRequest, ReleaseLockResponse } from './release-lock';

export type { ReleaseLockRequest, ReleaseLockResponse } from './release-lock';

/** "Release the lock". Payload: `{ state, outcome }`. */
export const handler = async (event: ReleaseLockRequest): Promise<ReleaseLockResponse> =>
  releaseLock(event, { dynamoDb, sleep: realSleep, config: loadFleetConfig(event, 'state.config'), now: systemClock });
