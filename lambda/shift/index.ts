import { dynamoDb, elbv2, metricsCloudWatch, route53 } from '../common/clients';
import { loadFleetConfig } from '../common/config';
import { systemClock } from '../common/deps';
import { shift, ShiftRequest, ShiftResponse } from './shift';

export type { ShiftRequest, ShiftResponse } from './shift';

/** "Shift traffic". Payload: `{ state, weight }`. */
export const handler = async (event: ShiftRequest): Promise<ShiftResponse> =>
  shift(event, { elbv2, route53, dynamoDb, metrics: metricsCloudWatch, config: loadFleetConfig(event, 'state.config'), now: systemClock });
