import { Duration, Token } from 'aws-cdk-lib';
import { isWholeNumber, wholeSeconds } from '../checks';

/**
 * A traffic shift strategy: how production traffic moves to the new colour, and the checks of
 * its options. Each strategy is a file of this folder with a factory on `TrafficShift`; the
 * workflow reads only `steps` and `stepBake`, so a new strategy needs nothing else.
 */
export interface ShiftStrategy {
  /** Name of the strategy, such as `Canary`. */
  readonly kind: string;
  /** The new colour's weight (percent) after each step; the last is 100. */
  readonly steps: number[];
  /** How long each step but the last holds, alarms watched. */
  readonly stepBake: Duration;
  /** The percentage the options gave (canary percent, linear percent per step). */
  readonly percent?: number;
  /**
   * Checks the options, adding a message per problem to `errors`; returns the steps short of
   * 100 % and how long each holds (undefined where it is a token), or undefined when they are invalid.
   */
  check(errors: string[]): ShiftPlan | undefined;
}

/** The steps short of 100 % and how long each holds. */
export interface ShiftPlan {
  readonly partial: number[];
  readonly holdSeconds?: number;
}

/** What a strategy with one percentage and one hold calls its options in messages, and its examples. */
export interface PercentHoldNames {
  readonly percent: string;
  readonly hold: string;
  readonly percentExample: string;
  readonly holdExample: string;
}

/**
 * The checks canary and linear share: a whole percentage from 1 to 99 known at synth time, and a
 * hold of whole seconds, at least 1.
 */
export function checkPercentAndHold(errors: string[], s: ShiftStrategy, names: PercentHoldNames): ShiftPlan | undefined {
  let valid = true;
  const p = s.percent;
  if (p === undefined || Token.isUnresolved(p)) {
    errors.push(`${names.percent} is a token: use a number known at synth time; the state machine has one state per step.`);
    valid = false;
  } else if (!isWholeNumber(p) || p < 1 || p > 99) {
    errors.push(`${names.percent} is ${p}: set it to a whole number from 1 to 99, such as ${names.percentExample}.`);
    valid = false;
  }
  let hold = wholeSeconds(errors, names.hold, s.stepBake, names.holdExample);
  if (hold !== undefined && hold < 1) {
    errors.push(`${names.hold} is ${hold} seconds: set it to at least 1 second, such as ${names.holdExample}.`);
    hold = undefined;
  }
  if (!valid) return undefined;
  return { partial: s.steps.slice(0, -1), holdSeconds: hold };
}
