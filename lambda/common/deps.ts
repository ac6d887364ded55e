import { FleetConfig } from '../../lib/private/contract';

/** What every logic function receives besides its clients: the fleet and a clock (injected by tests). */
export interface BaseDeps {
  readonly config: FleetConfig;
  readonly now: () => Date;
}

/** The real clock. */
export const systemClock = (): Date => new Date();

/** Waits `ms` milliseconds. Tests inject one that moves their clock instead. */
export type Sleep = (ms: number) => Promise<void>;

/** The real wait. */
export const realSleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
