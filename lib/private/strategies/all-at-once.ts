import { Duration } from 'aws-cdk-lib';
import { ShiftPlan, ShiftStrategy } from './strategy';

/** All traffic in one change: steps `[100]`, nothing to hold, nothing to check. */
export class AllAtOnce implements ShiftStrategy {
  public readonly kind = 'AllAtOnce';
  public readonly steps = [100];
  public readonly stepBake = Duration.seconds(0);

  public check(): ShiftPlan {
    return { partial: [], holdSeconds: 0 };
  }
}
