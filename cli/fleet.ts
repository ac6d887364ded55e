import { DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { ListStackResourcesCommand } from '@aws-sdk/client-cloudformation';
import { DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { DescribeExecutionCommand, DescribeStateMachineCommand, GetExecutionHistoryCommand, HistoryEvent } from '@aws-sdk/client-sfn';
import { Colour, COLOURS, FleetConfig, LOCK_PARTITION_KEY, LockPause, RECOVERY_OWNER_PREFIX, RESULT_RECORD_KEY_SUFFIX } from '../lib/private/contract';
import { STATE_NAMES } from '../lib/private/stage-names';
import { parseFleetConfig } from '../lambda/common/config';
import { readRecordWeights } from '../lambda/common/dns';
import { readReleases, readRuleWeights, RuleWeights, targetStates } from '../lambda/common/fleet';
import { lockItem, lockKey } from '../lambda/common/lock';
import { Aws, awsClients, call, cloudFormationClient, translateAwsError } from './aws';
import { CliError, CliIo } from './io';

/** A fleet as the CLI found it: its state machine and the configuration its definition carries. */
export interface Fleet {
  readonly stateMachineArn: string;
  readonly config: FleetConfig;
  readonly aws: Aws;
}

const STATE_MACHINE_ARN = /^arn:aws[a-z-]*:states:([a-z0-9-]+):(\d{12}):stateMachine:[A-Za-z0-9_.-]+$/;
const EXECUTION_ARN = /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:execution:[^:]+:[^:]+$/;

/**
 * Finds the fleet from its cutover state machine (`--state-machine`, or BLUE_GREEN_STATE_MACHINE):
 * DescribeStateMachine, then the fleet configuration literal in the payload of
 * "Validate input and take the lock", as the handlers get it.
 */
export async function findFleet(io: CliIo, where: FleetLocation): Promise<Fleet> {
  if (where.stack !== undefined && where.stateMachine !== undefined) throw new CliError('Pass either --state-machine or --stack (with --fleet), not both.');
  if (where.fleet !== undefined && where.stack === undefined) throw new CliError('--fleet needs --stack: the stack the fleet is in.');
  const arn = where.stack !== undefined ? await stateMachineOfStack(io, where.stack, where.fleet) : where.stateMachine ?? io.env.BLUE_GREEN_STATE_MACHINE;
  if (!arn) {
    throw new CliError('No fleet given: pass --state-machine <ARN> (or set BLUE_GREEN_STATE_MACHINE) with the ARN of the fleet\'s cutover state machine, '
      + 'or --stack <stack name> [--fleet <construct id>].');
  }
  const m = STATE_MACHINE_ARN.exec(arn);
  if (!m) throw new CliError(`'${arn}' is not a state machine ARN: use one such as arn:aws:states:eu-west-1:123456789012:stateMachine:WebCutover1A2B3C.`);
  // The state machine's region is the fleet's.
  const aws = awsClients(io, m[1]);
  let definition: string;
  try {
    definition = (await aws.sfn.send(new DescribeStateMachineCommand({ stateMachineArn: arn }))).definition ?? '';
  } catch (e) {
    if ((e as Error).name === 'StateMachineDoesNotExist') {
      throw new CliError(`State machine ${arn} does not exist in account ${m[2]}, region ${m[1]}: check the ARN (the fleet's stack may have been deleted or redeployed under another name) and that your credentials are for that account.`);
    }
    throw translateAwsError(e, 'states:DescribeStateMachine');
  }
  let config: FleetConfig;
  try {
    const raw = JSON.parse(definition).States?.[STATE_NAMES.start]?.Parameters?.config;
    if (!raw) throw new Error(`its state '${STATE_NAMES.start}' carries no fleet configuration`);
    config = parseFleetConfig(raw);
  } catch (e) {
    throw new CliError(`State machine ${arn} is not a cdk-ec2-blue-green cutover workflow (${(e as Error).message}): pass the ARN of the fleet's cutover state machine.`);
  }
  return { stateMachineArn: arn, config, aws };
}

/** Where the fleet is: its state machine, or its stack and construct id. */
export interface FleetLocation {
  readonly stateMachine?: string;
  readonly stack?: string;
  readonly fleet?: string;
}

/** A fleet's state machine in a stack: logical id `<path of the fleet>CutoverStateMachine<hash>`. */
const CUTOVER_STATE_MACHINE_ID = /^(.*)CutoverStateMachine[0-9A-F]{8}$/;

/**
 * The cutover state machine of `fleet` (the BlueGreenFleet's construct id) in a stack
 * (CloudFormation ListStackResources); without `fleet`, the stack's only one.
 */
async function stateMachineOfStack(io: CliIo, stack: string, fleet: string | undefined): Promise<string> {
  const region = io.env.AWS_REGION ?? io.env.AWS_DEFAULT_REGION;
  const cfn = cloudFormationClient(io, region);
  const found: Array<{ path: string; arn: string }> = [];
  let token: string | undefined;
  try {
    do {
      const page = await cfn.send(new ListStackResourcesCommand({ StackName: stack, NextToken: token }));
      for (const r of page.StackResourceSummaries ?? []) {
        const m = r.ResourceType === 'AWS::StepFunctions::StateMachine' ? CUTOVER_STATE_MACHINE_ID.exec(r.LogicalResourceId ?? '') : null;
        if (m && r.PhysicalResourceId) found.push({ path: m[1], arn: r.PhysicalResourceId });
      }
      token = page.NextToken;
    } while (token);
  } catch (e) {
    if ((e as Error).name === 'ValidationError' && /does not exist/.test((e as Error).message)) {
      throw new CliError(`Stack ${stack} does not exist${region ? ` in ${region}` : ''}: check the name (aws cloudformation list-stacks) and the region (AWS_REGION).`);
    }
    throw translateAwsError(e, 'cloudformation:ListStackResources');
  }
  const fleets = found.map((f) => f.path).join(', ');
  if (!found.length) throw new CliError(`Stack ${stack} has no BlueGreenFleet cutover state machine: pass the stack that holds the fleet, or --state-machine <ARN>.`);
  if (fleet === undefined) {
    if (found.length > 1) throw new CliError(`Stack ${stack} has ${found.length} fleets (${fleets}): pass --fleet with one of them.`);
    return found[0].arn;
  }
  // The logical id is the construct path without separators: the fleet's id ends it.
  const match = found.filter((f) => f.path === fleet || f.path.endsWith(fleet));
  if (match.length !== 1) throw new CliError(`Stack ${stack} has ${match.length ? 'several fleets' : 'no fleet'} '${fleet}'${match.length ? ` (${match.map((f) => f.path).join(', ')})` : ''}: use one of ${fleets}.`);
  return match[0].arn;
}

/** The fleet's pause (the approval gate), as the lock's `pause` attribute holds it. */
export type Pause = Pick<LockPause, 'state'> & Partial<Omit<LockPause, 'state'>>;

/** Everything `status` shows; `status --json` prints it as it is (README, "Operating a fleet"). */
export interface FleetStatus {
  readonly fleetId: string;
  readonly stateMachineArn: string;
  /** 'listener-rule' or 'route53'. */
  readonly switch: 'listener-rule' | 'route53';
  /** The colour with all production traffic; null while traffic is split (or on neither). */
  readonly live: Colour | null;
  readonly weights: { readonly production: RuleWeights; readonly test: RuleWeights | null };
  readonly colours: Record<Colour, {
    readonly desired: number;
    readonly min: number;
    readonly max: number;
    readonly inService: number;
    readonly healthy: number;
    readonly release: { readonly version: string; readonly imageId: string };
  }>;
  readonly lock: null | {
    readonly owner: string;
    readonly phase: string | null;
    readonly expiresAt: string | null;
    readonly warmUntil: string | null;
    readonly restoreTo: Colour | null;
  };
  readonly execution: null | {
    readonly executionArn: string;
    readonly name: string;
    readonly status: string;
    readonly startDate: string;
    readonly startedBy: string | null;
    /** The state it entered last. */
    readonly stage: string | null;
  };
  readonly pause: Pause | null;
  /** Names of the fleet's rollback alarms (both colours' and the user's) in ALARM. */
  readonly alarmsInAlarm: string[];
  /** When the previous colour stops being kept warm (the lock's warmUntil). */
  readonly warmUntil: string | null;
  /** The result record of the last execution that ended. */
  readonly last: null | { readonly outcome: string; readonly executionArn: string; readonly endedAt: string | null; readonly live: string | null; readonly error: string | null };
}

/** The lock item, with its pause. */
export async function readLock(fleet: Fleet): Promise<{ lock: FleetStatus['lock']; pause: Pause | null }> {
  const { config, aws } = fleet;
  const item = (await call('dynamodb:GetItem', () => aws.dynamoDb.send(new GetItemCommand({ TableName: config.lockTableName, Key: lockKey(config.fleetId), ConsistentRead: true })))).Item;
  const held = lockItem(item);
  if (!held || !item) return { lock: null, pause: null };
  let pause: Pause | null = null;
  if (item.pause?.S) {
    try {
      const p = JSON.parse(item.pause.S);
      if (p && typeof p.state === 'string') pause = { state: p.state, since: p.since, until: p.until, onTimeout: p.onTimeout };
    } catch {
      pause = null;
    }
  }
  return {
    lock: {
      owner: held.owner ?? '',
      phase: held.phase ?? null,
      expiresAt: held.expiresAt !== undefined ? new Date(held.expiresAt * 1000).toISOString() : null,
      warmUntil: held.warmUntil ?? null,
      restoreTo: held.restoreTo ?? null,
    },
    pause,
  };
}

/** The execution ARN a lock owner names (the recovery handler's owner names the stopped one). */
export function ownerExecution(owner: string | undefined): string | undefined {
  const arn = owner?.startsWith(RECOVERY_OWNER_PREFIX) ? owner.slice(RECOVERY_OWNER_PREFIX.length) : owner;
  return arn && EXECUTION_ARN.test(arn) ? arn : undefined;
}

/** The state an execution entered last (GetExecutionHistory, newest first). */
export async function currentStage(fleet: Fleet, executionArn: string): Promise<string | null> {
  const out = await call('states:GetExecutionHistory', () => fleet.aws.sfn.send(new GetExecutionHistoryCommand({ executionArn, reverseOrder: true, maxResults: 50, includeExecutionData: false })));
  return (out.events ?? []).find((e: HistoryEvent) => e.stateEnteredEventDetails?.name)?.stateEnteredEventDetails?.name ?? null;
}

/** Reads the fleet's state: weights, groups, releases, the lock and its execution, alarms. */
export async function readStatus(fleet: Fleet): Promise<FleetStatus> {
  const { config, aws } = fleet;
  const groupNames = COLOURS.map((c) => config.colours[c].autoScalingGroupName);
  const alarmNames = [...new Set([...COLOURS.flatMap((c) => config.colours[c].alarmNames), ...config.rollbackAlarmNames])];
  const [production, test, groups, releases, { lock, pause }, lastItem, alarms] = await Promise.all([
    config.route53
      ? call('route53:ListResourceRecordSets', () => readRecordWeights(aws.route53, config))
      : call('elasticloadbalancing:DescribeRules', () => readRuleWeights(aws.elbv2, config.productionRuleArn, config)),
    config.route53 || !config.testRuleArn ? Promise.resolve(null) : call('elasticloadbalancing:DescribeRules', () => readRuleWeights(aws.elbv2, config.testRuleArn, config)),
    call('autoscaling:DescribeAutoScalingGroups', () => aws.autoScaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: groupNames }))),
    call('ssm:GetParameters', () => readReleases(aws.ssm, COLOURS.map((c) => config.colours[c]))),
    readLock(fleet),
    call('dynamodb:GetItem', () => aws.dynamoDb.send(new GetItemCommand({ TableName: config.lockTableName, Key: { [LOCK_PARTITION_KEY]: { S: `${config.fleetId}${RESULT_RECORD_KEY_SUFFIX}` } } }))),
    alarmNames.length
      ? call('cloudwatch:DescribeAlarms', () => aws.cloudWatch.send(new DescribeAlarmsCommand({ AlarmNames: alarmNames.slice(0, 100) })))
      : Promise.resolve({ MetricAlarms: [], CompositeAlarms: [] }),
  ]);

  const colours = {} as FleetStatus['colours'];
  await Promise.all(COLOURS.map(async (c, i) => {
    const g = groups.AutoScalingGroups?.find((x) => x.AutoScalingGroupName === config.colours[c].autoScalingGroupName);
    const inService = (g?.Instances ?? []).filter((x) => x.LifecycleState === 'InService').map((x) => x.InstanceId!);
    const states = inService.length ? await call('elasticloadbalancing:DescribeTargetHealth', () => targetStates(aws.elbv2, config.colours[c].targetGroupArn, inService)) : new Map();
    colours[c] = {
      desired: g?.DesiredCapacity ?? 0,
      min: g?.MinSize ?? 0,
      max: g?.MaxSize ?? 0,
      inService: inService.length,
      healthy: [...states.values()].filter((s) => s.state === 'healthy').length,
      release: { version: releases[i].version, imageId: releases[i].imageId },
    };
  }));

  let execution: FleetStatus['execution'] = null;
  const arn = ownerExecution(lock?.owner);
  if (arn) {
    const d = await call('states:DescribeExecution', () => aws.sfn.send(new DescribeExecutionCommand({ executionArn: arn })));
    let startedBy: string | null = null;
    try {
      const input = JSON.parse(d.input ?? '{}');
      if (typeof input?.startedBy === 'string') startedBy = input.startedBy;
    } catch {
      startedBy = null;
    }
    execution = {
      executionArn: arn,
      name: d.name ?? arn.split(':').pop()!,
      status: d.status ?? 'UNKNOWN',
      startDate: d.startDate ? d.startDate.toISOString() : '',
      startedBy,
      stage: d.status === 'RUNNING' ? await currentStage(fleet, arn) : null,
    };
  }
  const last = lastItem.Item;
  return {
    fleetId: config.fleetId,
    stateMachineArn: fleet.stateMachineArn,
    switch: config.route53 ? 'route53' : 'listener-rule',
    live: COLOURS.find((c) => production[c] === 100) ?? null,
    weights: { production, test },
    colours,
    lock,
    execution,
    pause,
    // Filtered here rather than with StateValue, which moto does not apply.
    alarmsInAlarm: [...(alarms.MetricAlarms ?? []), ...(alarms.CompositeAlarms ?? [])].filter((a) => a.StateValue === 'ALARM').map((a) => a.AlarmName!).sort(),
    warmUntil: lock?.warmUntil ?? null,
    last: last ? {
      outcome: last.outcome?.S ?? 'unknown',
      executionArn: last.executionId?.S ?? '',
      endedAt: last.endedAt?.S ?? null,
      live: last.live?.S ?? null,
      error: last.error?.S ?? null,
    } : null,
  };
}
