import { dynamoDb, sfn } from '../common/clients';
import { loadFleetConfig } from '../common/config';
import { systemClock } from '../common/deps';
import { start, StartRequest, StartResponse } from './start';

export type { StartRequest, StartResponse } from './start';

/** "Validate input and take the lock". Payload: `{ input, executionId, config }` (the configuration from the definition). */
export const handler = async (event: StartRequest): Promise<StartResponse> =>
  start(event, { dynamoDb, sfn, config: loadFleetConfig(event), now: systemClock });
