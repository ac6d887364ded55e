import { Logger } from '@aws-lambda-powertools/logger';
import { CutoverState, FleetConfig } from '../../lib/private/contract';

/** The one logger of every handler: JSON lines with the service name and the keys below. */
export const logger = new Logger({ serviceName: 'blue-green-cutover' });

/** Puts the execution id, the fleet and the stage on every following log line. */
export function setLogContext(state: Pick<CutoverState, 'executionId'> | undefined, config: Pick<FleetConfig, 'fleetId'>, stage: string): void {
  logger.appendPersistentKeys({
    executionId: state?.executionId ?? 'unknown',
    fleetId: config.fleetId,
    stage,
  });
}
