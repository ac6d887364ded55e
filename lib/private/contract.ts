/**
 * The contract shared by the constructs (lib/) and the Lambda handlers (lambda/):
 * colours, parameter names, environment variable names, state input/output shapes
 * and error names. Types and constants only: nothing here talks to AWS.
 */

/** The two colours of a fleet. */
export enum Colour {
  BLUE = 'blue',
  GREEN = 'green',
}

/** Both colours, in a fixed order. */
export const COLOURS: readonly Colour[] = [Colour.BLUE, Colour.GREEN];

/** The colour that is not `colour`. */
export function otherColour(colour: Colour): Colour {
  return colour === Colour.BLUE ? Colour.GREEN : Colour.BLUE;
}

/**
 * Name of the SSM parameter that holds a colour's machine image id.
 * Launch templates resolve it at launch (`resolve:ssm:`), so the image never sits
 * in a template property that CloudFormation would re-apply.
 */
export function imageParameterName(prefix: string, colour: Colour): string {
  return `${prefix}/${colour}/image-id`;
}

/** Name of the SSM parameter that holds a colour's application version (read by user data). */
export function versionParameterName(prefix: string, colour: Colour): string {
  return `${prefix}/${colour}/version`;
}

/** Tag on every parameter a fleet writes: the resource provider may read a parameter only if it carries it (a renamed prefix copies from the old name). */
export const PARAMETER_TAG_KEY = 'blue-green:fleet-parameter';

/** Tag put on each Auto Scaling group (and propagated to its instances) naming its colour. */
export const COLOUR_TAG_KEY = 'blue-green:colour';

/** Patterns the construct and the workflow both enforce on release inputs. */
export const IMAGE_ID_PATTERN = /^ami-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;
export const VERSION_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/;

// ---------------------------------------------------------------------------
// The cutover workflow.
// ---------------------------------------------------------------------------

/** The handlers of the workflow: folder names under lambda/, one Lambda function each, in workflow order. */
export const HANDLERS = [
  'start', 'find-live', 'prepare', 'check-health', 'smoke-test', 'shift', 'check-alarms',
  'roll-back', 'scale-to-zero', 'keep-warm', 'retire-previous', 'release-lock', 'recover',
] as const;
/**
 * Handlers of states that only some workflows have: their function exists only in stacks with a
 * fleet that uses them, so a default fleet's template does not change. `approval-gate` runs the
 * pauses of `cutover.approval`; `history-widget` is the release history on the dashboard
 * (`dashboard: true`), a CloudWatch custom widget rather than a state.
 */
export const OPTIONAL_HANDLERS = ['approval-gate', 'history-widget'] as const;
/** A handler folder name, such as `find-live`. */
export type HandlerName = typeof HANDLERS[number] | typeof OPTIONAL_HANDLERS[number];

/**
 * Handlers that are not workflow tasks: CloudFormation custom-resource providers, one Lambda
 * function per fleet that needs them. `dns-records` creates the Route 53 weighted records once
 * and never re-applies their weights.
 */
export const RESOURCE_HANDLERS = ['dns-records', 'fleet-resources'] as const;
/** A resource handler folder name. */
export type ResourceHandlerName = typeof RESOURCE_HANDLERS[number];

/** Error names the state machine catches by name. Stable: operators and pipelines match on them. */
export enum CutoverErrorName {
  /** The execution input is malformed. Nothing was changed. */
  INVALID_INPUT = 'InvalidInput',
  /** Another cutover of this fleet holds the lock. Nothing was changed. */
  CUTOVER_IN_PROGRESS = 'CutoverInProgress',
  /** The idle colour did not become healthy in time. It was scaled back to zero; the live colour was untouched. */
  IDLE_NOT_HEALTHY = 'IdleNotHealthy',
  /** A smoke test or the pre-traffic hook failed. The idle colour was scaled back to zero; the live colour was untouched. */
  SMOKE_TEST_FAILED = 'SmokeTestFailed',
  /** Traffic had moved and was moved back (alarm or failure). The failed colour was scaled to zero. */
  ROLLED_BACK = 'RolledBack',
  /** `{"action":"rollback"}` found no warm previous colour to move traffic back to. */
  NOTHING_TO_ROLL_BACK = 'NothingToRollBack',
  /** The fleet is not in a state the workflow can reason about (e.g. traffic split by hand). Nothing was changed. */
  FLEET_STATE_CONFLICT = 'FleetStateConflict',
  /** An alarm entered ALARM during the shift or bake (caught internally, surfaces as RolledBack). */
  ALARM_FIRED = 'AlarmFired',
  /**
   * The new colour stopped being healthy after traffic moved to it (instances not InService, or
   * targets no longer healthy in its target group), seen by a poll of a shift step or the bake, or
   * before the previous colour is retired. Caught inside the workflow: traffic goes back to the
   * previous colour and the execution ends `RolledBack`, its cause naming the instances.
   */
  NEW_COLOUR_UNHEALTHY = 'NewColourUnhealthy',
  /**
   * Traffic had moved and moving it back failed: the production rule may still send traffic to
   * the new colour. Reported by the final Fail state; set the weights by hand.
   */
  ROLLBACK_FAILED = 'RollbackFailed',
  /**
   * Route 53 accepted a weight change but did not report it INSYNC in time. During a shift this
   * rolls the cutover back (surfaces as RolledBack).
   */
  DNS_CHANGE_PENDING = 'DnsChangePending',
  /**
   * The lock could not be released at the end of a cutover that succeeded (the cause says which
   * colour serves), or the release-lock task itself failed after a failure. The lock stays until
   * its lease expires (or its item is deleted by hand). When the handler could describe the
   * cutover's own failure, that error is kept and its cause says the lock is held.
   */
  LOCK_RELEASE_FAILED = 'LockReleaseFailed',
  /**
   * SSM did not take the release's image id for the idle colour's image parameter (an
   * `aws:ec2:image` parameter is validated after PutParameter returns, and keeps its old value if
   * the image does not exist or is not available to the account). The idle colour was scaled back
   * to zero; the live colour was untouched.
   */
  IMAGE_NOT_ACCEPTED = 'ImageNotAccepted',
  /**
   * Another execution took the fleet's lock over (after this one's lease expired, or after it was
   * found not running): this execution changed nothing more from the moment it noticed, wrote no
   * result and ends with this error. The cause names the execution that holds the fleet now.
   */
  SUPERSEDED = 'Superseded',
  /**
   * An operator rejected a pause of `cutover.approval` (the approval record's decision `reject`).
   * Before the shift nothing had moved: the idle colour was scaled back to zero and the execution
   * ends with this error. Between shift steps traffic goes back to the previous colour as after
   * an alarm, and the execution ends `RolledBack`, its cause naming this error.
   */
  APPROVAL_REJECTED = 'ApprovalRejected',
  /**
   * A pause of `cutover.approval` reached its timeout without a decision and its `onTimeout` is
   * `ROLL_BACK`. Before the shift: the idle colour was scaled back to zero and the execution ends
   * with this error; between shift steps: traffic went back and the execution ends `RolledBack`.
   */
  APPROVAL_TIMED_OUT = 'ApprovalTimedOut',
}

/** Throttling errors retried by the state machine (with backoff and jitter). */
export const THROTTLING_ERRORS = [
  'Lambda.TooManyRequestsException',
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'ProvisionedThroughputExceededException',
  'PriorRequestNotComplete',
];

/**
 * Errors of invoking a function that Lambda is re-activating: a function idle for long enough
 * (weeks, as between cutovers) loses its resources, VPC network interfaces above all, and the
 * first invocation fails with one of these while Lambda re-creates them (Lambda developer guide,
 * "Lambda function states" and "Giving Lambda functions access to resources in an Amazon VPC").
 * Retried on every task with a budget of minutes ({@link LAMBDA_NOT_READY_RETRY}).
 */
export const LAMBDA_NOT_READY_ERRORS = [
  'Lambda.ResourceNotReadyException',
  'Lambda.ENINotReadyException',
  'Lambda.CodeArtifactUserPendingException',
];

/** The retry of {@link LAMBDA_NOT_READY_ERRORS}: 5 s, doubling, at most 60 s apart, 6 retries (195 s in all). */
export const LAMBDA_NOT_READY_RETRY: RetryBudget = { intervalSeconds: 5, backoffRate: 2, maxDelaySeconds: 60, maxAttempts: 6 };

/**
 * Transient errors retried by every task, besides throttling: a handler's AWS call that still
 * failed after the SDK client's own 5 attempts, a hung or crashed invocation, a Lambda service
 * fault. Every handler compares the desired state with the current one before it changes
 * anything, so running it again is safe.
 *
 * - Server faults keep their exception's name: modelled ones (`InternalServerError` of DynamoDB
 *   and SSM, `InternalServiceFault` of CloudWatch, `ResourceContentionFault` of Auto Scaling,
 *   `HealthUnavailableException` of Elastic Load Balancing) and the codes AWS answers 5xx with
 *   outside the models (`InternalFailure`, `ServiceUnavailable`, `InternalError` of EC2).
 * - The SDK's transient codes (`TimeoutError` of a connection or request timeout,
 *   `RequestTimeout`, `RequestTimeoutException`) and the Node.js socket errors the clients name
 *   after their code (`ECONNRESET`, `EPIPE`, `ETIMEDOUT`...; see lambda/common/clients.ts).
 * - `Sandbox.Timedout` (the function's timeout), `States.Timeout` (the task's TimeoutSeconds),
 *   `Lambda.Unknown` (the invocation failed in Lambda, not in the handler).
 */
export const TRANSIENT_ERRORS = [
  'Sandbox.Timedout',
  'States.Timeout',
  'Lambda.Unknown',
  'InternalFailure',
  'InternalError',
  'InternalServerError',
  'InternalServerException',
  'InternalServiceFault',
  'InternalServiceError',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'ResourceContentionFault',
  'HealthUnavailableException',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
];

/** A Step Functions retrier's numbers (interval, backoff and cap in seconds; full jitter). */
export interface RetryBudget {
  readonly intervalSeconds: number;
  readonly backoffRate: number;
  readonly maxDelaySeconds: number;
  readonly maxAttempts: number;
}

/** The retry of {@link TRANSIENT_ERRORS} on every task: 2 s, doubling, at most 20 s apart, 3 retries (at most 14 s of waits). */
export const TRANSIENT_RETRY: RetryBudget = { intervalSeconds: 2, backoffRate: 2, maxDelaySeconds: 20, maxAttempts: 3 };

/**
 * The retry of {@link TRANSIENT_ERRORS} on the tasks that move traffic back ("Move traffic
 * back", "Move traffic to the previous colour"): 1 s, doubling, at most 10 s apart, 6 retries
 * (at most 35 s of waits). The largest budget: giving up there leaves traffic on a colour that
 * failed.
 */
export const ROLLBACK_TRANSIENT_RETRY: RetryBudget = { intervalSeconds: 1, backoffRate: 2, maxDelaySeconds: 10, maxAttempts: 6 };

/**
 * The release-lock handler's own retry of the lock's `DeleteItem` on {@link TRANSIENT_ERRORS},
 * after the SDK client's attempts: 1 s, doubling, at most 4 s apart, 3 retries (7 s of waits).
 * The handler describes a lock it cannot delete instead of failing its task (so the cause keeps
 * the cutover's own error and says the lock is held), so the task's transient retrier never sees
 * these errors: the handler retries them itself, within half its function's timeout.
 */
export const LOCK_DELETE_RETRY: RetryBudget = { intervalSeconds: 1, backoffRate: 2, maxDelaySeconds: 4, maxAttempts: 3 };

/** The retry of {@link THROTTLING_ERRORS} on every task: 1 s, doubling, at most 20 s apart, 6 retries. */
export const THROTTLING_RETRY: RetryBudget = { intervalSeconds: 1, backoffRate: 2, maxDelaySeconds: 20, maxAttempts: 6 };

/** The last retrier of "Move traffic back": any other error, 1 s, doubling, 3 retries. */
export const ROLLBACK_ANY_ERROR_RETRY: RetryBudget = { intervalSeconds: 1, backoffRate: 2, maxDelaySeconds: 4, maxAttempts: 3 };

/** The longest a retrier waits between attempts in all (without jitter, which only shortens the waits). */
export function retryWaitSeconds(r: RetryBudget): number {
  let sum = 0;
  for (let i = 0; i < r.maxAttempts; i++) sum += Math.min(r.maxDelaySeconds, r.intervalSeconds * r.backoffRate ** i);
  return sum;
}

/** One HTTP check run against the idle colour through the test listener. */
export interface SmokeCheckConfig {
  readonly path: string;
  readonly expectedStatus: number;
  /** The body must contain this text. */
  readonly bodyContains?: string;
  /** A dotted path into the JSON body, such as `version` or `build.commit`. */
  readonly jsonField?: string;
  /** The value `jsonField` must have, compared as text. `${version}` is replaced by the release's version. */
  readonly jsonValue?: string;
  /** Headers the response must carry (lower-case names), with the value they must have; '' = any value. */
  readonly headers?: Record<string, string>;
  /** Headers sent with the request. */
  readonly requestHeaders?: Record<string, string>;
  readonly latencyBudgetMs: number;
}

/**
 * Everything the handlers need to know about the fleet. The state machine definition carries it
 * as a literal in the start task's payload (`config`); the start handler puts it into the state
 * ({@link CutoverState.config}), so every later task gets it with the state. It is in no
 * function's environment: Lambda allows 4 KB of environment variables per function, and the
 * functions need not be per fleet.
 */
export interface FleetConfig {
  /** A stable name of the fleet (the lock key). */
  readonly fleetId: string;
  /**
   * The production catch-all rule, whose weights say which colour is live. Empty when traffic
   * is switched by Route 53 records (`route53`): then the records say it.
   */
  readonly productionRuleArn: string;
  /** The test catch-all rule, pointed at the idle colour. Empty with `route53`: each colour's own load balancer is its test endpoint. */
  readonly testRuleArn: string;
  /**
   * Port and protocol the smoke tests call: the test listener's, or with `route53` the
   * production listener of the idle colour's own load balancer.
   */
  readonly testPort: number;
  readonly testProtocol: 'HTTP' | 'HTTPS';
  /**
   * The Host header (and TLS server name) the smoke tests send, when the fleet's rules have a
   * host-header condition (a listener shared with other fleets). Absent: the load balancer's DNS name.
   */
  readonly testHost?: string;
  /** DNS name of the shared load balancer. Empty with `route53` (see `colours.<colour>.loadBalancer`). */
  readonly loadBalancerDnsName: string;
  /** `app/<name>/<id>` of the shared load balancer, used to find its private addresses. Empty with `route53`. */
  readonly loadBalancerFullName: string;
  readonly colours: Record<Colour, ColourConfig>;
  /** Names of the user's rollback alarms (fleet-wide). */
  readonly rollbackAlarmNames: string[];
  readonly lockTableName: string;
  /**
   * The fleet's configured capacity. "Prepare" gives the idle colour this minimum and maximum
   * (its desired count follows the live colour's, within them): a capacity change in the app
   * reaches the fleet with the next cutover, on the colour that will serve.
   */
  readonly minCapacity: number;
  readonly maxCapacity: number;
  /** How long a lock lives without being released (the state machine's timeout plus a margin). */
  readonly lockLeaseSeconds: number;
  readonly healthyTimeoutSeconds: number;
  readonly smokeChecks: SmokeCheckConfig[];
  readonly smokeRounds: number;
  readonly bakeSeconds: number;
  readonly warmSeconds: number;
  /**
   * How long each partial shift step (a canary, or a linear step short of 100 %) holds, its
   * alarms checked every poll. Absent or 0: a step is checked once and the next one follows.
   */
  readonly stepSeconds?: number;
  /**
   * Target-group stickiness on the production rule while traffic is split between the colours,
   * in seconds; 0 = none. Whenever one colour has 100 % the handlers switch stickiness off, so no
   * client stays pinned to the other colour. Absent: the rule's stickiness setting is kept as it is.
   */
  readonly stickinessSeconds?: number;
  /** Set when production traffic is switched by Route 53 weighted records instead of the production rule. */
  readonly route53?: Route53Config;
  /**
   * The fleet's notification topic (`notifications` prop), when it has one: cutover outcomes are
   * published to it by an EventBridge rule, and a handler that pauses publishes one message per
   * pause to it.
   */
  readonly notificationTopicArn?: string;
}

/** One colour's resources, as the handlers see them. */
export interface ColourConfig {
  readonly autoScalingGroupName: string;
  readonly targetGroupArn: string;
  readonly imageParameterName: string;
  readonly versionParameterName: string;
  /**
   * The colour's launch template. A deploy adds a version to it without touching what the colour
   * launches; "Prepare" makes its latest version the one the colour launches.
   */
  readonly launchTemplateId: string;
  /** Names of the colour's built-in alarms. */
  readonly alarmNames: string[];
  /** The colour's own load balancer, with Route 53 switching: smoke tests call it while the colour is idle. */
  readonly loadBalancer?: LoadBalancerConfig;
}

/** A load balancer as the handlers see it. */
export interface LoadBalancerConfig {
  readonly dnsName: string;
  /** `app/<name>/<id>`, used to find its private addresses. */
  readonly fullName: string;
}

/** Record types the Route 53 switch uses: alias A records, or CNAME records with a TTL of their own. */
export type DnsRecordType = 'A' | 'CNAME';

/** Set identifier of each colour's weighted record. */
export const DNS_SET_IDENTIFIERS: Record<Colour, string> = { [Colour.BLUE]: 'blue', [Colour.GREEN]: 'green' };

/** The Route 53 weighted records that switch production traffic between the colours' load balancers. */
export interface Route53Config {
  readonly hostedZoneId: string;
  /** Fully qualified record name, normalized: lower case, no trailing dot (`www.example.com`). */
  readonly recordName: string;
  /** `A` (alias records to the load balancers) or `CNAME` (records with `ttlSeconds`). */
  readonly recordType: DnsRecordType;
  /** TTL of CNAME records; absent for alias records, whose TTL is the load balancer's (60 s). */
  readonly ttlSeconds?: number;
  /** What each colour's record points at. */
  readonly targets: Record<Colour, DnsTargetConfig>;
}

/**
 * Properties of the `Custom::BlueGreenDnsRecords` resource, as its provider (lambda/dns-records)
 * receives them. CloudFormation passes numbers as strings.
 */
export interface DnsRecordsProperties {
  readonly HostedZoneId: string;
  /** Fully qualified, lower case, no trailing dot. */
  readonly RecordName: string;
  readonly RecordType: DnsRecordType;
  /** TTL of CNAME records, in seconds. */
  readonly Ttl?: string | number;
  /** What each colour's record points at. */
  readonly Targets: Record<Colour, { readonly DnsName: string; readonly HostedZoneId: string }>;
}

/**
 * Properties of a `Custom::BlueGreenParameter` (provider: `fleet-resources`): a colour's image or
 * version parameter, written once on create with `Value`.
 */
export interface ParameterProperties {
  readonly Name: string;
  readonly Value: string;
  /** `aws:ec2:image` for image parameters that launch templates resolve with `resolve:ssm:`. */
  readonly DataType: 'text' | 'aws:ec2:image';
  readonly Description?: string;
}

/**
 * Properties of a `Custom::BlueGreenInitialCapacity` (provider: `fleet-resources`): the sizes of
 * the first live colour of a new fleet, applied once on create if no colour runs yet.
 */
export interface InitialCapacityProperties {
  readonly AutoScalingGroupName: string;
  /** The other colour's group: if it runs, the fleet is not new and nothing is applied. */
  readonly OtherGroupNames: string[];
  readonly MinCapacity: string | number;
  readonly MaxCapacity: string | number;
}

/** One colour's record value. */
export interface DnsTargetConfig {
  /** DNS name of the colour's load balancer (alias target or CNAME value). */
  readonly dnsName: string;
  /** The load balancer's canonical hosted zone id (the alias target's zone). */
  readonly hostedZoneId: string;
}

/** The execution input an operator types. Every field is optional; unknown fields are errors. */
export interface CutoverInput {
  /** An AMI id to deploy into the idle colour. */
  readonly imageId?: string;
  /** An application version to deploy into the idle colour. */
  readonly version?: string;
  /** `deploy` (the default) or `rollback`. */
  readonly action?: 'deploy' | 'rollback';
  /** Who started the execution (kept in the release history; the CLI sends the caller's identity); recorded, never acted on. */
  readonly startedBy?: string;
}

/**
 * What `startedBy` may be: 1 to 256 characters, none of them a control character (C0, DEL, C1).
 * Checked on the characters (code points), so a name in any script counts its letters.
 */
export const STARTED_BY_PATTERN = /^[^\u0000-\u001f\u007f-\u009f]{1,256}$/u;

/** What one colour runs. */
export interface ColourRelease {
  readonly imageId: string;
  readonly version: string;
}

/**
 * What "Prepare" released into the target, so the health check counts only instances that serve
 * it: launched from `launchTemplateVersion` and at or after `launchedAfter`.
 */
export interface ReleaseLaunch {
  /** When the target's release parameters took their current values (SSM LastModifiedDate), ISO 8601. */
  readonly releasedAt: string;
  /** `releasedAt` rounded up to the whole second (EC2 reports LaunchTime in whole seconds), ISO 8601. */
  readonly launchedAfter: string;
  /** The launch template version "Prepare" set on the target's group. */
  readonly launchTemplateVersion: string;
}

/** Capacity of an Auto Scaling group. */
export interface GroupCapacity {
  readonly min: number;
  readonly max: number;
  readonly desired: number;
}

/** Start and end of one stage, ISO 8601. */
export interface StageTiming {
  readonly stage: string;
  readonly startedAt: string;
  readonly endedAt: string;
}

/**
 * The state passed from task to task. Each handler receives it whole and returns it with
 * its own fields filled in; the state machine keeps it at `$`.
 */
export interface CutoverState {
  /** The raw execution input, kept for the record. */
  readonly input: unknown;
  /** The execution's ARN (`$$.Execution.Id`): the lock owner. */
  readonly executionId: string;
  /**
   * The fleet's configuration, from the literal in the state machine definition (never from the
   * execution input). Set by the start handler; every handler passes it on. Not in the output.
   */
  readonly config?: FleetConfig;
  readonly action?: 'deploy' | 'rollback';
  /** The release requested (after validation). */
  readonly release?: Partial<ColourRelease>;
  /** Colour serving when the execution started. */
  readonly live?: Colour;
  /** Colour being deployed to (deploy) or moved back to (rollback). */
  readonly target?: Colour;
  readonly liveCapacity?: GroupCapacity;
  readonly liveRelease?: ColourRelease;
  readonly targetRelease?: ColourRelease;
  /** Set by "Prepare": which instances of the target serve the release. */
  readonly targetLaunch?: ReleaseLaunch;
  /**
   * Set while the target is held at zero because it had instances from before the release
   * ("Prepare" or the health check found them): the health check sizes it up once they are gone.
   */
  readonly targetHeldAtZero?: boolean;
  /** Whether production traffic has moved to the target (the rollback boundary). */
  readonly trafficMoved?: boolean;
  /** Current weight (percent) of the target in the production rule. */
  readonly targetWeight?: number;
  /** Health-wait bookkeeping. */
  readonly health?: { readonly healthy: boolean; readonly deadline: string; readonly inService: number; readonly healthyTargets: number; readonly desired: number; readonly detail: string };
  /** Bake bookkeeping. */
  readonly bake?: { readonly until: string; readonly polls: number; readonly done: boolean };
  /** Bookkeeping of the partial shift step being held (canary or linear), at `weight` percent. */
  readonly shiftStep?: { readonly weight: number; readonly until: string; readonly polls: number; readonly done: boolean };
  /** Set when an alarm fired: name and when it was first seen in ALARM. */
  readonly alarm?: { readonly name: string; readonly detectedAt: string };
  /** Rollback bookkeeping. */
  readonly rollback?: {
    readonly reason: string;
    readonly decidedAt: string;
    readonly trafficRestoredAt?: string;
    /** How long the listener rule (or Route 53) change took, in milliseconds; absent when traffic was already back. */
    readonly revertCallMs?: number;
    /** Route 53 only: whether the change was INSYNC before the handler stopped waiting, and after how long (ms). */
    readonly dnsInSync?: boolean;
    readonly dnsSyncMs?: number;
  };
  /** Stage timings, in order. */
  readonly stages?: StageTiming[];
  /** Set by a caught error: `{ Error, Cause }` as Step Functions gives it. */
  readonly error?: { readonly Error: string; readonly Cause: string };
  /** When the previous colour stops being kept warm (set by keep-warm), ISO 8601. */
  readonly warmUntil?: string;
  /** Colours this execution scaled to zero, in order. */
  readonly scaledToZero?: Colour[];
  /**
   * Set by the start handler when it took the lock over from an execution that is no longer
   * running (stopped, timed out, failed outside its own paths) or whose lease expired: that
   * execution's lock item as it was. "Recover the stopped execution" puts the fleet back the way
   * the stopped execution's own rollback would have, before this execution goes on.
   */
  readonly takenOver?: TakenOverLock;
  /**
   * Set by the start handler when a rollback took over the lock of a cutover that keeps its previous
   * colour warm: that lock item (DynamoDB JSON). A rollback that moves no traffic (refused, or failed
   * before its move) hands the lock back, so that cutover goes on and retires its previous colour.
   */
  readonly warmLockHandBack?: string;
  /** Set by "Recover the stopped execution": what it did. */
  readonly recovered?: RecoveryReport;
  /** The error and cause the state machine's Fail states report, built by release-lock. */
  readonly failure?: { readonly error: string; readonly cause: string };
  /** Set by the state machine when "Move traffic back" itself failed: `{ Error, Cause }`. */
  readonly rollbackError?: { readonly Error: string; readonly Cause: string };
  /** Set by the state machine when scaling a colour to zero after a failure failed: `{ Error, Cause }`. */
  readonly cleanupError?: { readonly Error: string; readonly Cause: string };
  /** Bookkeeping of the approval pause under way, or of the last one (`cutover.approval`). */
  readonly approval?: ApprovalBookkeeping;
}

/** What the approval gate knows of one pause, in the state. */
export interface ApprovalBookkeeping {
  /** The paused state's name (as in the lock's `pause.state` and the approval record's `pause`). */
  readonly state: string;
  /** When the pause began and when it times out, ISO 8601. */
  readonly since: string;
  readonly until: string;
  readonly onTimeout: ApprovalTimeoutBehaviour;
  readonly polls: number;
  /** Whether the pause is over and the cutover goes on (approved, or timed out with `continue`). */
  readonly done: boolean;
  /** The operator's decision, when one was read. */
  readonly decision?: ApprovalDecision;
  readonly by?: string;
  readonly at?: string;
  /** Set when the pause ended on its timeout. */
  readonly timedOut?: boolean;
}

// ---------------------------------------------------------------------------
// Payloads of the handlers that take more than the state.
// ---------------------------------------------------------------------------

/** How a cutover execution ended, recorded by release-lock. */
export type CutoverOutcome = 'succeeded' | 'rolled-back' | 'failed';

/**
 * The lock of an execution another one took over, as the start handler found it. `restoreTo` is
 * the colour to give all traffic back to if that execution stopped: the colour that served when it
 * began (set by "Find the live colour"), the previous colour once a rollback execution decided to
 * move there, the new colour once its previous colour is being retired.
 */
export interface TakenOverLock {
  readonly owner: string;
  readonly phase?: string;
  /** Epoch seconds. */
  readonly expiresAt?: number;
  /** The owner's status when it was taken over: RUNNING (lease expired), ABORTED, TIMED_OUT, FAILED, SUCCEEDED or UNKNOWN. */
  readonly ownerStatus: string;
  readonly restoreTo?: Colour;
}

/** What recovering from a stopped execution did, in the taking execution's state and in the result record. */
export interface RecoveryReport {
  /** The execution recovered from. */
  readonly executionId: string;
  /** Its status: ABORTED, TIMED_OUT, FAILED, or RUNNING when its lease expired. */
  readonly status: string;
  /** The colour that serves all production traffic afterwards, if one does. */
  readonly live?: Colour;
  /** Whether production weights were changed (one call), and their values before. */
  readonly trafficMoved: boolean;
  readonly weightsBefore?: Record<Colour, number>;
  /** Colours scaled to zero. */
  readonly scaledToZero: Colour[];
  /** What is left for an operator, if anything. */
  readonly problem?: string;
}

/** When check-alarms runs: while a partial shift step holds, or during the bake. */
export type AlarmWatchPhase = 'shift' | 'bake';

/** Which colour of the state a handler acts on: `state.target` or `state.live`. */
export type ColourRole = 'target' | 'live';

/** Payload of the shift handler: the target's new percentage of production traffic. */
export interface ShiftPayload {
  readonly state: CutoverState;
  /** 0-100; 100 moves all traffic at once. */
  readonly weight: number;
}

/** Payload of the check-alarms handler. */
export interface CheckAlarmsPayload {
  readonly state: CutoverState;
  readonly phase: AlarmWatchPhase;
}

/** Payload of the scale-to-zero handler. */
export interface ScaleToZeroPayload {
  readonly state: CutoverState;
  readonly colour: ColourRole;
}

/** What a pause does when its timeout passes without a decision. */
export type ApprovalTimeoutBehaviour = 'continue' | 'roll-back';

/** An operator's decision in the approval record. */
export type ApprovalDecision = 'approve' | 'reject';

/** Payload of the approval-gate handler. */
export interface ApprovalGatePayload {
  readonly state: CutoverState;
  /** The weight (percent) the new colour holds during a pause between shift steps; absent before the shift. */
  readonly weight?: number;
  /** How long the pause waits for a decision, from its first poll. */
  readonly timeoutSeconds: number;
  readonly onTimeout: ApprovalTimeoutBehaviour;
}

/** Payload of the release-lock handler. */
export interface ReleaseLockPayload {
  readonly state: CutoverState;
  readonly outcome: CutoverOutcome;
}

// ---------------------------------------------------------------------------
// The lock table.
// ---------------------------------------------------------------------------

/** Partition key attribute of the lock table (string). The lock item's key is the fleet id. */
export const LOCK_PARTITION_KEY = 'pk';

/** Attribute holding the lock's lease expiry, epoch seconds (usable as the table's TTL attribute). */
export const LOCK_EXPIRY_ATTRIBUTE = 'expiresAt';

/** Suffix of the key of the item recording a fleet's last cutover result: `<fleetId>#last`. */
export const RESULT_RECORD_KEY_SUFFIX = '#last';

/**
 * Suffix of the key of the item recording the colour a cutover left: `<fleetId>#previous`.
 * Written by "Keep the previous colour warm" (after the new colour passed its health checks,
 * smoke tests and bake), marked retired by "Scale the previous colour to zero" before it scales
 * that colour down. `{"action":"rollback"}` moves traffic only to the colour it names.
 */
export const PREVIOUS_RECORD_KEY_SUFFIX = '#previous';

// ---------------------------------------------------------------------------
// The release history.
// ---------------------------------------------------------------------------

/**
 * The lock table's global secondary index of the release history: partition key
 * {@link HISTORY_PARTITION_ATTRIBUTE} (the fleet id), sort key {@link HISTORY_SORT_ATTRIBUTE}
 * (ISO 8601), projection ALL. Only history items carry the partition attribute (a sparse index).
 */
export const HISTORY_INDEX_NAME = 'History';
/** The history index's partition key attribute (string): the fleet id. */
export const HISTORY_PARTITION_ATTRIBUTE = 'historyOf';
/** The history index's sort key attribute (string): when the execution ended, ISO 8601. */
export const HISTORY_SORT_ATTRIBUTE = 'endedAt';
/** Infix of a history item's key: `<fleetId>#history#<endedAt>#<execution name>`. */
export const HISTORY_KEY_INFIX = '#history#';

/** The key of the history item of one execution. */
export function historyItemKey(fleetId: string, endedAt: string, executionId: string): string {
  return `${fleetId}${HISTORY_KEY_INFIX}${endedAt}#${executionId.split(':').pop()}`;
}

/** How an execution ended, in the history: a workflow outcome, or stopped from outside (recorded by the recovery handler). */
export type ReleaseOutcome = CutoverOutcome | 'stopped';

/** One stage of an execution in the history. */
export interface HistoryStage {
  readonly name: string;
  /** ISO 8601. */
  readonly startedAt: string;
  readonly seconds: number;
}

/**
 * One execution of a fleet's cutover workflow, as the release history keeps it (one item in the
 * lock table, read through the {@link HISTORY_INDEX_NAME} index, newest first).
 */
export interface ReleaseHistoryEntry {
  readonly fleetId: string;
  /** The execution's ARN. */
  readonly executionId: string;
  readonly action: 'deploy' | 'rollback';
  readonly outcome: ReleaseOutcome;
  /** ISO 8601; absent when nothing recorded the start (a start task that failed). */
  readonly startedAt?: string;
  /** ISO 8601: when the result was recorded. */
  readonly endedAt: string;
  /** The execution input, as JSON text (at most {@link HISTORY_TEXT_LIMITS}.input bytes). */
  readonly input?: string;
  /** Who started it (the input's `startedBy`). */
  readonly startedBy?: string;
  /** The colour that served when it started. */
  readonly from?: Colour;
  /** The colour it deployed to (deploy) or moved back to (rollback). */
  readonly to?: Colour;
  /** The colour serving all production traffic at the end, as it left the fleet. */
  readonly live?: Colour;
  /** What each colour ran, as far as the execution knew. */
  readonly releases: Partial<Record<Colour, ColourRelease>>;
  readonly error?: string;
  readonly cause?: string;
  /** Why traffic was moved back (the rollback's reason). */
  readonly rollbackReason?: string;
  /** The alarm (or alarms, comma-separated) that fired. */
  readonly alarm?: string;
  /** From the moment production traffic first moved to the new colour to the check that saw the alarm in ALARM. */
  readonly timeToDetectSeconds?: number;
  /** From the rollback's decision to the moment production traffic was back on the previous colour. */
  readonly timeToRevertSeconds?: number;
  readonly stages: HistoryStage[];
}

/**
 * The most bytes (UTF-8) the history item keeps of each free-text attribute: longer text is cut,
 * ending in `…`, and stages are left out from the middle. With these caps (about 120 KB in all,
 * plus short keys, colours and numbers) an item stays far below DynamoDB's 400 KB item limit
 * (Amazon DynamoDB developer guide, "Constraints": item size, attribute names included).
 */
export const HISTORY_TEXT_LIMITS = {
  input: 8 * 1024,
  startedBy: 1024,
  error: 1024,
  cause: 32 * 1024,
  rollbackReason: 4 * 1024,
  alarm: 8 * 1024,
  stages: 64 * 1024,
  executionId: 2048,
} as const;

/** What the lock holder is doing. */
export enum LockPhase {
  /** A deploy execution holds the lock. */
  CUTOVER = 'Cutover',
  /** A rollback execution holds the lock. */
  ROLLING_BACK = 'RollingBack',
  /** A finished cutover keeps its previous colour warm; a rollback execution may take the lock over. */
  KEEPING_WARM = 'KeepingWarm',
  /** The previous colour is being scaled to zero. */
  RETIRING = 'Retiring',
  /** The recovery handler is putting the fleet back after an execution stopped from outside. */
  RECOVERING = 'Recovering',
}

/**
 * Lock attributes besides the owner, phase and lease. `restoreTo` is the colour a stop of the owner
 * gives all traffic back to; `config` is the owner's fleet configuration (JSON), which the recovery
 * handler reads when the execution status event arrives; `input` and `startedBy` go into the
 * history item the recovery handler writes for a stopped execution.
 */
export const LOCK_ATTRIBUTES = {
  restoreTo: 'restoreTo',
  config: 'config',
  recoveringFrom: 'recoveringFrom',
  /** The owner's execution input (JSON, capped as the history caps it), for the history of a stopped execution. */
  input: 'input',
  /** The owner's `startedBy`, for the history of a stopped execution. */
  startedBy: 'startedBy',
  /** The holder's approval pause while it waits (JSON of LockPause); removed when the pause ends. */
  pause: 'pause',
} as const;

/**
 * The lock's `pause` attribute (JSON text) while the holder waits for an approval; removed when
 * the pause ends.
 */
export interface LockPause {
  /** The paused state's name. */
  readonly state: string;
  /** ISO 8601. */
  readonly since: string;
  readonly until: string;
  readonly onTimeout: ApprovalTimeoutBehaviour;
}

/**
 * Suffix of the key of the approval record an operator writes to decide a pause:
 * `<fleetId>#approval`, attributes `executionId` (the execution ARN), `pause` (the paused state's
 * name), `decision` (`approve` | `reject`), `by` and `at` (ISO 8601). The paused execution only
 * accepts a record with its own execution id and pause; the record stays as the decision's audit.
 */
export const APPROVAL_RECORD_KEY_SUFFIX = '#approval';

/** Prefix of the lock owner while the recovery handler holds it: `recovery:<execution ARN>`. */
export const RECOVERY_OWNER_PREFIX = 'recovery:';

/** Execution statuses after which the recovery handler puts the fleet back (EventBridge rule). */
export const STOPPED_STATUSES = ['ABORTED', 'TIMED_OUT', 'FAILED'] as const;

/**
 * The event the recovery handler receives from the EventBridge rule on the state machine's
 * "Step Functions Execution Status Change" events (input transformer): the fleet, its lock table
 * and the execution that ended.
 */
export interface ExecutionStoppedEvent {
  readonly kind: 'execution-status';
  readonly fleetId: string;
  readonly lockTableName: string;
  readonly executionArn: string;
  readonly status: string;
}

/**
 * Environment variable that, when set, replaces the test listener address the smoke tests
 * call (a base URL such as `http://127.0.0.1:4567`). Used by the local lab. With a colour's
 * suffix (`BLUE_GREEN_TEST_ENDPOINT_GREEN`, see {@link smokeTestEndpointEnv}) it replaces only
 * that colour's address: with Route 53 switching each colour has its own load balancer.
 */
export const SMOKE_TEST_ENDPOINT_ENV = 'BLUE_GREEN_TEST_ENDPOINT';

/** The variable that replaces one colour's smoke test address (it wins over {@link SMOKE_TEST_ENDPOINT_ENV}). */
export function smokeTestEndpointEnv(colour: Colour): string {
  return `${SMOKE_TEST_ENDPOINT_ENV}_${colour.toUpperCase()}`;
}

/**
 * The CloudWatch metric the handlers that move production traffic (shift, roll-back, recover)
 * publish after each weight change: each colour's percentage of production traffic, one datum per
 * colour, dimensions `Fleet` (the fleet id) and `Colour` (blue or green).
 */
export const TRAFFIC_WEIGHT_METRIC = {
  namespace: 'BlueGreenFleet',
  metricName: 'TrafficWeight',
  fleetDimension: 'Fleet',
  colourDimension: 'Colour',
} as const;

/** Execution statuses the notification rule publishes: every way an execution ends. */
export const NOTIFIED_STATUSES = ['SUCCEEDED', 'FAILED', 'ABORTED', 'TIMED_OUT'] as const;

/**
 * The SNS message published when a cutover execution ends (fleets with `notifications`), as the
 * rule's input transformer builds it from the execution status change event.
 */
export interface CutoverNotification {
  /** `Blue/green cutover <execution> of <fleet> ended <status>`. */
  readonly summary: string;
  /** The fleet id. */
  readonly fleet: string;
  /** The execution's name. */
  readonly execution: string;
  /** SUCCEEDED, FAILED, ABORTED or TIMED_OUT. */
  readonly status: string;
  /** The error name of a FAILED execution (`RolledBack`, `SmokeTestFailed`...); null otherwise. */
  readonly error: string | null;
  /** Its cause; null otherwise. */
  readonly cause: string | null;
  /** The execution input (JSON text): the release requested. */
  readonly input: string | null;
  /** The output of a SUCCEEDED execution (JSON text, a CutoverSummary: the releases); null otherwise. */
  readonly output: string | null;
  readonly executionArn: string;
  /** The execution in the Step Functions console. */
  readonly console: string;
}

/** The success output of a cutover execution. */
export interface CutoverSummary {
  readonly action: 'deploy' | 'rollback';
  readonly live: Colour;
  readonly previous: Colour;
  readonly liveRelease: ColourRelease;
  readonly previousRelease: ColourRelease;
  readonly stages: StageTiming[];
}
