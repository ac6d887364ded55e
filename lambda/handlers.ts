/**
 * The handler folders: each `lambda/<name>/index.ts` exports `handler` and is bundled on its
 * own. Constants only, so the build script and the constructs can import this cheaply.
 */
export const HANDLER_NAMES = {
  start: 'start',
  findLive: 'find-live',
  prepare: 'prepare',
  checkHealth: 'check-health',
  smokeTest: 'smoke-test',
  shift: 'shift',
  checkAlarms: 'check-alarms',
  rollBack: 'roll-back',
  scaleToZero: 'scale-to-zero',
  keepWarm: 'keep-warm',
  retirePrevious: 'retire-previous',
  releaseLock: 'release-lock',
} as const;

/** A handler folder name, such as `find-live`. */
export type HandlerName = (typeof HANDLER_NAMES)[keyof typeof HANDLER_NAMES];

/** Every handler folder name, in workflow order. */
export const ALL_HANDLER_NAMES: readonly HandlerName[] = Object.values(HANDLER_NAMES);
