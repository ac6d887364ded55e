import { WARNING_IDS } from './private/validation';

/**
 * Ids of the warnings a {@link BlueGreenFleet} adds for risky but legal settings. Part of the
 * public contract: acknowledge one with
 * `Annotations.of(fleet).acknowledgeWarning(FleetWarnings.MIN_CAPACITY_ZERO, reason)`.
 */
export class FleetWarnings {
  /** `minCapacity` is 0: the live colour may have no instance. */
  public static readonly MIN_CAPACITY_ZERO = WARNING_IDS.minCapacityZero;
  /** The instances are in public subnets. */
  public static readonly PUBLIC_INSTANCES = WARNING_IDS.publicInstances;
  /** The test listener is open to the internet. */
  public static readonly TEST_LISTENER_OPEN = WARNING_IDS.testListenerOpen;
  /** The deregistration delay is over 300 s. */
  public static readonly LONG_DEREGISTRATION_DELAY = WARNING_IDS.longDeregistrationDelay;
  /** Health checks take over 5 minutes to admit an instance. */
  public static readonly SLOW_HEALTH_CHECK = WARNING_IDS.slowHealthCheck;
  /** A built-in alarm is disabled. */
  public static readonly ALARM_DISABLED = WARNING_IDS.alarmDisabled;
  /** The Route 53 record TTL is over 300 s. */
  public static readonly HIGH_DNS_TTL = WARNING_IDS.highDnsTtl;
  /** The previous colour is kept warm for less than five record TTLs. */
  public static readonly WARM_SHORTER_THAN_DNS_CACHING = WARNING_IDS.warmShorterThanDnsCaching;
  /** Stickiness is set for an all-at-once shift, which never splits traffic. */
  public static readonly STICKINESS_NEVER_USED = WARNING_IDS.stickinessNeverUsed;
  /** Stickiness outlasts a shift step. */
  public static readonly STICKINESS_OUTLASTS_STEP = WARNING_IDS.stickinessOutlastsStep;
  /** `cutover.approval.betweenSteps` is set for an all-at-once shift, which has no steps to pause between. */
  public static readonly APPROVAL_BETWEEN_STEPS_NEVER_USED = WARNING_IDS.approvalBetweenStepsNeverUsed;
  /** A listener rule condition (not host-header or path-pattern) that the smoke tests must meet themselves. */
  public static readonly LISTENER_RULE_CONDITIONS = WARNING_IDS.listenerRuleConditions;

  private constructor() {}
}
