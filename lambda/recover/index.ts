import { ExecutionStoppedEvent } from '../../lib/private/contract';
import { autoScaling, dynamoDb, elbv2, metricsCloudWatch, route53 } from '../common/clients';
import { loadFleetConfig } from '../common/config';
import { realSleep, systemClock } from '../common/deps';
import { recoverStoppedExecution, recoverTakenOver, StoppedExecutionResult } from './recover';

export type { StoppedExecutionResult } from './recover';

/**
 * Two callers: the EventBridge rule on the state machine's execution status changes
 * (`{ kind: 'execution-status', fleetId, lockTableName, executionArn, status }`), and the state
 * machine's "Recover the stopped execution" task (the state, after the start handler took a lock over).
 */
export const handler = async (event: any): Promise<unknown> => {
  const clients = { dynamoDb, elbv2, route53, autoScaling, metrics: metricsCloudWatch, now: systemClock, sleep: realSleep };
  if (event && event.kind === 'execution-status') return recoverStoppedExecution(event as ExecutionStoppedEvent, clients) as Promise<StoppedExecutionResult>;
  return recoverTakenOver(event, { ...clients, config: loadFleetConfig(event) });
};
