import { FleetConfig } from '../../lib/contract';

/** What every logic function receives besides its clients: the fleet and a clock (injected by tests). */
export interface BaseDeps {
  readonly config: FleetConfig;
  readonly now: () => Date;
}

/** The real clock. */
export const systemClock = (): Date => new Date();
