import { SNSClient } from '@aws-sdk/client-sns';
import { autoScaling, CLIENT_CONFIG, cloudWatch, dynamoDb, elbv2, nameSocketErrors } from '../common/clients';
import { loadFleetConfig } from '../common/config';
import { systemClock } from '../common/deps';
import { approvalGate, ApprovalGateRequest, ApprovalGateResponse } from './approval-gate';

export type { ApprovalGateRequest, ApprovalGateResponse } from './approval-gate';

// Only this handler publishes: its client lives here, not among the shared ones.
const sns = nameSocketErrors(new SNSClient(CLIENT_CONFIG));

/** "Wait for approval before the shift" / "Wait for approval at N%". Payload: `{ state, weight?, timeoutSeconds, onTimeout }`. */
export const handler = async (event: ApprovalGateRequest): Promise<ApprovalGateResponse> =>
  approvalGate(event, { dynamoDb, cloudWatch, autoScaling, elbv2, sns, config: loadFleetConfig(event, 'state.config'), now: systemClock });
