import { autoScaling, cloudWatch, elbv2 } from '../common/clients';
import { loadFleetConfig } from '../common/config';
import { systemClock } from '../common/deps';
import { checkAlarms, CheckAlarmsRequest, CheckAlarmsResponse } from './check-alarms';

export type { CheckAlarmsRequest, CheckAlarmsResponse } from './check-alarms';

/** "Watch alarms during bake" (and between shift steps). Payload: `{ state, phase }`. */
export const handler = async (event: CheckAlarmsRequest): Promise<CheckAlarmsResponse> =>
  checkAlarms(event, { cloudWatch, autoScaling, elbv2, config: loadFleetConfig(event, 'state.config'), now: systemClock });
