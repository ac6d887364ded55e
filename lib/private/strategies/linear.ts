import { Duration } from 'aws-cdk-lib';
import { checkPercentAndHold, ShiftPlan, ShiftStrategy } from './strategy';

/** `percentPerStep` more at each step, each short of 100 % held for `stepInterval`: steps `[p, 2p, ..., 100]`. */
export class Linear implements ShiftStrategy {
  public readonly kind = 'Linear';
  public readonly steps: number[];

  constructor(public readonly percent: number, public readonly stepBake: Duration) {
    this.steps = linearSteps(percent);
  }

  public check(errors: string[]): ShiftPlan | undefined {
    return checkPercentAndHold(errors, this, {
      percent: 'cutover.trafficShift linear percentPerStep',
      hold: 'cutover.trafficShift linear stepInterval',
      percentExample: '25 (the last step moves what is left: 30 gives 30, 60, 90 and 100)',
      holdExample: 'Duration.minutes(2)',
    });
  }
}

/**
 * `[p, 2p, ..., 100]`. A percentage that is not a whole number from 1 to 99 gives `[100]`:
 * validation rejects it with a message, and a bad value must not build a huge state machine first.
 */
export function linearSteps(percentPerStep: number): number[] {
  if (!Number.isInteger(percentPerStep) || percentPerStep < 1 || percentPerStep > 99) return [100];
  const steps: number[] = [];
  for (let w = percentPerStep; w < 100; w += percentPerStep) steps.push(w);
  return [...steps, 100];
}
