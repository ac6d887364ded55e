import { autoScaling, dynamoDb, elbv2, route53, ssm } from '../common/clients';
import { loadFleetConfig } from '../common/config';
import { systemClock } from '../common/deps';
import { findLive, FindLiveRequest, FindLiveResponse } from './find-live';

export type { FindLiveRequest, FindLiveResponse } from './find-live';

/** "Find the live colour". Payload: the state. */
export const handler = async (event: FindLiveRequest): Promise<FindLiveResponse> =>
  findLive(event, { elbv2, route53, autoScaling, ssm, dynamoDb, config: loadFleetConfig(event), now: systemClock });
