import { Duration } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SmokeCheckConfig } from './private/contract';
import { AllAtOnce } from './private/strategies/all-at-once';
import { Canary } from './private/strategies/canary';
import { Linear } from './private/strategies/linear';
import { ShiftPlan, ShiftStrategy } from './private/strategies/strategy';

/** Options of one HTTP smoke check. */
export interface HttpSmokeCheckOptions {
  /**
   * Path requested through the test listener, such as `/health` or `/health?deep=1`: it starts
   * with `/`, holds printable ASCII only (percent-encode spaces and other characters), no `#`
   * fragment, at most 1024 characters. Not a full URL: the check calls the test listener (with
   * Route 53 switching, the idle colour's own load balancer).
   */
  readonly path: string;

  /**
   * Status code the response must have: 200 to 599 (a 1xx answer is interim, a check sees the
   * final status). Redirects are not followed, so a 3xx can be expected.
   * @default 200
   */
  readonly expectedStatus?: number;

  /**
   * Text the body must contain: 1 to 1024 characters.
   * @default - the body is not checked
   */
  readonly bodyContains?: string;

  /**
   * A dotted path into the JSON body (such as `version`, `build.commit` or `items.0.id`; no `$`
   * or brackets) whose value must equal `jsonValue`. Set both or neither.
   * @default - the JSON body is not checked
   */
  readonly jsonField?: string;

  /**
   * Value `jsonField` must have, compared as text, at most 1024 characters. `${version}` is
   * replaced by the version being released; it is the only placeholder. Set both or neither.
   * @default - the JSON body is not checked
   */
  readonly jsonValue?: string;

  /**
   * Response headers that must be present (names compared in lower case) with the given value;
   * an empty value accepts any value. Names are HTTP header names, values single-line, each at
   * most 1024 characters.
   * @default - headers are not checked
   */
  readonly headers?: Record<string, string>;

  /**
   * Headers sent with the request: HTTP header names, single-line values, each at most 1024
   * characters.
   * @default - none beyond Host
   */
  readonly requestHeaders?: Record<string, string>;

  /**
   * Longest acceptable response time: a positive whole number of milliseconds. A request is
   * abandoned after twice this (at least 1 second); all checks of all rounds, counted that way,
   * must fit in the smoke-test function's 840 seconds.
   * @default Duration.seconds(2)
   */
  readonly latencyBudget?: Duration;
}

/** An HTTP check run against the idle colour, through the test listener, before traffic moves. */
export class SmokeCheck {
  /** A GET of `options.path` whose response must match the options. */
  public static http(options: HttpSmokeCheckOptions): SmokeCheck {
    return new SmokeCheck(options);
  }

  private constructor(public readonly options: HttpSmokeCheckOptions) {}

  /** @internal */
  public _render(): SmokeCheckConfig {
    const o = this.options;
    return {
      path: o.path,
      expectedStatus: o.expectedStatus ?? 200,
      bodyContains: o.bodyContains,
      jsonField: o.jsonField,
      jsonValue: o.jsonValue,
      headers: o.headers,
      requestHeaders: o.requestHeaders,
      latencyBudgetMs: (o.latencyBudget ?? Duration.seconds(2)).toMilliseconds(),
    };
  }
}

/** Options of {@link TrafficShift.canary}. */
export interface CanaryTrafficShiftOptions {
  /**
   * Percentage of production traffic the new colour takes first: a whole number from 1 to 99.
   */
  readonly percent: number;

  /**
   * How long the canary holds before the rest of the traffic follows. Alarms are checked every
   * `pollInterval` meanwhile; any alarm in ALARM moves all traffic back.
   */
  readonly bake: Duration;
}

/** Options of {@link TrafficShift.linear}. */
export interface LinearTrafficShiftOptions {
  /**
   * Percentage of production traffic added to the new colour at each step: a whole number from
   * 1 to 99. The last step moves whatever is left, so 30 gives 30, 60, 90 and 100.
   */
  readonly percentPerStep: number;

  /**
   * How long each step short of 100 % holds before the next. Alarms are checked every
   * `pollInterval` meanwhile; any alarm in ALARM moves all traffic back.
   */
  readonly stepInterval: Duration;
}

/**
 * How production traffic moves from the live colour to the new one. Each strategy (a file under
 * `lib/private/strategies/`) owns its steps and the checks of its options; the workflow reads
 * only the steps and how long each holds.
 */
export class TrafficShift {
  /** All traffic in one change. */
  public static allAtOnce(): TrafficShift {
    return new TrafficShift(new AllAtOnce());
  }

  /**
   * `percent` of the traffic first, held for `bake` with alarms watched, then the rest.
   * Steps: `[percent, 100]`.
   */
  public static canary(options: CanaryTrafficShiftOptions): TrafficShift {
    return new TrafficShift(new Canary(options.percent, options.bake));
  }

  /**
   * `percentPerStep` more of the traffic at each step, each step short of 100 % held for
   * `stepInterval` with alarms watched. Steps: `[p, 2p, ..., 100]`; the last step clamps to 100.
   */
  public static linear(options: LinearTrafficShiftOptions): TrafficShift {
    return new TrafficShift(new Linear(options.percentPerStep, options.stepInterval));
  }

  /** Name of the strategy: `AllAtOnce`, `Canary` or `Linear`. */
  public readonly kind: string;
  /** The new colour's weight (percent) after each step; the last is 100. */
  public readonly steps: number[];
  /** How long each step but the last holds, alarms watched. */
  public readonly stepBake: Duration;
  /** The canary percentage, or the linear percentage per step, as given. */
  public readonly percent?: number;

  private constructor(private readonly strategy: ShiftStrategy) {
    this.kind = strategy.kind;
    this.steps = strategy.steps;
    this.stepBake = strategy.stepBake;
    this.percent = strategy.percent;
  }

  /**
   * Checks the strategy's options (messages added to `errors`); the steps short of 100 % and how
   * long each holds, or undefined when the options are invalid.
   * @internal
   */
  public _check(errors: string[]): ShiftPlan | undefined {
    return this.strategy.check(errors);
  }
}

/** What a pause of {@link ApprovalGate} does when its timeout passes without a decision. */
export enum ApprovalTimeoutAction {
  /** Go on with the cutover, as if approved. */
  CONTINUE = 'continue',
  /**
   * Undo the cutover: before the shift the idle colour is scaled back to zero and the execution
   * fails with `ApprovalTimedOut`; between shift steps traffic goes back to the previous colour,
   * as after an alarm, and the execution ends `RolledBack`.
   */
  ROLL_BACK = 'roll-back',
}

/**
 * Pauses of the cutover that wait for an operator's decision. Each pause is a state of its own in
 * the Step Functions console ("Wait for approval before the shift", "Wait for approval at 10%"):
 * a task that polls the fleet's table for an approval record every `pollInterval`, until a
 * decision or `timeout`. An operator decides with `npx cdk-ec2-blue-green approve` / `reject`, or
 * by writing the record (`<fleetId>#approval`) in the fleet's lock table. Polling rather than a
 * task token: it runs the same way in the local lab and on AWS, there is no token to lose, and
 * the decision stays in the table for audit; each poll costs one Lambda invocation.
 */
export interface ApprovalGate {
  /**
   * How long each pause waits for a decision, from its first poll: at least 1 second and at
   * least `pollInterval`, whole seconds. Every pause's timeout counts towards the state
   * machine's timeout (a Step Functions execution lasts at most a year).
   */
  readonly timeout: Duration;

  /**
   * What a pause does when `timeout` passes without a decision.
   * @default ApprovalTimeoutAction.ROLL_BACK
   */
  readonly onTimeout?: ApprovalTimeoutAction;

  /**
   * Pause once the idle colour passed its health checks, smoke tests and pre-traffic hook, before
   * any production traffic moves.
   * @default true
   */
  readonly beforeShift?: boolean;

  /**
   * Pause after each step of a canary or linear shift short of 100 %, once the step has held
   * for its time, before the next step. Alarms and the new colour's health are still checked at
   * every poll of the pause: an alarm moves traffic back. Has no effect with
   * `TrafficShift.allAtOnce()` (a warning says so).
   * @default false
   */
  readonly betweenSteps?: boolean;

  /**
   * How often a pause looks for a decision (and, between steps, at the alarms): whole seconds,
   * at least 1. A long timeout may need a longer interval: every poll adds events to the
   * execution's history (at most 25,000).
   * @default - the cutover's `pollInterval`
   */
  readonly pollInterval?: Duration;
}

/** Settings of the cutover workflow. */
export interface CutoverOptions {
  /**
   * How often the workflow polls instance health and alarms.
   * @default Duration.seconds(10)
   */
  readonly pollInterval?: Duration;

  /**
   * How long the idle colour may take to have every instance InService and healthy.
   * On timeout it is scaled back to zero and the cutover fails with `IdleNotHealthy`.
   * @default Duration.minutes(10)
   */
  readonly healthyTimeout?: Duration;

  /**
   * HTTP checks run against the idle colour through the test listener before traffic moves, each
   * built with `SmokeCheck.http({ path: '/health', ... })` (options: `HttpSmokeCheckOptions`).
   * Every check is validated at synth.
   * @default - no HTTP checks
   */
  readonly smokeChecks?: SmokeCheck[];

  /**
   * How many times every smoke check is run; each round must pass.
   * @default 3
   */
  readonly smokeRounds?: number;

  /**
   * A Lambda function invoked after the smoke checks, before traffic moves. It receives
   * `{ fleetId, colour, release, testListenerPort }`; an error fails the cutover with
   * `SmokeTestFailed`.
   * @default - no hook
   */
  readonly preTrafficHook?: lambda.IFunction;

  /**
   * How traffic moves: all at once, a canary, or linear steps.
   * @default TrafficShift.allAtOnce()
   */
  readonly trafficShift?: TrafficShift;

  /**
   * How long alarms are watched after all traffic has moved. Any alarm in ALARM rolls back.
   * @default Duration.minutes(5)
   */
  readonly bakeTime?: Duration;

  /**
   * How long the previous colour stays running after the bake, so that
   * `{"action":"rollback"}` is instant. Then it is scaled to zero. With Route 53 switching keep it
   * at several record TTLs: clients and resolvers may hold the old answer that long and longer.
   * @default Duration.minutes(10)
   */
  readonly keepPreviousWarm?: Duration;

  /**
   * Target-group stickiness on the production rule while a canary or linear shift splits
   * traffic: a client keeps the colour it first got for this long (1 second to 7 days), so it
   * does not flip between releases from one request to the next. The workflow sets it at run
   * time with the weights, never in the template, and switches it off whenever one colour has all
   * the traffic: after the last step, and in every rollback, no client stays pinned to the colour
   * traffic left. Needs the listener-rule traffic switch.
   * @default - no stickiness: each request is routed by the weights alone
   */
  readonly stickinessDuration?: Duration;

  /**
   * Pauses that wait for an operator's approval: before the shift and/or between canary or
   * linear steps, each up to a timeout, with a default action on timeout.
   * @default - no pause: the cutover runs from start to end on its own
   */
  readonly approval?: ApprovalGate;
}
