import { CutoverState } from '../../lib/private/contract';
import { BaseDeps } from './deps';
import { appendStage } from './fleet';
import { setLogContext } from './logger';

/** A stage under way: when it started, and how it ends. */
export interface StageRun {
  /** When the handler started (the injected clock). */
  readonly startedAt: Date;
  /** The state with `extra` merged in and this stage's timing appended (a repeat of the same stage extends its last timing). */
  done<T extends Partial<CutoverState>>(extra?: T): CutoverState & T;
}

/**
 * The handlers' common prologue and epilogue: every log line of the invocation carries the
 * execution, the fleet and the stage, and every answer carries the stage's timing.
 */
export function beginStage(state: CutoverState, deps: BaseDeps, stage: string): StageRun {
  const startedAt = deps.now();
  setLogContext(state, deps.config, stage);
  return {
    startedAt,
    done: <T extends Partial<CutoverState>>(extra?: T) => ({ ...state, ...(extra ?? {}), stages: appendStage(state.stages, stage, startedAt, deps.now()) }) as CutoverState & T,
  };
}
