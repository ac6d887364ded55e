import { dynamoDb } from '../common/clients';
import { loadFleetConfig } from '../common/config';
import { systemClock } from '../common/deps';
import { keepWarm, KeepWarmRequest, KeepWarmResponse } from './keep-warm';

export type { KeepWarmRequest, KeepWarmResponse } from './keep-warm';

/** "Keep the previous colour warm". Payload: the state. */
export const handler = async (event: KeepWarmRequest): Promise<KeepWarmResponse> =>
  keepWarm(event, { dynamoDb, config: loadFleetConfig(event), now: systemClock });
