import { CutoverErrorName } from '../../lib/private/contract';

/**
 * Base of the errors the state machine catches by name. `name` is the exact
 * {@link CutoverErrorName} value: Step Functions matches `Catch.ErrorEquals` on it.
 */
export abstract class CutoverError extends Error {
  public abstract override readonly name: CutoverErrorName;
}

/** The execution input is malformed. Nothing was changed. */
export class InvalidInput extends CutoverError {
  public override readonly name = CutoverErrorName.INVALID_INPUT;
}

/** Another execution holds the fleet's lock. Nothing was changed. */
export class CutoverInProgress extends CutoverError {
  public override readonly name = CutoverErrorName.CUTOVER_IN_PROGRESS;
}

/** The idle colour did not become healthy before the deadline. */
export class IdleNotHealthy extends CutoverError {
  public override readonly name = CutoverErrorName.IDLE_NOT_HEALTHY;
}

/** SSM did not take the release's image id (asynchronous validation of an aws:ec2:image parameter). */
export class ImageNotAccepted extends CutoverError {
  public override readonly name = CutoverErrorName.IMAGE_NOT_ACCEPTED;
}

/** A smoke test failed against the idle colour. */
export class SmokeTestFailed extends CutoverError {
  public override readonly name = CutoverErrorName.SMOKE_TEST_FAILED;
}

/** Traffic moved and was moved back. */
export class RolledBack extends CutoverError {
  public override readonly name = CutoverErrorName.ROLLED_BACK;
}

/** A rollback found no warm previous colour. Nothing was changed. */
export class NothingToRollBack extends CutoverError {
  public override readonly name = CutoverErrorName.NOTHING_TO_ROLL_BACK;
}

/** The fleet is in a state the workflow cannot reason about. Nothing was changed. */
export class FleetStateConflict extends CutoverError {
  public override readonly name = CutoverErrorName.FLEET_STATE_CONFLICT;
}

/** A rollback alarm is in ALARM. */
export class AlarmFired extends CutoverError {
  public override readonly name = CutoverErrorName.ALARM_FIRED;
}

/** The new colour stopped being healthy after traffic moved to it. */
export class NewColourUnhealthy extends CutoverError {
  public override readonly name = CutoverErrorName.NEW_COLOUR_UNHEALTHY;
}

/** Route 53 accepted a weight change but did not report it INSYNC in time. */
export class DnsChangePending extends CutoverError {
  public override readonly name = CutoverErrorName.DNS_CHANGE_PENDING;
}

/** Another execution holds the fleet's lock now: this one changes nothing more. */
export class Superseded extends CutoverError {
  public override readonly name = CutoverErrorName.SUPERSEDED;
}

/** An operator rejected an approval pause. */
export class ApprovalRejected extends CutoverError {
  public override readonly name = CutoverErrorName.APPROVAL_REJECTED;
}

/** An approval pause timed out without a decision, and its timeout rolls back. */
export class ApprovalTimedOut extends CutoverError {
  public override readonly name = CutoverErrorName.APPROVAL_TIMED_OUT;
}

/** Moving traffic back failed; reported, never thrown by a handler. */
export class RollbackFailed extends CutoverError {
  public override readonly name = CutoverErrorName.ROLLBACK_FAILED;
}

/** The fleet configuration in the handler's event is missing or does not describe a fleet (a deployment bug, not an operator error). */
export class FleetConfigError extends Error {
  public override readonly name = 'FleetConfigError';
}

/** Cuts `value` to at most `max` characters for error messages. */
export function truncate(value: string, max = 60): string {
  return value.length <= max ? value : `${value.slice(0, max - 3)}...`;
}

/**
 * The message inside a Step Functions error cause. A Lambda error's cause is JSON
 * (`{"errorType", "errorMessage", "trace"}`); other causes are used as they are.
 */
export function causeMessage(cause: string | undefined): string {
  if (!cause) return 'no cause given';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    if (parsed && typeof parsed.errorMessage === 'string') return parsed.errorMessage;
  } catch {
    // Not JSON: the cause is the message.
  }
  return cause;
}
