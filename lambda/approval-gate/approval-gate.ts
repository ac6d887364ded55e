import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { AttributeValue, DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import {
  APPROVAL_RECORD_KEY_SUFFIX, ApprovalBookkeeping, ApprovalDecision, ApprovalGatePayload, CutoverState, LOCK_ATTRIBUTES, LOCK_PARTITION_KEY, LockPause,
} from '../../lib/private/contract';
import { STATE_NAMES } from '../../lib/private/stage-names';
import { describeAlarms } from '../check-alarms/check-alarms';
import { BaseDeps } from '../common/deps';
import { AlarmFired, ApprovalRejected, ApprovalTimedOut, NewColourUnhealthy } from '../common/errors';
import { assessColour, colours, describeColourHealth, isoPlusSeconds, stillServing } from '../common/fleet';
import { requireLock, updateLock } from '../common/lock';
import { logger } from '../common/logger';
import { beginStage } from '../common/stage';

// Why a poll and not a task token: the gate must run the same way in the local lab (whose Step
// Functions interpreter has no `.waitForTaskToken`) and on AWS; a poll has no token to lose (a
// token only lives in the message that carried it); the decision is an item of the fleet's own
// table, there for anyone to audit; and a pause costs one Lambda invocation and one Wait per poll
// interval, nothing while the Wait runs.

/** `{ state, weight?, timeoutSeconds, onTimeout }`: `weight` set for a pause between shift steps. */
export type ApprovalGateRequest = ApprovalGatePayload;
/** The state with `approval` updated (`done` once the cutover may go on), or `alarm` set between steps. */
export type ApprovalGateResponse = CutoverState & { readonly approval: ApprovalBookkeeping };

export interface ApprovalGateDeps extends BaseDeps {
  readonly dynamoDb: DynamoDBClient;
  readonly cloudWatch: CloudWatchClient;
  readonly autoScaling: AutoScalingClient;
  readonly elbv2: ElasticLoadBalancingV2Client;
  readonly sns: SNSClient;
}

/** The approval record as the gate reads it. */
export interface ApprovalRecord {
  readonly executionId?: string;
  readonly pause?: string;
  readonly decision?: string;
  readonly by?: string;
  readonly at?: string;
}

/** The key of a fleet's approval record. */
export function approvalRecordKey(fleetId: string): Record<string, AttributeValue> {
  return { [LOCK_PARTITION_KEY]: { S: `${fleetId}${APPROVAL_RECORD_KEY_SUFFIX}` } };
}

/** The state machine's ARN, from one of its executions' ARN. */
export function stateMachineArnOf(executionArn: string): string {
  const parts = executionArn.split(':');
  // arn:aws:states:<region>:<account>:execution:<state machine>:<execution>
  if (parts.length < 8 || parts[5] !== 'execution') return executionArn;
  return [...parts.slice(0, 5), 'stateMachine', parts[6]].join(':');
}

/**
 * One poll of an approval pause: "Wait for approval before the shift" or "Wait for approval at
 * N%". The first poll starts the pause (its clock, the lock's `pause` attribute and one
 * notification); every poll checks that this execution still holds the lock and reads the
 * approval record with a strongly consistent read, taking only a record of this execution and
 * this pause. Between shift steps it also watches the rollback alarms and the new colour's health
 * as a step's watch does, so a paused canary still rolls back on an alarm. The pause ends with an
 * approval (done), a rejection (ApprovalRejected), an alarm (the state comes back with `alarm`
 * set), or its timeout: `continue` goes on (done, `timedOut`), `roll-back` throws
 * ApprovalTimedOut. Whenever it ends, the lock's `pause` attribute is removed first.
 */
export async function approvalGate(request: ApprovalGateRequest, deps: ApprovalGateDeps): Promise<ApprovalGateResponse> {
  const { state, weight, timeoutSeconds, onTimeout } = request;
  if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 1) {
    throw new RangeError(`approval-gate: timeoutSeconds must be a whole number of seconds from 1, got ${JSON.stringify(timeoutSeconds)}.`);
  }
  if (onTimeout !== 'continue' && onTimeout !== 'roll-back') {
    throw new RangeError(`approval-gate: onTimeout must be 'continue' or 'roll-back', got ${JSON.stringify(onTimeout)}.`);
  }
  if (weight !== undefined && (!Number.isInteger(weight) || weight < 1 || weight > 99)) {
    throw new RangeError(`approval-gate: weight must be a whole percentage from 1 to 99 when set, got ${JSON.stringify(weight)}.`);
  }
  const { config } = deps;
  const stage = STATE_NAMES.approval(weight);
  const run = beginStage(state, deps, stage);
  const now = run.startedAt;
  const current = state.approval?.state === stage ? state.approval : undefined;
  const since = current?.since ?? now.toISOString();
  const pause: LockPause = { state: stage, since, until: current?.until ?? isoPlusSeconds(now, timeoutSeconds), onTimeout };
  const bookkeeping = { ...pause, polls: (current?.polls ?? 0) + 1 };
  const notDone = `wait for approval at '${stage}'`;
  // Every poll first checks the lock: a superseded execution stops waiting at once.
  if (current) await requireLock(deps, state.executionId, notDone);

  const record = await readApprovalRecord(deps, config.lockTableName, config.fleetId);
  const decision = acceptedDecision(record, state.executionId, stage);
  if (record && !decision) {
    logger.info('The approval record is for another execution or pause: waiting on', { record });
  }

  // Between steps the new colour serves part of the traffic: its alarms and health still decide.
  const alarm = weight !== undefined && decision !== 'reject' ? await watch(state, deps, weight, now) : undefined;

  const timedOut = !decision && now.getTime() >= Date.parse(pause.until);
  if (!decision && !timedOut && !alarm) {
    if (!current) {
      await updateLock(deps, state.executionId, { [LOCK_ATTRIBUTES.pause]: { S: JSON.stringify(pause) } }, notDone);
      logger.info('Paused for approval', { pause });
      await notify(deps, state, pause);
    } else {
      logger.info('Still waiting for approval', { until: pause.until, polls: bookkeeping.polls });
    }
    return run.done({ approval: { ...bookkeeping, done: false } });
  }

  // The pause ends: the lock no longer says it waits (removing an absent attribute is no error).
  await updateLock(deps, state.executionId, {}, notDone, [LOCK_ATTRIBUTES.pause]);
  const who = decision ? { decision, ...(record?.by ? { by: record.by } : {}), ...(record?.at ? { at: record.at } : {}) } : {};
  if (alarm) {
    logger.error(`Alarm ${alarm.name} in ALARM during the pause at ${weight}%: rolling back`, { alarm });
    return run.done({ alarm, approval: { ...bookkeeping, ...who, done: true } });
  }
  const where = weight === undefined ? 'before the shift' : `at ${weight}%`;
  if (decision === 'reject') {
    throw new ApprovalRejected(`The cutover was rejected ${where}${record?.by ? ` by ${record.by}` : ''}${record?.at ? ` at ${record.at}` : ''} (approval record of execution ${state.executionId}, pause '${stage}').`);
  }
  if (decision === 'approve') {
    logger.info('Approved', { ...who });
    return run.done({ approval: { ...bookkeeping, ...who, done: true } });
  }
  if (onTimeout === 'roll-back') {
    throw new ApprovalTimedOut(`No decision ${where} within ${timeoutSeconds} seconds (paused since ${since}, until ${pause.until}); on timeout the cutover rolls back.`);
  }
  logger.warn('No decision before the timeout: going on, as onTimeout says', { until: pause.until });
  return run.done({ approval: { ...bookkeeping, done: true, timedOut: true } });
}

/** Reads the approval record with a strongly consistent read: a decision just written counts at the next poll. */
async function readApprovalRecord(deps: ApprovalGateDeps, table: string, fleetId: string): Promise<ApprovalRecord | undefined> {
  const out = await deps.dynamoDb.send(new GetItemCommand({ TableName: table, Key: approvalRecordKey(fleetId), ConsistentRead: true }));
  const item = out.Item;
  if (!item) return undefined;
  return { executionId: item.executionId?.S, pause: item.pause?.S, decision: item.decision?.S, by: item.by?.S, at: item.at?.S };
}

/** The record's decision, if it is for this execution and this pause. */
export function acceptedDecision(record: ApprovalRecord | undefined, executionId: string, pause: string): ApprovalDecision | undefined {
  if (!record || record.executionId !== executionId || record.pause !== pause) return undefined;
  if (record.decision === 'approve' || record.decision === 'reject') return record.decision;
  logger.warn("The approval record's decision is neither 'approve' nor 'reject': waiting on", { decision: record.decision ?? null });
  return undefined;
}

/**
 * The checks of a shift step's watch (check-alarms), once: the new colour's alarms and the
 * fleet's rollback alarms; unless one fired, the new colour's health (NewColourUnhealthy).
 */
async function watch(state: CutoverState, deps: ApprovalGateDeps, weight: number, now: Date): Promise<{ name: string; detectedAt: string } | undefined> {
  const { config } = deps;
  const { target } = colours(state);
  const names = [...new Set([...config.colours[target].alarmNames, ...config.rollbackAlarmNames])];
  const firing = (await describeAlarms(deps.cloudWatch, names)).filter((a) => a.state === 'ALARM');
  if (firing.length > 0) {
    const alarm = { name: firing.map((a) => a.name).join(', '), detectedAt: now.toISOString() };
    const fired = new AlarmFired(`Alarm${firing.length > 1 ? 's' : ''} ${alarm.name} in ALARM at ${alarm.detectedAt} during the pause at ${weight}%: rolling back. ` +
      firing.map((a) => `${a.name}: ${a.reason ?? 'no reason given'}`).join('; '));
    logger.error(fired.message, { errorName: fired.name, alarms: firing });
    return alarm;
  }
  const seen = await assessColour(deps.autoScaling, deps.elbv2, config.colours[target]);
  if (!stillServing(seen)) {
    await updateLock(deps, state.executionId, {}, `wait for approval at ${weight}%`, [LOCK_ATTRIBUTES.pause]);
    throw new NewColourUnhealthy(`The new colour ${target} is no longer healthy at ${now.toISOString()} during the pause at ${weight}%: ${describeColourHealth(seen, target)}. Rolling back.`);
  }
  return undefined;
}

/**
 * One message to the fleet's notification topic, if it has one. A failed publish is logged, never
 * thrown: the pause goes on, and an operator can still find it in the console or the lock.
 */
async function notify(deps: ApprovalGateDeps, state: CutoverState, pause: LockPause): Promise<void> {
  const topic = deps.config.notificationTopicArn;
  if (!topic) return;
  const machine = stateMachineArnOf(state.executionId);
  const region = state.executionId.split(':')[3];
  const fleetId = deps.config.fleetId;
  const message = {
    fleetId,
    executionId: state.executionId,
    pause: pause.state,
    since: pause.since,
    until: pause.until,
    onTimeout: pause.onTimeout,
    approve: `npx cdk-ec2-blue-green approve --state-machine ${machine}`,
    // The execution in the Step Functions console (the region is the execution ARN's fourth field).
    console: `https://${region}.console.aws.amazon.com/states/home?region=${region}#/v2/executions/details/${state.executionId}`,
    reject: `npx cdk-ec2-blue-green reject --state-machine ${machine}`,
    text: `The cutover of fleet '${fleetId}' (execution ${state.executionId}) waits for approval at '${pause.state}' until ${pause.until}; ` +
      `without a decision it will ${pause.onTimeout === 'continue' ? 'go on' : 'roll back'}. ` +
      `Approve with: npx cdk-ec2-blue-green approve --state-machine ${machine}`,
  };
  try {
    await deps.sns.send(new PublishCommand({
      TopicArn: topic,
      // SNS subjects: no line breaks, less than 100 characters (SNS API reference, Publish, Subject).
      Subject: `Cutover of ${fleetId} waits for approval`.slice(0, 99),
      Message: JSON.stringify(message, null, 2),
    }));
    logger.info('Notified the pause', { topic });
  } catch (e) {
    logger.warn('Could not publish the pause notification: the pause goes on', { topic, error: `${(e as Error).name}: ${(e as Error).message}` });
  }
}
