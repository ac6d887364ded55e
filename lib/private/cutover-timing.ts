import {
  LAMBDA_NOT_READY_RETRY, retryWaitSeconds, RetryBudget, ROLLBACK_ANY_ERROR_RETRY, ROLLBACK_TRANSIENT_RETRY, THROTTLING_RETRY, TRANSIENT_RETRY,
} from './contract';
import { Token } from 'aws-cdk-lib';
import type { CutoverOptions, SmokeCheck } from '../cutover-options';
import { knownMilliseconds } from './checks';
import { ALIAS_RECORD_TTL_SECONDS, CUTOVER_DEFAULTS, DNS_DRAIN_TTLS, LIMITS } from './defaults';

// The timing model of a cutover: how long each task and the whole workflow may take with every
// retry, and the execution history it may record. Computed once per fleet by cutoverTiming(),
// which validation (is it within Step Functions' limits?) and the workflow (its timeout, the
// lock lease, task timeouts) both use.

/** Timeout of a workflow task's function; shift and roll-back get longer with Route 53 (they wait for INSYNC). */
export const TASK_TIMEOUT_SECONDS = 60;
export const DNS_TASK_TIMEOUT_SECONDS = 300;

/** The cutover options with defaults applied, in seconds (undefined where a value is a token or invalid). */
export interface CutoverTiming {
  readonly pollSeconds: number;
  readonly healthySeconds: number;
  readonly smokeSeconds: number;
  /** How long each step short of 100 % holds. */
  readonly partialStepSeconds: number[];
  /** How many shift tasks run (steps, including the last). */
  readonly shiftTasks: number;
  /** Longest a shift task may run (its function timeout). */
  readonly shiftTaskSeconds: number;
  readonly bakeSeconds: number;
  readonly warmSeconds: number;
  /** Wait after a rollback before the colour traffic left is scaled to zero (DNS caching). */
  readonly drainSeconds: number;
  /** The approval pauses (`cutover.approval`): how many, each one's timeout and poll interval. */
  readonly approval?: ApprovalTiming;
}

/** The approval pauses of a cutover. */
export interface ApprovalTiming {
  /** How many pauses the longest path has: before the shift, and one per partial step. */
  readonly pauses: number;
  readonly timeoutSeconds: number;
  readonly pollSeconds: number;
}

/** Margin added to the worst case, for the state machine's own transitions. */
const TIMEOUT_MARGIN_SECONDS = 15 * 60;

/**
 * History events of one poll of a loop: a Lambda task (entered, scheduled, started, succeeded,
 * exited), its Choice (entered, exited) and its Wait (entered, exited).
 */
const EVENTS_PER_POLL = 9;
/** History events of everything that is not a poll, with room for retries and the rollback path. */
const FIXED_EVENTS = 400;
const EVENTS_PER_SHIFT = 12;

/**
 * The longest a cutover can take, which the state machine's timeout and the lock lease follow:
 * the waits (health, shift steps, bake, warm, DNS drain, one poll interval each loop may
 * overrun) plus, for every task the longest path runs, its worst case with every retry
 * ({@link taskWorstCaseSeconds}). A loop runs until its deadline: it may overrun it by two
 * tasks (one started just before the deadline, and the one that sees it passed).
 * The longest path: start, find the live colour, prepare, the health loop, smoke tests, each
 * shift and the loop of each partial step, the bake loop, keep warm (which may fail and move
 * traffic back), retire or scale the failed colour down, release the lock.
 */
export function cutoverTimeoutSeconds(t: CutoverTiming): number {
  const steps = t.partialStepSeconds.reduce((sum, s) => sum + s + t.pollSeconds, 0);
  // Each approval pause waits up to its timeout, overrun by one poll interval like the loops.
  const pauses = t.approval ? t.approval.pauses * (t.approval.timeoutSeconds + t.approval.pollSeconds) : 0;
  const waits = t.healthySeconds + t.pollSeconds + steps + t.bakeSeconds + t.pollSeconds + t.warmSeconds + t.drainSeconds + pauses;
  const task = taskWorstCaseSeconds(TASK_TIMEOUT_SECONDS);
  // start, find-live, prepare, 2 health checks, 2 checks per partial step, 2 bake checks,
  // keep-warm, retire-previous (or a scale-down), release-lock; 2 polls per approval pause.
  const ordinaryTasks = 3 + 2 + 2 * t.partialStepSeconds.length + 2 + 3 + 2 * (t.approval?.pauses ?? 0);
  const tasks = ordinaryTasks * task
    + taskWorstCaseSeconds(smokeFunctionTimeoutSeconds(t.smokeSeconds))
    + t.shiftTasks * taskWorstCaseSeconds(t.shiftTaskSeconds)
    + rollbackWorstCaseSeconds(t.shiftTaskSeconds);
  return Math.ceil(waits + tasks + TIMEOUT_MARGIN_SECONDS);
}

/** A Lambda task's TimeoutSeconds is its function's timeout plus this: a hung invocation ends as States.Timeout. */
export const TASK_TIMEOUT_MARGIN_SECONDS = 10;

/** What the smoke-test function's timeout adds to the checks' budget: its own start and finding the load balancer. */
export const SMOKE_FUNCTION_MARGIN_SECONDS = 60;

/** The function timeout of the smoke tests: their budget plus a minute, at most Lambda's 15 minutes. */
export function smokeFunctionTimeoutSeconds(smokeBudgetSeconds: number): number {
  return Math.min(LIMITS.maxFunctionSeconds, Math.ceil(smokeBudgetSeconds) + SMOKE_FUNCTION_MARGIN_SECONDS);
}

/**
 * The longest one task can take with its retries, for a function timeout: every attempt the
 * throttling and transient retriers allow ({@link THROTTLING_RETRY}, `transient`, and `extra`)
 * runs until the task's TimeoutSeconds, plus every wait between attempts. The attempts of
 * {@link LAMBDA_NOT_READY_RETRY} only wait: Lambda refuses those invocations before the function runs.
 */
export function taskWorstCaseSeconds(functionSeconds: number, transient: RetryBudget = TRANSIENT_RETRY, extra: RetryBudget[] = []): number {
  const retriers = [THROTTLING_RETRY, transient, ...extra];
  const attempts = 1 + retriers.reduce((sum, r) => sum + r.maxAttempts, 0);
  const waits = [...retriers, LAMBDA_NOT_READY_RETRY].reduce((sum, r) => sum + retryWaitSeconds(r), 0);
  return attempts * (functionSeconds + TASK_TIMEOUT_MARGIN_SECONDS) + waits;
}

/** {@link taskWorstCaseSeconds} of "Move traffic back": the rollback budget and its last, any-error retrier. */
export function rollbackWorstCaseSeconds(functionSeconds: number): number {
  return taskWorstCaseSeconds(functionSeconds, ROLLBACK_TRANSIENT_RETRY, [ROLLBACK_ANY_ERROR_RETRY]);
}

/**
 * From the decision to roll back to traffic back, when the failures are the transient errors
 * and timeouts of {@link TRANSIENT_ERRORS} only: every attempt of "Move traffic back" runs until
 * its TimeoutSeconds, plus every wait of {@link ROLLBACK_TRANSIENT_RETRY}.
 */
export function transientRevertWorstCaseSeconds(functionSeconds: number): number {
  return (1 + ROLLBACK_TRANSIENT_RETRY.maxAttempts) * (functionSeconds + TASK_TIMEOUT_MARGIN_SECONDS) + retryWaitSeconds(ROLLBACK_TRANSIENT_RETRY);
}

/** The worst-case number of polls (health, shift steps, bake) and history events of a cutover. */
export function cutoverHistory(t: CutoverTiming): { polls: number; events: number } {
  const loops = [t.healthySeconds, ...t.partialStepSeconds, t.bakeSeconds];
  const a = t.approval;
  const pausePolls = a ? a.pauses * (Math.ceil(a.timeoutSeconds / a.pollSeconds) + 1) : 0;
  const polls = loops.reduce((sum, s) => sum + Math.ceil(s / t.pollSeconds) + 1, 0) + pausePolls;
  return { polls, events: polls * EVENTS_PER_POLL + t.shiftTasks * EVENTS_PER_SHIFT + FIXED_EVENTS };
}

/** What the timing is computed from: the cutover options with defaults applied, in seconds. */
export interface TimingInputs {
  readonly pollSeconds: number;
  readonly healthySeconds: number;
  /** The smoke checks' budget (every check of every round). */
  readonly smokeSeconds: number;
  /** Steps of the traffic shift short of 100 % (0 for all at once). */
  readonly partialSteps: number;
  /** How long each of them holds. */
  readonly stepHoldSeconds: number;
  readonly bakeSeconds: number;
  readonly warmSeconds: number;
  /** Whether traffic is switched by Route 53 records. */
  readonly route53: boolean;
  /** The records' effective TTL (Route 53 only): the record's, or the load balancer's for alias records. */
  readonly dnsTtlSeconds?: number;
  /** The approval gate, when `cutover.approval` is set. */
  readonly approval?: {
    readonly beforeShift: boolean;
    /** Whether a pause follows each partial step. */
    readonly betweenSteps: boolean;
    readonly timeoutSeconds: number;
    readonly pollSeconds: number;
  };
}

/** The cutover's timing, the one place it is assembled. */
export function cutoverTiming(i: TimingInputs): CutoverTiming {
  return {
    pollSeconds: i.pollSeconds,
    healthySeconds: i.healthySeconds,
    smokeSeconds: i.smokeSeconds,
    partialStepSeconds: Array.from({ length: i.partialSteps }, () => i.stepHoldSeconds),
    shiftTasks: i.partialSteps + 1,
    shiftTaskSeconds: i.route53 ? DNS_TASK_TIMEOUT_SECONDS : TASK_TIMEOUT_SECONDS,
    bakeSeconds: i.bakeSeconds,
    warmSeconds: i.warmSeconds,
    drainSeconds: i.route53 ? DNS_DRAIN_TTLS * (i.dnsTtlSeconds ?? ALIAS_RECORD_TTL_SECONDS) : 0,
    ...(i.approval ? {
      approval: {
        pauses: (i.approval.beforeShift ? 1 : 0) + (i.approval.betweenSteps ? i.partialSteps : 0),
        timeoutSeconds: i.approval.timeoutSeconds,
        pollSeconds: i.approval.pollSeconds,
      },
    } : {}),
  };
}

/** Longest the smoke tests may take: each check twice its latency budget (at least 1 s), every round. */
export function smokeSeconds(options: CutoverOptions): number {
  const rounds = options.smokeRounds ?? CUTOVER_DEFAULTS.smokeRounds;
  const checks: Array<Partial<SmokeCheck> | undefined> = Array.isArray(options.smokeChecks) ? options.smokeChecks : [];
  const perRound = checks.reduce((sum, c) => {
    const budget = c?.options?.latencyBudget ?? CUTOVER_DEFAULTS.smokeLatencyBudget;
    const ms = knownMilliseconds(budget) ?? CUTOVER_DEFAULTS.smokeLatencyBudget.toMilliseconds();
    return sum + Math.max(2 * ms, 1000);
  }, 0);
  return (perRound * (rounds !== undefined && !Token.isUnresolved(rounds) ? rounds : CUTOVER_DEFAULTS.smokeRounds)) / 1000;
}
