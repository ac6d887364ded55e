import { Arn, ArnFormat, Duration, Lazy, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventTargets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import {
  APPROVAL_RECORD_KEY_SUFFIX, Colour, CutoverErrorName, ExecutionStoppedEvent, FleetConfig, HANDLERS, HandlerName, HISTORY_INDEX_NAME, HISTORY_PARTITION_ATTRIBUTE, HISTORY_SORT_ATTRIBUTE, LAMBDA_NOT_READY_ERRORS, LAMBDA_NOT_READY_RETRY, RetryBudget,
  ROLLBACK_ANY_ERROR_RETRY, ROLLBACK_TRANSIENT_RETRY, Route53Config, STOPPED_STATUSES, THROTTLING_ERRORS, THROTTLING_RETRY, TRANSIENT_ERRORS, TRANSIENT_RETRY,
} from './private/contract';
import { CutoverHandlers } from './private/cutover-handlers';
import { GrantContext, HANDLER_SPECS, handlerTimeoutSeconds } from './private/handler-specs';
import { CutoverOptions, TrafficShift } from './cutover-options';
import { FleetColour } from './fleet-colour';
import { fleetConfigProblems } from './private/fleet-config-size';
import { nagResource } from './private/nag-resource';
import { NOTIFIED_STATUSES, outcomeMessage } from './private/notifications';
import { CutoverSettings } from './private/settings';
import { STATE_NAMES } from './private/stage-names';
import {
  DEFAULTS,
  TASK_TIMEOUT_MARGIN_SECONDS,
} from './private/validation';

export { STATE_NAMES } from './private/stage-names';


/** The Route 53 records a workflow switches traffic with. */
export interface CutoverDnsProps {
  /** The records' hosted zone. */
  readonly zone: route53.IHostedZone;
  /** The records as the handlers see them. */
  readonly records: Route53Config;
  /** How long clients and resolvers may keep an answer: the records' TTL, or 60 s for alias records. */
  readonly ttl: Duration;
}

/** What the workflow is built from. */
export interface CutoverWorkflowProps extends CutoverOptions {
  /** The cutover options with defaults applied and the timing computed (`cutoverSettings`), after validation. */
  readonly settings: CutoverSettings;
  readonly fleetId: string;
  readonly vpc: ec2.IVpc;
  /**
   * The load balancer both colours share (listener-rule switch).
   * @default - none: `dns` is set and each colour has its own load balancer
   */
  readonly loadBalancer?: elbv2.IApplicationLoadBalancer;
  /**
   * The production catch-all rule whose weights the workflow moves (listener-rule switch).
   * @default - none: `dns` is set
   */
  readonly productionRule?: elbv2.ApplicationListenerRule;
  /**
   * The test catch-all rule the workflow points at the idle colour (listener-rule switch).
   * @default - none: `dns` is set
   */
  readonly testRule?: elbv2.ApplicationListenerRule;
  /** Port the smoke tests call: the test listener's, or with `dns` each colour's production port. */
  readonly testPort: number;
  readonly testProtocol: elbv2.ApplicationProtocol;
  /**
   * The Host header (and TLS server name) the smoke tests send: the literal value of the fleet's
   * host-header rule condition on a shared listener.
   * @default - the load balancer's DNS name
   */
  readonly testHost?: string;
  /** The load balancer(s) the smoke tests call, whose security groups must admit them. */
  readonly loadBalancerSecurityGroups: ec2.IConnectable;
  /**
   * The Route 53 records that switch traffic; each colour's `loadBalancer` must be set.
   * @default - traffic is switched by `productionRule`
   */
  readonly dns?: CutoverDnsProps;
  readonly colours: FleetColour[];
  /** The configured capacity, which "Prepare" gives the colour it releases into. */
  readonly minCapacity: number;
  readonly maxCapacity: number;
  /** The instances' role, which "Prepare" passes on when it points a group at a new launch template version. */
  readonly instanceRole: iam.IRole;
  /**
   * Built-in alarms shared by both colours (the shared load balancer's 5XX), watched like each
   * colour's own built-in alarms whichever colour is released.
   * @default - none
   */
  readonly sharedAlarms?: cloudwatch.IAlarm[];
  /** The user's rollback alarms, read lazily so alarms added after construction count. */
  readonly rollbackAlarms: () => cloudwatch.IAlarm[];
  /**
   * The topic every execution's outcome is published to (and, by handlers that pause, each pause).
   * @default - no notifications
   */
  readonly notificationTopic?: sns.ITopic;
  /**
   * How long the handlers' and the state machine's log groups keep their events.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Removal policy of the lock table and the log groups.
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The cutover workflow: a Step Functions Standard state machine of small Lambda handlers that
 * takes one release from "one colour serves" to "the other colour serves", or back.
 */
export class CutoverWorkflow extends Construct {
  /** The state machine operators and pipelines start. */
  public readonly stateMachine: sfn.StateMachine;
  /**
   * The lock table (per fleet: the lock, the last result, the colour the last cutover left, and the
   * release history, read through its `History` index).
   */
  public readonly lockTable: dynamodb.Table;
  /**
   * The handler functions, by name (`start`, `find-live`, `prepare`, `check-health`, `smoke-test`,
   * `shift`, `check-alarms`, `roll-back`, `scale-to-zero`, `keep-warm`, `retire-previous`,
   * `release-lock`, `recover`, and `approval-gate` with `cutover.approval`): the stack's, shared by
   * its fleets (see `CutoverHandlers`), this fleet's resources granted to their roles.
   */
  public readonly functions: { [name: string]: lambda.Function };
  /** The options in force, defaults applied. */
  public readonly pollInterval: Duration;
  public readonly healthyTimeout: Duration;
  public readonly bakeTime: Duration;
  public readonly keepPreviousWarm: Duration;
  public readonly trafficShift: TrafficShift;

  /** The rule that invokes the recovery handler when an execution ends holding the lock. */
  public readonly recoveryRule: events.Rule;

  /** How long production traffic may keep reaching a colour after the records moved away from it (Route 53 only). */
  public readonly dnsDrainTime?: Duration;

  /** What this fleet grants its handlers' roles (its resources' ARNs), for handlers created later. */
  private readonly grants: GrantContext;
  private readonly fleetId: string;

  /** With notifications: the rule that publishes each execution's outcome to the topic. */
  public readonly notificationRule?: events.Rule;

  /**
   * Builds the workflow of a fleet. Only a `BlueGreenFleet` creates one (`fleet.cutover`): its
   * props are internal, so the constructor is private.
   * @internal
   */
  public static _create(scope: Construct, id: string, props: CutoverWorkflowProps): CutoverWorkflow {
    return new CutoverWorkflow(scope, id, props);
  }

  private constructor(scope: Construct, id: string, props: CutoverWorkflowProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const dns = props.dns;
    if (dns ? props.colours.some((c) => !c.loadBalancer) : !(props.loadBalancer && props.productionRule && props.testRule)) {
      throw new Error(`CutoverWorkflow ${this.node.path}: pass loadBalancer, productionRule and testRule, or dns with a load balancer on each colour.`);
    }
    // Defaults applied and the timing computed once, by the fleet, after validation.
    const settings = props.settings;
    this.settings = settings;
    this.pollInterval = settings.pollInterval;
    this.healthyTimeout = settings.healthyTimeout;
    this.bakeTime = settings.bakeTime;
    this.keepPreviousWarm = settings.keepPreviousWarm;
    this.trafficShift = settings.trafficShift;
    const { smokeChecks, smokeRounds } = settings;
    const smokeBudget = settings.smokeBudgetSeconds;
    const partialSteps = this.trafficShift.steps.slice(0, -1);
    this.dnsDrainTime = settings.dnsDrainSeconds !== undefined ? Duration.seconds(settings.dnsDrainSeconds) : undefined;
    // The state machine may not outlive the lock's lease: a lock is only ever left behind by an
    // execution that was stopped from outside, and then it expires on its own.
    const timeoutSeconds = settings.timeoutSeconds;
    const stateMachineTimeout = Duration.seconds(timeoutSeconds);
    const removalPolicy = props.removalPolicy ?? DEFAULTS.removalPolicy;
    const retention = props.logRetention ?? DEFAULTS.logRetention;
    const leaseSeconds = timeoutSeconds + 5 * 60;

    this.lockTable = new dynamodb.Table(this, 'LockTable', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy,
    });
    // The release history: one item per execution that ends, read newest first through this index
    // (a sparse one: only history items carry its partition key). Adding it to a fleet deployed
    // before is an in-place update of the table, one index per stack update (see the construct test).
    this.lockTable.addGlobalSecondaryIndex({
      indexName: HISTORY_INDEX_NAME,
      partitionKey: { name: HISTORY_PARTITION_ATTRIBUTE, type: dynamodb.AttributeType.STRING },
      sortKey: { name: HISTORY_SORT_ATTRIBUTE, type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.ALL,
    });

    const colourConfig = (c: FleetColour) => ({
      autoScalingGroupName: c.autoScalingGroup.autoScalingGroupName,
      targetGroupArn: c.targetGroup.targetGroupArn,
      imageParameterName: c.imageParameterName,
      versionParameterName: c.versionParameterName,
      launchTemplateId: c.launchTemplate.launchTemplateId!,
      alarmNames: [...c.alarms, ...(props.sharedAlarms ?? [])].map((a) => a.alarmName),
      ...(dns ? { loadBalancer: { dnsName: c.loadBalancer!.loadBalancerDnsName, fullName: loadBalancerFullName(c.loadBalancer!) } } : {}),
    });
    const [blue, green] = props.colours;
    const stickiness = settings.stickinessSeconds;
    // The fleet's configuration travels in the state machine's payload (see definition()), never
    // in the functions' environment: Lambda allows 4 KB of environment per function, and the
    // functions carry nothing of one fleet.
    const config = (): FleetConfig => ({
      fleetId: props.fleetId,
      // With Route 53 there is no shared rule or load balancer: the records and each colour's own say it all.
      productionRuleArn: dns ? '' : props.productionRule!.listenerRuleArn,
      testRuleArn: dns ? '' : props.testRule!.listenerRuleArn,
      testPort: props.testPort,
      testProtocol: props.testProtocol === elbv2.ApplicationProtocol.HTTPS ? 'HTTPS' : 'HTTP',
      ...(props.testHost ? { testHost: props.testHost } : {}),
      loadBalancerDnsName: dns ? '' : props.loadBalancer!.loadBalancerDnsName,
      loadBalancerFullName: dns ? '' : loadBalancerFullName(props.loadBalancer!),
      colours: { [Colour.BLUE]: colourConfig(blue), [Colour.GREEN]: colourConfig(green) },
      rollbackAlarmNames: Lazy.list({ produce: () => props.rollbackAlarms().map((a) => a.alarmName) }) as string[],
      lockTableName: this.lockTable.tableName,
      minCapacity: props.minCapacity,
      maxCapacity: props.maxCapacity,
      lockLeaseSeconds: leaseSeconds,
      healthyTimeoutSeconds: this.healthyTimeout.toSeconds(),
      smokeChecks,
      smokeRounds,
      bakeSeconds: this.bakeTime.toSeconds(),
      warmSeconds: this.keepPreviousWarm.toSeconds(),
      // How long a partial step holds (absent: all at once). Stickiness is always given with the
      // listener-rule switch (0 = none), so the rule's setting follows the config at every shift.
      ...(partialSteps.length > 0 ? { stepSeconds: this.trafficShift.stepBake.toSeconds() } : {}),
      ...(dns ? { route53: dns.records } : { stickinessSeconds: partialSteps.length > 0 ? stickiness ?? 0 : 0 }),
      ...(props.notificationTopic ? { notificationTopicArn: props.notificationTopic.topicArn } : {}),
    });

    // The handler functions are the stack's, shared by its fleets (one function, role and log
    // group per handler and timeout; the smoke tests' per VPC too): this fleet grants their roles
    // its own resources. Each role stays scoped to what its handler does, for the stack's fleets.
    const handlers = CutoverHandlers.of(this);
    handlers.applyLogSettings(retention, removalPolicy);
    handlers.smokeSecurityGroup(props.vpc).connections.allowTo(props.loadBalancerSecurityGroups, ec2.Port.tcp(props.testPort), `Smoke tests to the test listener of ${props.fleetId}`);
    // Each handler's timeout, VPC placement and grants are its spec's (lib/private/handler-specs.ts).
    // The optional handlers only where their states are: a default fleet's template has none of them.
    const used: HandlerName[] = [...HANDLERS, ...(settings.approval ? ['approval-gate' as const] : [])];
    const fns = {} as Record<HandlerName, lambda.Function>;
    for (const name of used) {
      const spec = HANDLER_SPECS[name];
      const timeout = handlerTimeoutSeconds(spec, { route53: dns !== undefined, smokeBudgetSeconds: smokeBudget });
      fns[name] = handlers.function(name, timeout, spec.inVpc ? props.vpc : undefined);
    }
    this.functions = fns;
    const grantContext = this.grantContext(props);
    this.grants = grantContext;
    this.fleetId = props.fleetId;
    for (const name of used) HANDLER_SPECS[name].grants(handlers.grants(fns[name]), grantContext);
    // Checked at synth, when rollback alarms added after construction are known too.
    this.node.addValidation({ validate: () => fleetConfigProblems(this.node.path, stack.resolve(config())) });

    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromChainable(this.definition(props, config)),
      timeout: stateMachineTimeout,
      tracingEnabled: true,
      // The stack's fleets share one role: it invokes the shared handlers (and each fleet's hook).
      role: handlers.stateMachineRole(),
      logs: {
        destination: new logs.LogGroup(this, 'StateMachineLogs', { retention, removalPolicy }),
        level: sfn.LogLevel.ALL,
        includeExecutionData: true,
      },
      comment: `Blue/green cutover of ${props.fleetId}. Input: {} | {"imageId":"ami-..."} | {"version":"1.4.2"} | {"action":"rollback"}`,
    });
    // A stop is a safe stop: when an execution ends ABORTED, TIMED_OUT or FAILED while it still
    // holds the lock (a Stop in the console, the state machine's timeout, a failure outside the
    // workflow's own paths), the recovery handler gives all traffic back to the colour the lock
    // names, scales the other to zero and releases the lock. Step Functions delivers these events
    // to EventBridge best effort (EventBridge events reference, "AWS Step Functions events"), so
    // the start handler also takes over a lock whose owner no longer runs, and recovers first.
    const stoppedEvent: Record<keyof ExecutionStoppedEvent, unknown> = {
      kind: 'execution-status',
      fleetId: props.fleetId,
      lockTableName: this.lockTable.tableName,
      executionArn: events.EventField.fromPath('$.detail.executionArn'),
      status: events.EventField.fromPath('$.detail.status'),
    };
    this.recoveryRule = new events.Rule(this, 'RecoverStoppedExecution', {
      description: `Blue/green cutover of ${props.fleetId}: recover the fleet when an execution stops holding its lock`,
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: { stateMachineArn: [this.stateMachine.stateMachineArn], status: [...STOPPED_STATUSES] },
      },
      targets: [new eventTargets.LambdaFunction(this.functions.recover, {
        event: events.RuleTargetInput.fromObject(stoppedEvent),
        retryAttempts: 2,
        maxEventAge: Duration.hours(1),
      })],
    });
    if (props.notificationTopic) {
      // One message per execution that ends, whichever way. The target grants EventBridge
      // sns:Publish in the topic's policy, and the use of its key in the key's policy.
      this.notificationRule = new events.Rule(this, 'NotifyOutcome', {
        description: `Blue/green cutover of ${props.fleetId}: publish each execution's outcome`,
        eventPattern: {
          source: ['aws.states'],
          detailType: ['Step Functions Execution Status Change'],
          detail: { stateMachineArn: [this.stateMachine.stateMachineArn], status: [...NOTIFIED_STATUSES] },
        },
        targets: [new eventTargets.SnsTopic(props.notificationTopic, { message: outcomeMessage(props.fleetId) })],
      });
    }
    // Grants that name the state machine (the start handler asks whether the lock's owner still
    // runs): a policy of their own, since a function's default policy may not name the state
    // machine, which depends on the function.
    const executionsArn = Arn.format({ service: 'states', resource: 'execution', resourceName: `${this.stateMachine.stateMachineName}:*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME }, stack);
    for (const name of used) HANDLER_SPECS[name].machineGrants?.(handlers.grants(fns[name]), { stack, executionsArn });

    // A smoke check's `${version}` placeholder is now part of the definition. The definition is an
    // Fn::Join, never an Fn::Sub, so CloudFormation leaves it alone; the linters' check for
    // variables outside Fn::Sub (E1029) is told so, only when a check has such text.
    if (JSON.stringify(smokeChecks).includes('${')) {
      const reason = "The definition is an Fn::Join, not an Fn::Sub: '${...}' in it is a smoke check's text (such as the ${version} placeholder), which CloudFormation does not substitute.";
      (this.stateMachine.node.defaultChild as sfn.CfnStateMachine).addMetadata('cfn-lint', { config: { ignore_checks: ['E1029'] } });
      Validations.of(this.stateMachine).acknowledge({ id: 'CloudFormation-Validate::E1029', reason });
    }
    // CDK grants lambda:InvokeFunction on each function ARN and on its versions (ARN:*).
    const invoked = [...Object.values(this.functions), ...(props.preTrafficHook ? [props.preTrafficHook] : [])];
    const machineRole = handlers.stateMachineRole();
    for (const fn of invoked) {
      handlers.acknowledge(machineRole, `AwsSolutions-IAM5[Resource::${nagResource(stack, fn.functionArn)}:*]`,
        'Invokes this function and its published versions (ARN:*), nothing else.');
    }
    handlers.acknowledge(machineRole, 'AwsSolutions-IAM5[Resource::*]', 'X-Ray tracing and log delivery actions support no resource-level permissions.');
  }

  /** This fleet's resources, as the handler specs' grants name them. */
  private grantContext(props: CutoverWorkflowProps): GrantContext {
    const stack = Stack.of(this);
    return {
      stack,
      // Auto Scaling group ARNs carry a generated id before the name: only that part is a wildcard.
      groupArns: props.colours.map((c) => Arn.format({
        service: 'autoscaling',
        resource: 'autoScalingGroup',
        resourceName: `*:autoScalingGroupName/${c.autoScalingGroup.autoScalingGroupName}`,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      }, stack)),
      parameterArns: props.colours.flatMap((c) => c.parameterArns),
      tableArn: this.lockTable.tableArn,
      launchTemplateArns: props.colours.map((c) => Arn.format({ service: 'ec2', resource: 'launch-template', resourceName: c.launchTemplate.launchTemplateId }, stack)),
      instanceRoleArn: props.instanceRole.roleArn,
      ...(props.notificationTopic ? { notificationTopicArn: props.notificationTopic.topicArn } : {}),
      ...(props.notificationTopic?.masterKey ? { notificationKeyArn: props.notificationTopic.masterKey.keyArn } : {}),
      ...(props.productionRule ? { productionRuleArn: props.productionRule.listenerRuleArn } : {}),
      ...(props.testRule ? { testRuleArn: props.testRule.listenerRuleArn } : {}),
      ...(props.dns ? { dns: { zoneArn: props.dns.zone.hostedZoneArn, recordName: props.dns.records.recordName, recordType: props.dns.records.recordType } } : {}),
    };
  }

  /**
   * A handler task. The handler gets the whole state (`$`), or `{ state, ...args }` when it
   * takes arguments, and its result replaces the state.
   */
  private task(name: string, fn: HandlerName, args?: Record<string, unknown>, input?: sfn.TaskInput, transient: RetryBudget = TRANSIENT_RETRY): tasks.LambdaInvoke {
    const task = new tasks.LambdaInvoke(this, name, {
      stateName: name,
      lambdaFunction: this.functions[fn],
      payloadResponseOnly: true,
      retryOnServiceExceptions: false,
      // Without a payload the function receives the state input as it is.
      payload: input ?? (args ? sfn.TaskInput.fromObject({ 'state.$': '$', ...args }) : undefined),
      // A little over the function's timeout: an invocation that hangs in Lambda itself ends as
      // States.Timeout, retried below like the function's own Sandbox.Timedout.
      taskTimeout: sfn.Timeout.duration(Duration.seconds(this.functions[fn].timeout!.toSeconds() + TASK_TIMEOUT_MARGIN_SECONDS)),
    });
    const retry = (errors: string[], r: RetryBudget, jitter = true) => task.addRetry({
      errors,
      interval: Duration.seconds(r.intervalSeconds),
      backoffRate: r.backoffRate,
      maxAttempts: r.maxAttempts,
      maxDelay: Duration.seconds(r.maxDelaySeconds),
      ...(jitter ? { jitterStrategy: sfn.JitterType.FULL } : {}),
    });
    retry(THROTTLING_ERRORS, THROTTLING_RETRY);
    retry(LAMBDA_NOT_READY_ERRORS, LAMBDA_NOT_READY_RETRY, false);
    // 5xx and network errors that outlasted the SDK client's retries, and timeouts: the handlers
    // compare the desired state with the current one before changing anything, so a retry is safe.
    retry(TRANSIENT_ERRORS, transient);
    // A task that finds another execution holding the lock changes nothing and ends the execution
    // with Superseded: no cleanup, no result (the holder does both).
    if (this.supersededState) task.addCatch(this.supersededState, { errors: [CutoverErrorName.SUPERSEDED] });
    return task;
  }

  private supersededState?: sfn.Fail;
  private settings!: CutoverSettings;

  private definition(props: CutoverWorkflowProps, config: () => FleetConfig): sfn.IChainable {
    const N = STATE_NAMES;
    const errorAt = { resultPath: '$.error' };
    // The error replaces the state (no ResultPath): Error and Cause are what the handler threw.
    this.supersededState = new sfn.Fail(this, N.superseded, { stateName: N.superseded, errorPath: '$.Error', causePath: '$.Cause' });

    // Terminal paths.
    const rejected = new sfn.Fail(this, N.rejected, { stateName: N.rejected, errorPath: '$.Error', causePath: '$.Cause' });
    const failed = new sfn.Fail(this, N.failed, { stateName: N.failed, errorPath: '$.failure.error', causePath: '$.failure.cause' });
    const rolledBack = new sfn.Fail(this, N.rolledBack, { stateName: N.rolledBack, errorPath: '$.failure.error', causePath: '$.failure.cause' });
    const succeeded = new sfn.Pass(this, N.summarize, {
      stateName: N.summarize,
      parameters: {
        'action.$': '$.action',
        'live.$': '$.target',
        'previous.$': '$.live',
        'liveRelease.$': '$.targetRelease',
        'previousRelease.$': '$.liveRelease',
        'stages.$': '$.stages',
      },
    }).next(new sfn.Succeed(this, N.succeeded, { stateName: N.succeeded }));

    // The release-lock handler describes the failure, including a lock it could not delete. When
    // the task itself fails (a crash, a timeout), nothing has: these states do, so the Fail states
    // always find $.failure (the lock then expires with its lease).
    const lockHeld = 'The lock is released when this execution ends: by the recovery handler (the EventBridge rule on its FAILED status), or else by the next cutover, which takes over a lock whose execution no longer runs.';
    const lockNotReleased = (name: string, error: string, cause: string, args: string[]) => {
      const text = `${cause} ${lockHeld}`;
      // States.Format: the text is quoted with ' and {} are its placeholders; nothing else may need escaping.
      if (/['\\]/.test(text) || (text.match(/\{\}/g) ?? []).length !== args.length || /\{(?!\})|(?<!\{)\}/.test(text)) {
        throw new Error(`lockNotReleased: '${name}' has a cause States.Format cannot take as it is: ${text}`);
      }
      return new sfn.Pass(this, name, {
        stateName: name,
        parameters: { error, 'cause.$': `States.Format('${text}', ${args.join(', ')})` },
        resultPath: '$.failure',
      });
    };

    // Before traffic moved: the idle colour goes back to zero, the live colour is untouched.
    const releaseAfterFailure = this.task(N.releaseAfterFailure, 'release-lock', { outcome: 'failed' });
    releaseAfterFailure.addCatch(lockNotReleased(N.lockHeldAfterFailure, CutoverErrorName.LOCK_RELEASE_FAILED,
      'The cutover failed (the execution history shows the first error), then the release-lock task failed: {}.', ['$.releaseError.Cause']).next(failed),
    { resultPath: '$.releaseError' });
    releaseAfterFailure.next(failed);
    const scaleIdleDown = this.task(N.scaleIdleDown, 'scale-to-zero', { colour: 'target' });
    scaleIdleDown.addCatch(releaseAfterFailure, { resultPath: '$.cleanupError' });
    scaleIdleDown.next(releaseAfterFailure);

    // After traffic moved: traffic back first (one call), then the failed colour to zero.
    const releaseAfterRollback = this.task(N.releaseAfterRollback, 'release-lock', { outcome: 'rolled-back' });
    releaseAfterRollback.addCatch(new sfn.Choice(this, N.rollbackFailedToo, { stateName: N.rollbackFailedToo })
      .when(sfn.Condition.isPresent('$.rollbackError'), lockNotReleased(N.lockHeldRollbackFailed, CutoverErrorName.ROLLBACK_FAILED,
        'Moving traffic back failed ({}: {}), so traffic may still reach the new colour: check the weights and set them by hand. Then the release-lock task failed too: {}.',
        ['$.rollbackError.Error', '$.rollbackError.Cause', '$.releaseError.Cause']).next(rolledBack))
      .otherwise(lockNotReleased(N.lockHeldAfterRollback, CutoverErrorName.ROLLED_BACK,
        'Traffic was moved back to the previous colour (the execution history shows why), then the release-lock task failed: {}.', ['$.releaseError.Cause']).next(rolledBack)),
    { resultPath: '$.releaseError' });
    releaseAfterRollback.next(rolledBack);
    const scaleFailedDown = this.task(N.scaleFailedDown, 'scale-to-zero', { colour: 'target' });
    scaleFailedDown.addCatch(releaseAfterRollback, { resultPath: '$.cleanupError' });
    scaleFailedDown.next(releaseAfterRollback);
    // Moving traffic back has the largest retry budget: giving up leaves traffic on the failed colour.
    const rollBack = this.task(N.rollBack, 'roll-back', undefined, undefined, ROLLBACK_TRANSIENT_RETRY);
    // Superseded is final: the catch-all retrier below must not run it again.
    rollBack.addRetry({ errors: [CutoverErrorName.SUPERSEDED], maxAttempts: 0 });
    rollBack.addRetry({
      errors: ['States.ALL'],
      interval: Duration.seconds(ROLLBACK_ANY_ERROR_RETRY.intervalSeconds),
      backoffRate: ROLLBACK_ANY_ERROR_RETRY.backoffRate,
      maxAttempts: ROLLBACK_ANY_ERROR_RETRY.maxAttempts,
      jitterStrategy: sfn.JitterType.FULL,
    });
    rollBack.addCatch(releaseAfterRollback, { resultPath: '$.rollbackError' });
    // With DNS, clients and resolvers that still hold the old answer keep reaching the colour
    // traffic left: it keeps serving for a few TTLs before it is scaled to zero.
    rollBack.next(this.dnsDrain(N.dnsDrain, scaleFailedDown));

    // The start handler gets the operator's input, the execution id (the lock owner) and the
    // fleet's configuration, a literal of this definition: the handler puts it into the state,
    // and every later task gets it there. The operator's input can never supply it (it is only
    // ever at `input`, where a `config` field is InvalidInput). The input is taken from the
    // context object, not from `$`: a path into a `null` state does not point to a value and
    // would fail the state itself with States.Runtime, before the handler could say InvalidInput.
    const start = this.task(N.start, 'start', undefined, sfn.TaskInput.fromObject({ 'input.$': '$$.Execution.Input', 'executionId.$': '$$.Execution.Id', config: config() }));
    // The error replaces the state here (no ResultPath): the input may not even be an object.
    start.addCatch(rejected, { errors: [CutoverErrorName.INVALID_INPUT, CutoverErrorName.CUTOVER_IN_PROGRESS] });
    // Any other failure may come after the lock was taken: release it (only if it is ours).
    start.addCatch(new sfn.Pass(this, N.startFailed, {
      stateName: N.startFailed,
      // A new state: the release-lock task after it needs the configuration too.
      parameters: { 'executionId.$': '$$.Execution.Id', 'error.$': '$', config: config() },
    }).next(releaseAfterFailure));

    const findLive = this.task(N.findLive, 'find-live');
    findLive.addCatch(releaseAfterFailure, errorAt);
    // The start handler took the lock over from an execution that no longer runs: put the fleet
    // back as a stop leaves it first.
    const recover = this.task(N.recover, 'recover');
    recover.addCatch(releaseAfterFailure, errorAt);
    recover.next(findLive);
    const tookOver = new sfn.Choice(this, N.tookOver, { stateName: N.tookOver })
      .when(sfn.Condition.isPresent('$.takenOver'), recover)
      .otherwise(findLive);

    const prepare = this.task(N.prepare, 'prepare');
    const checkHealth = this.task(N.checkHealth, 'check-health');
    const smoke = this.task(N.smoke, 'smoke-test');
    for (const t of [prepare, checkHealth, smoke]) t.addCatch(scaleIdleDown, errorAt);

    // The shift: one or more weight steps, alarms watched between steps.
    const bake = this.task(N.bake, 'check-alarms', { phase: 'bake' });
    bake.addCatch(rollBack, errorAt);
    const keepWarm = this.task(N.keepWarm, 'keep-warm');
    keepWarm.addCatch(rollBack, errorAt);
    const retire = this.task(N.retire, 'retire-previous');
    const release = this.task(N.release, 'release-lock', { outcome: 'succeeded' });
    // The handler looks at the new colour once more before it scales anything: a new colour that
    // stopped serving while the previous one stayed warm and healthy goes back to it, exactly as
    // after an alarm. Any other failure while retiring must not send traffic back to a colour that
    // may be being scaled down: the lock is released and traffic stays where it is.
    retire.addCatch(rollBack, { errors: [CutoverErrorName.NEW_COLOUR_UNHEALTHY], ...errorAt });
    retire.addCatch(releaseAfterFailure, errorAt);
    release.addCatch(lockNotReleased(N.lockHeldAfterSuccess, CutoverErrorName.LOCK_RELEASE_FAILED,
      'The cutover succeeded: {} serves all traffic. Then the release-lock task failed: {}.',
      ['$.target', '$.releaseError.Cause']).next(failed), { resultPath: '$.releaseError' });

    const waitWarm = new sfn.Wait(this, N.waitWarm, { stateName: N.waitWarm, time: sfn.WaitTime.duration(this.keepPreviousWarm) });
    keepWarm.next(waitWarm).next(retire).next(release);
    // The handler reports a lock it could not delete as a failure, after a success too.
    release.next(new sfn.Choice(this, N.lockReleased, { stateName: N.lockReleased })
      .when(sfn.Condition.isPresent('$.failure'), failed)
      .otherwise(succeeded));

    const waitBake = new sfn.Wait(this, N.waitBake, { stateName: N.waitBake, time: sfn.WaitTime.duration(this.pollInterval) });
    bake.next(new sfn.Choice(this, N.bakeVerdict, { stateName: N.bakeVerdict })
      .when(sfn.Condition.isPresent('$.alarm'), rollBack)
      .when(sfn.Condition.booleanEquals('$.bake.done', true), keepWarm)
      .otherwise(waitBake.next(bake)));

    // The shift: one task per weight step. Each step short of 100 % holds for the step time,
    // its alarms checked every poll interval; an alarm at any step moves all traffic back.
    // With cutover.approval: a pause before the shift and/or after each partial step (see approvalPause).
    const approval = props.settings.approval;
    let shiftChain: sfn.INextable & sfn.IChainable = bake;
    const steps = this.trafficShift.steps;
    for (let i = steps.length - 1; i >= 0; i--) {
      const weight = steps[i];
      const shift = this.task(N.shift(weight), 'shift', { weight });
      shift.addCatch(rollBack, errorAt);
      if (i === steps.length - 1) {
        shift.next(shiftChain);
      } else {
        const watch = this.task(N.watch(weight), 'check-alarms', { phase: 'shift' });
        watch.addCatch(rollBack, errorAt);
        const wait = new sfn.Wait(this, N.waitWatch(weight), { stateName: N.waitWatch(weight), time: sfn.WaitTime.duration(this.pollInterval) });
        // A pause between steps: rejected or timed out (ROLL_BACK), or an alarm, moves traffic back.
        const nextStep = approval?.betweenSteps ? this.approvalPause(weight, shiftChain, rollBack, rollBack) : shiftChain;
        shift.next(watch).next(new sfn.Choice(this, N.watchVerdict(weight), { stateName: N.watchVerdict(weight) })
          .when(sfn.Condition.isPresent('$.alarm'), rollBack)
          .when(sfn.Condition.booleanEquals('$.shiftStep.done', true), nextStep)
          .otherwise(wait.next(watch)));
      }
      shiftChain = shift;
    }
    // A pause before the shift: nothing has moved, so a rejection or a timeout (ROLL_BACK) scales
    // the idle colour back to zero and ends failed with ApprovalRejected or ApprovalTimedOut.
    const firstShift = approval?.beforeShift ? this.approvalPause(undefined, shiftChain, scaleIdleDown) : shiftChain;

    // Smoke tests, then the optional user hook.
    if (props.preTrafficHook) {
      const hookFailed = new sfn.Pass(this, N.hookFailed, {
        stateName: N.hookFailed,
        parameters: { Error: CutoverErrorName.SMOKE_TEST_FAILED, 'Cause.$': "States.Format('The pre-traffic hook failed: {}', $.error.Cause)" },
        resultPath: '$.error',
      }).next(scaleIdleDown);
      const hook = new tasks.LambdaInvoke(this, N.hook, {
        stateName: N.hook,
        lambdaFunction: props.preTrafficHook,
        payload: sfn.TaskInput.fromObject({
          fleetId: props.fleetId,
          'colour.$': '$.target',
          'release.$': '$.targetRelease',
          testListenerPort: props.testPort,
        }),
        resultPath: sfn.JsonPath.DISCARD,
        retryOnServiceExceptions: true,
      });
      hook.addRetry({
        errors: LAMBDA_NOT_READY_ERRORS,
        interval: Duration.seconds(LAMBDA_NOT_READY_RETRY.intervalSeconds),
        backoffRate: LAMBDA_NOT_READY_RETRY.backoffRate,
        maxAttempts: LAMBDA_NOT_READY_RETRY.maxAttempts,
        maxDelay: Duration.seconds(LAMBDA_NOT_READY_RETRY.maxDelaySeconds),
      });
      hook.addCatch(hookFailed, errorAt);
      smoke.next(hook).next(firstShift);
    } else {
      smoke.next(firstShift);
    }

    const waitHealth = new sfn.Wait(this, N.waitHealth, { stateName: N.waitHealth, time: sfn.WaitTime.duration(this.pollInterval) });
    prepare.next(checkHealth).next(new sfn.Choice(this, N.healthy, { stateName: N.healthy })
      .when(sfn.Condition.booleanEquals('$.health.healthy', true), smoke)
      .otherwise(waitHealth.next(checkHealth)));

    // {"action":"rollback"}: traffic to the warm previous colour, then the colour we left to zero.
    const rollbackShift = this.task(N.rollbackShift, 'shift', { weight: 100 }, undefined, ROLLBACK_TRANSIENT_RETRY);
    const rollbackRetire = this.task(N.rollbackRetire, 'scale-to-zero', { colour: 'live' });
    rollbackShift.addCatch(rollBack, errorAt);
    rollbackRetire.addCatch(releaseAfterFailure, errorAt);
    rollbackShift.next(this.dnsDrain(N.dnsDrainRollback, rollbackRetire));
    rollbackRetire.next(release);

    start.next(tookOver);
    findLive.next(new sfn.Choice(this, N.whichAction, { stateName: N.whichAction })
      .when(sfn.Condition.stringEquals('$.action', 'rollback'), rollbackShift)
      .otherwise(prepare));
    return start;
  }

  /**
   * One approval pause (`cutover.approval`): the approval-gate task, a Choice, and a Wait of the
   * approval's poll interval back to the task while no decision came. Step Functions' task tokens
   * (`.waitForTaskToken`) would wait without polling, but the local lab's interpreter
   * (aws-local-stepfunctions) does not run them: a poll of the fleet's table runs the same in the
   * lab and on AWS, has no token to lose, leaves the decision in the table for audit, and costs
   * one Lambda invocation and one Wait per poll interval. `weight` is set for a pause between
   * shift steps, where `onAlarm` takes an alarm seen while paused; `onFail` takes a rejection, a
   * rollback on timeout and any other failure.
   */
  private approvalPause(weight: number | undefined, next: sfn.IChainable, onFail: sfn.IChainable, onAlarm?: sfn.IChainable): sfn.INextable & sfn.IChainable {
    const N = STATE_NAMES;
    const approval = this.settings.approval!;
    const gate = this.task(N.approval(weight), 'approval-gate', {
      ...(weight !== undefined ? { weight } : {}),
      timeoutSeconds: approval.timeoutSeconds,
      onTimeout: approval.onTimeout,
    });
    gate.addCatch(onFail, { resultPath: '$.error' });
    const wait = new sfn.Wait(this, N.waitApproval(weight), { stateName: N.waitApproval(weight), time: sfn.WaitTime.duration(approval.pollInterval) });
    const verdict = new sfn.Choice(this, N.approvalVerdict(weight), { stateName: N.approvalVerdict(weight) });
    if (onAlarm) verdict.when(sfn.Condition.isPresent('$.alarm'), onAlarm);
    gate.next(verdict
      .when(sfn.Condition.booleanEquals('$.approval.done', true), next)
      .otherwise(wait.next(gate)));
    return gate;
  }

  /**
   * With Route 53 switching, a Wait of {@link dnsDrainTime} before `next`; otherwise `next` itself.
   */
  private dnsDrain(name: string, next: sfn.IChainable & sfn.INextable): sfn.IChainable {
    if (!this.dnsDrainTime) return next;
    return new sfn.Wait(this, name, { stateName: name, time: sfn.WaitTime.duration(this.dnsDrainTime) }).next(next);
  }

  /**
   * Lets `grantee` read the fleet's release history: `dynamodb:Query` on the lock table's
   * `History` index only (not on the table, so not on the lock or the other records).
   */
  /**
   * The function of the release history widget (the dashboard's custom widget): the stack's
   * `history-widget` handler, created on first use, allowed to Query this fleet's History index.
   */
  public historyWidgetFunction(): lambda.IFunction {
    const handlers = CutoverHandlers.of(this);
    const spec = HANDLER_SPECS['history-widget'];
    const fn = handlers.function('history-widget', handlerTimeoutSeconds(spec, { route53: false, smokeBudgetSeconds: 0 }));
    spec.grants(handlers.grants(fn), this.grants);
    return fn;
  }

  public grantReadHistory(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:Query'],
      resourceArns: [`${this.lockTable.tableArn}/index/${HISTORY_INDEX_NAME}`],
    });
  }

  /**
   * What the `cdk-ec2-blue-green` command line needs to operate this fleet, and nothing of other
   * fleets: start, stop and read this state machine's executions; read the lock, the last result
   * and the release history; write the approval record only (the `dynamodb:LeadingKeys`
   * condition: Amazon DynamoDB developer guide, "Using IAM policy conditions for fine-grained
   * access control"); read the release parameters; the describe calls of `status`; and find the
   * state machine in this stack (`--stack`). `sts:GetCallerIdentity` needs no permission (AWS STS
   * API reference, GetCallerIdentity).
   */
  public grantOperate(grantee: iam.IGrantable): iam.Grant {
    const stack = Stack.of(this);
    const sm = this.stateMachine;
    const executions = Arn.format({ service: 'states', resource: 'execution', resourceName: `${sm.stateMachineName}:*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME }, stack);
    const grant = iam.Grant.addToPrincipal({ grantee, actions: ['states:StartExecution', 'states:DescribeStateMachine', 'states:ListExecutions'], resourceArns: [sm.stateMachineArn] });
    iam.Grant.addToPrincipal({ grantee, actions: ['states:DescribeExecution', 'states:GetExecutionHistory', 'states:StopExecution'], resourceArns: [executions] });
    iam.Grant.addToPrincipal({ grantee, actions: ['dynamodb:GetItem'], resourceArns: [this.lockTable.tableArn] });
    grantee.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['dynamodb:PutItem'],
      resources: [this.lockTable.tableArn],
      conditions: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [`${this.fleetId}${APPROVAL_RECORD_KEY_SUFFIX}`] } },
    }));
    this.grantReadHistory(grantee);
    iam.Grant.addToPrincipal({ grantee, actions: ['ssm:GetParameters'], resourceArns: this.grants.parameterArns });
    // Describe and read actions without resource-level permissions.
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['elasticloadbalancing:DescribeRules', 'elasticloadbalancing:DescribeTargetHealth', 'autoscaling:DescribeAutoScalingGroups', 'cloudwatch:DescribeAlarms'],
      resourceArns: ['*'],
    });
    if (this.grants.dns) iam.Grant.addToPrincipal({ grantee, actions: ['route53:ListResourceRecordSets'], resourceArns: [this.grants.dns.zoneArn] });
    iam.Grant.addToPrincipal({ grantee, actions: ['cloudformation:ListStackResources'], resourceArns: [stack.stackId] });
    return grant;
  }

  /** Lets `grantee` start cutovers and read their executions. */
  public grantStartCutover(grantee: iam.IGrantable): iam.Grant {
    const startGrant = this.stateMachine.grantStartExecution(grantee);
    this.stateMachine.grantRead(grantee);
    return startGrant;
  }
}

/** `app/<name>/<id>` of a load balancer, from its ARN. */
function loadBalancerFullName(lb: elbv2.IApplicationLoadBalancer): string {
  const lbConcrete = lb as elbv2.ApplicationLoadBalancer;
  if (lbConcrete.loadBalancerFullName) return lbConcrete.loadBalancerFullName;
  return Arn.split(lb.loadBalancerArn, ArnFormat.SLASH_RESOURCE_NAME).resourceName!;
}
