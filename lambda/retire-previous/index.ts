import { autoScaling, dynamoDb, elbv2, route53 } from '../common/clients';
import { loadFleetConfig } from '../common/config';
import { systemClock } from '../common/deps';
import { retirePrevious, RetirePreviousRequest, RetirePreviousResponse } from './retire-previous';

export type { RetirePreviousRequest, RetirePreviousResponse } from './retire-previous';

/** "Scale the previous colour to zero". Payload: the state. */
export const handler = async (event: RetirePreviousRequest): Promise<RetirePreviousResponse> =>
  retirePrevious(event, { dynamoDb, elbv2, route53, autoScaling, config: loadFleetConfig(event), now: systemClock });
