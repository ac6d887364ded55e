import { autoScaling, dynamoDb, elbv2, route53 } from '../common/clients';
import { loadFleetConfig } from '../common/config';
import { systemClock } from '../common/deps';
import { scaleToZero, ScaleToZeroRequest, ScaleToZeroResponse } from './scale-to-zero';

export type { ScaleToZeroRequest, ScaleToZeroResponse } from './scale-to-zero';

/** "Scale the idle colour back to zero" / "Scale the failed colour to zero". Payload: `{ state, colour }`. */
export const handler = async (event: ScaleToZeroRequest): Promise<ScaleToZeroResponse> =>
  scaleToZero(event, { elbv2, route53, autoScaling, dynamoDb, config: loadFleetConfig(event, 'state.config'), now: systemClock });
