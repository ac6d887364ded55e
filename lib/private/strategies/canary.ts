import { Duration } from 'aws-cdk-lib';
import { checkPercentAndHold, ShiftPlan, ShiftStrategy } from './strategy';

/** `percent` first, held for `bake` with alarms watched, then the rest: steps `[percent, 100]`. */
export class Canary implements ShiftStrategy {
  public readonly kind = 'Canary';
  public readonly steps: number[];

  constructor(public readonly percent: number, public readonly stepBake: Duration) {
    this.steps = [percent, 100];
  }

  public check(errors: string[]): ShiftPlan | undefined {
    return checkPercentAndHold(errors, this, {
      percent: 'cutover.trafficShift canary percent',
      hold: 'cutover.trafficShift canary bake',
      percentExample: '10',
      holdExample: 'Duration.minutes(5)',
    });
  }
}
