import { autoScaling, dynamoDb, ec2, elbv2, ssm } from '../common/clients';
import { loadFleetConfig } from '../common/config';
import { realSleep, systemClock } from '../common/deps';
import { prepare, PrepareRequest, PrepareResponse } from './prepare';

export type { PrepareRequest, PrepareResponse } from './prepare';

/** "Prepare the idle colour". Payload: the state. */
export const handler = async (event: PrepareRequest): Promise<PrepareResponse> =>
  prepare(event, { elbv2, autoScaling, ssm, ec2, dynamoDb, sleep: realSleep, config: loadFleetConfig(event), now: systemClock });
