import { ec2 } from '../common/clients';
import { loadFleetConfig } from '../common/config';
import { systemClock } from '../common/deps';
import { smokeTest, SmokeTestRequest, SmokeTestResponse } from './smoke-test';

export type { SmokeTestRequest, SmokeTestResponse } from './smoke-test';

/** "Run smoke tests". Payload: the state. */
export const handler = async (event: SmokeTestRequest): Promise<SmokeTestResponse> =>
  smokeTest(event, { ec2, config: loadFleetConfig(), now: systemClock });
