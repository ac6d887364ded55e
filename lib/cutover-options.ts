import { Duration } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SmokeCheckConfig } from './contract';

/** Options of one HTTP smoke check. */
export interface HttpSmokeCheckOptions {
  /**
   * Path requested through the test listener.
   */
  readonly path: string;

  /**
   * Status code the response must have.
   * @default 200
   */
  readonly expectedStatus?: number;

  /**
   * Text the body must contain.
   * @default - the body is not checked
   */
  readonly bodyContains?: string;

  /**
   * A dotted path into the JSON body (such as `version` or `build.commit`) whose value must
   * equal `jsonValue`.
   * @default - the JSON body is not checked
   */
  readonly jsonField?: string;

  /**
   * Value `jsonField` must have, compared as text. `${version}` is replaced by the version
   * being released.
   * @default - required when `jsonField` is set
   */
  readonly jsonValue?: string;

  /**
   * Response headers that must be present (lower-case names) with the given value; an empty
   * value accepts any value.
   * @default - headers are not checked
   */
  readonly headers?: Record<string, string>;

  /**
   * Headers sent with the request.
   * @default - none beyond Host
   */
  readonly requestHeaders?: Record<string, string>;

  /**
   * Longest acceptable response time.
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

/** How production traffic moves from the live colour to the new one. */
export class TrafficShift {
  /** All traffic in one listener-rule change. */
  public static allAtOnce(): TrafficShift {
    return new TrafficShift('AllAtOnce', [100], Duration.seconds(0));
  }

  /**
   * @param kind name of the strategy, for messages
   * @param steps the new colour's weight (percent) after each step; the last is 100
   * @param stepBake how long alarms are watched after each step but the last
   */
  protected constructor(public readonly kind: string, public readonly steps: number[], public readonly stepBake: Duration) {}
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
   * HTTP checks run against the idle colour through the test listener before traffic moves.
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
   * How traffic moves.
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
   * `{"action":"rollback"}` is instant. Then it is scaled to zero.
   * @default Duration.minutes(10)
   */
  readonly keepPreviousWarm?: Duration;
}
