import { autoScaling, dynamoDb, ec2, elbv2 } from '../common/clients';
import { loadFleetConfig } from '../common/config';
import { systemClock } from '../common/deps';
import { checkHealth, CheckHealthRequest, CheckHealthResponse } from './check-health';

export type { CheckHealthRequest, CheckHealthResponse } from './check-health';

/** "Check the idle colour's health". Payload: the state. */
export const handler = async (event: CheckHealthRequest): Promise<CheckHealthResponse> =>
  checkHealth(event, { elbv2, autoScaling, ec2, dynamoDb, config: loadFleetConfig(event), now: systemClock });
