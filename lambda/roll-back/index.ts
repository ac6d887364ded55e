import { dynamoDb, elbv2, metricsCloudWatch, route53 } from '../common/clients';
import { loadFleetConfig } from '../common/config';
import { systemClock } from '../common/deps';
import { rollBack, RollBackRequest, RollBackResponse } from './roll-back';

export type { RollBackRequest, RollBackResponse } from './roll-back';

/** "Move traffic back". Payload: the state. */
export const handler = async (event: RollBackRequest): Promise<RollBackResponse> =>
  rollBack(event, { elbv2, route53, dynamoDb, metrics: metricsCloudWatch, config: loadFleetConfig(event), now: systemClock });
