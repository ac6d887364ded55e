import { FleetErrorName } from '../fleet-errors';

/**
 * Thrown when a `BlueGreenFleet` is given props that cannot work. Not part of the jsii API (an
 * `Error` subclass cannot be): match on its `name`, {@link FleetErrorName.INVALID_PROPS}.
 */
export class BlueGreenFleetPropsError extends Error {
  constructor(path: string, public readonly problems: string[]) {
    super(`Invalid BlueGreenFleet props at ${path}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = FleetErrorName.INVALID_PROPS;
  }
}
