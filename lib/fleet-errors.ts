/**
 * Names of the errors a {@link BlueGreenFleet} throws at synth time (the thrown error's `name`).
 * The errors a cutover execution ends with are {@link CutoverErrorName}.
 */
export enum FleetErrorName {
  /**
   * The props cannot work: the message lists every problem, one per line
   * (`Invalid BlueGreenFleet props at <path>:`), and the error's `problems` holds them.
   */
  INVALID_PROPS = 'BlueGreenFleetPropsError',
}
