import { dynamoDb } from '../common/clients';
import { loadFleetConfig } from '../common/config';
import { systemClock } from '../common/deps';
import { start, StartRequest, StartResponse } from './start';

export type { StartRequest, StartResponse } from './start';

/** "Validate input and take the lock". Payload: the state `{ input, executionId }`. */
export const handler = async (event: StartRequest): Promise<StartResponse> =>
  start(event, { dynamoDb, config: loadFleetConfig(), now: systemClock });
