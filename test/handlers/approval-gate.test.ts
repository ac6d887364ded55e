import { DescribeAlarmsCommand, StateValue } from '@aws-sdk/client-cloudwatch';
import { GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { approvalGate, ApprovalGateRequest, stateMachineArnOf } from '../../lambda/approval-gate/approval-gate';
import { logger } from '../../lambda/common/logger';
import { Colour, CutoverErrorName, CutoverState, FleetConfig, LockPause } from '../../lib/private/contract';
import { clock, deployState, EXECUTION_ID, FakeAws, FLEET, OTHER_EXECUTION_ID, target } from './fake-aws';

const TOPIC = 'arn:aws:sns:eu-west-1:111122223333:web-cutovers';
const aws = new FakeAws();
const snsMock = mockClient(SNSClient);
const sns = new SNSClient({ region: 'eu-west-1' });
let time = clock();
const deps = (config: FleetConfig = FLEET) => ({
  dynamoDb: aws.dynamoDb, cloudWatch: aws.cloudWatch, autoScaling: aws.autoScaling, elbv2: aws.elbv2, sns, config, now: time.now,
});

const BEFORE = 'Wait for approval before the shift';
const request = (state: CutoverState, extra: Partial<ApprovalGateRequest> = {}): ApprovalGateRequest =>
  ({ state, timeoutSeconds: 600, onTimeout: 'roll-back', ...extra });

/** The approval record as an operator writes it. */
function decide(decision: string, pause = BEFORE, executionId = EXECUTION_ID): void {
  aws.items.set('web#approval', {
    pk: { S: 'web#approval' }, executionId: { S: executionId }, pause: { S: pause }, decision: { S: decision }, by: { S: 'alice' }, at: { S: '2025-03-01T12:01:00.000Z' },
  });
}

function lockPause(): LockPause | undefined {
  const text = aws.items.get('web')?.pause?.S;
  return text ? JSON.parse(text) as LockPause : undefined;
}

function alarms(states: Record<string, `${StateValue}`>): void {
  aws.cloudWatchMock.on(DescribeAlarmsCommand).callsFake((input: { AlarmNames: string[] }) => ({
    MetricAlarms: Object.entries(states).filter(([n]) => input.AlarmNames.includes(n)).map(([n, s]) => ({ AlarmName: n, StateValue: s, StateReason: `${n} crossed` })),
    CompositeAlarms: [],
  }));
}

beforeEach(() => {
  aws.reset();
  snsMock.reset();
  time = clock('2025-03-01T12:00:00.000Z');
  aws.setGroup(Colour.GREEN, { min: 2, max: 4, desired: 2 }, ['i-0g1', 'i-0g2']);
  alarms({ 'web-green-5xx': 'OK', 'web-green-unhealthy-hosts': 'OK', 'web-p99-latency': 'OK' });
});

afterEach(() => jest.restoreAllMocks());

describe('approval-gate before the shift', () => {
  it('starts the pause on its first poll: the lock records it, the state waits, no alarm is read', async () => {
    const out = await approvalGate(request(deployState()), deps());

    expect(out.approval).toEqual({ state: BEFORE, since: '2025-03-01T12:00:00.000Z', until: '2025-03-01T12:10:00.000Z', onTimeout: 'roll-back', polls: 1, done: false });
    expect(lockPause()).toEqual({ state: BEFORE, since: '2025-03-01T12:00:00.000Z', until: '2025-03-01T12:10:00.000Z', onTimeout: 'roll-back' });
    // The lock is written only if this execution holds it.
    expect(aws.dynamoMock).toHaveReceivedCommandWith(UpdateItemCommand, { ConditionExpression: '#owner = :me', ExpressionAttributeValues: expect.objectContaining({ ':me': { S: EXECUTION_ID } }) });
    // A decision written just before counts: the record is read strongly consistent ("a strongly
    // consistent read ... always returns the last updated value": DynamoDB API reference, GetItem).
    expect(aws.dynamoMock).toHaveReceivedCommandWith(GetItemCommand, { Key: { pk: { S: 'web#approval' } }, ConsistentRead: true });
    expect(aws.cloudWatchMock).not.toHaveReceivedCommand(DescribeAlarmsCommand);
    expect(out.stages?.map((s) => s.stage)).toEqual([BEFORE]);
  });

  it('keeps waiting while no record decides, the clock from the first poll, checking the lock at every poll', async () => {
    let state: CutoverState = await approvalGate(request(deployState()), deps());
    time.advance(30);
    aws.dynamoMock.resetHistory();

    state = await approvalGate(request(state), deps());

    expect(state.approval).toMatchObject({ since: '2025-03-01T12:00:00.000Z', until: '2025-03-01T12:10:00.000Z', polls: 2, done: false });
    expect(aws.dynamoMock).toHaveReceivedCommandWith(GetItemCommand, { Key: { pk: { S: 'web' } }, ConsistentRead: true });
    expect(aws.dynamoMock).not.toHaveReceivedCommand(UpdateItemCommand);
    expect(lockPause()?.state).toBe(BEFORE);
  });

  it('goes on once approved, removing the pause from the lock and recording who decided', async () => {
    let state: CutoverState = await approvalGate(request(deployState()), deps());
    decide('approve');
    time.advance(10);

    state = await approvalGate(request(state), deps());

    expect(state.approval).toMatchObject({ done: true, decision: 'approve', by: 'alice', at: '2025-03-01T12:01:00.000Z', polls: 2 });
    expect(lockPause()).toBeUndefined();
    expect(aws.items.get('web')?.owner?.S).toBe(EXECUTION_ID);
  });

  it('throws ApprovalRejected once rejected, the pause removed first', async () => {
    const state = await approvalGate(request(deployState()), deps());
    decide('reject');

    await expect(approvalGate(request(state), deps())).rejects.toMatchObject({
      name: CutoverErrorName.APPROVAL_REJECTED,
      message: expect.stringContaining('rejected before the shift by alice'),
    });
    expect(lockPause()).toBeUndefined();
  });

  it.each([
    ['another execution', () => decide('reject', BEFORE, OTHER_EXECUTION_ID)],
    ['another pause', () => decide('reject', 'Wait for approval at 10%')],
    ['an unknown decision', () => decide('maybe')],
  ])('ignores a record of %s', async (_name, write) => {
    const state = await approvalGate(request(deployState()), deps());
    write();

    const out = await approvalGate(request(state), deps());

    expect(out.approval).toMatchObject({ done: false, polls: 2 });
    expect(out.approval.decision).toBeUndefined();
  });

  it('takes a decision already written at the first poll, without recording a pause', async () => {
    decide('approve');

    const out = await approvalGate(request(deployState()), deps());

    expect(out.approval).toMatchObject({ done: true, decision: 'approve', polls: 1 });
    expect(lockPause()).toBeUndefined();
  });

  it('on timeout with roll-back throws ApprovalTimedOut', async () => {
    const state = await approvalGate(request(deployState(), { timeoutSeconds: 60 }), deps());
    time.advance(60);

    await expect(approvalGate(request(state, { timeoutSeconds: 60 }), deps())).rejects.toMatchObject({
      name: CutoverErrorName.APPROVAL_TIMED_OUT,
      message: expect.stringContaining('within 60 seconds'),
    });
    expect(lockPause()).toBeUndefined();
  });

  it('on timeout with continue goes on, marked timed out', async () => {
    const state = await approvalGate(request(deployState(), { timeoutSeconds: 60, onTimeout: 'continue' }), deps());
    time.advance(59);
    const waiting = await approvalGate(request(state, { timeoutSeconds: 60, onTimeout: 'continue' }), deps());
    expect(waiting.approval.done).toBe(false);
    time.advance(1);

    const out = await approvalGate(request(waiting, { timeoutSeconds: 60, onTimeout: 'continue' }), deps());

    expect(out.approval).toMatchObject({ done: true, timedOut: true, polls: 3 });
    expect(lockPause()).toBeUndefined();
  });

  it('throws Superseded when another execution holds the lock, and sets nothing', async () => {
    aws.items.set('web', { pk: { S: 'web' }, owner: { S: OTHER_EXECUTION_ID }, phase: { S: 'Cutover' } });

    await expect(approvalGate(request(deployState()), deps())).rejects.toMatchObject({ name: CutoverErrorName.SUPERSEDED });
    expect(lockPause()).toBeUndefined();
  });

  it('throws Superseded at a later poll once the lock was taken over', async () => {
    const state = await approvalGate(request(deployState()), deps());
    aws.items.set('web', { pk: { S: 'web' }, owner: { S: OTHER_EXECUTION_ID }, phase: { S: 'Cutover' } });

    await expect(approvalGate(request(state), deps())).rejects.toMatchObject({ name: CutoverErrorName.SUPERSEDED });
  });

  it('rejects a payload it cannot act on', async () => {
    await expect(approvalGate(request(deployState(), { timeoutSeconds: 0 }), deps())).rejects.toThrow(/timeoutSeconds/);
    await expect(approvalGate(request(deployState(), { onTimeout: 'wait' as never }), deps())).rejects.toThrow(/onTimeout/);
    await expect(approvalGate(request(deployState(), { weight: 100 }), deps())).rejects.toThrow(/weight/);
  });
});

describe('approval-gate notifications', () => {
  it('publishes one message when the pause starts, with how to approve, to the fleet topic only', async () => {
    snsMock.on(PublishCommand).resolves({ MessageId: 'm-1' });
    const config = { ...FLEET, notificationTopicArn: TOPIC };

    let state: CutoverState = await approvalGate(request(deployState()), deps(config));
    time.advance(10);
    state = await approvalGate(request(state), deps(config));

    expect(snsMock).toHaveReceivedCommandTimes(PublishCommand, 1);
    const sent = snsMock.commandCalls(PublishCommand)[0].args[0].input;
    expect(sent.TopicArn).toBe(TOPIC);
    // "Subjects must be UTF-8 text with no line breaks or control characters, and less than 100
    // characters long" (SNS API reference, Publish, Subject).
    expect(sent.Subject!.length).toBeLessThan(100);
    expect(sent.Subject).not.toMatch(/[\r\n]/);
    const message = JSON.parse(sent.Message!);
    expect(message).toMatchObject({
      fleetId: 'web',
      executionId: EXECUTION_ID,
      pause: BEFORE,
      until: '2025-03-01T12:10:00.000Z',
      onTimeout: 'roll-back',
      approve: 'npx cdk-ec2-blue-green approve --state-machine arn:aws:states:eu-west-1:111122223333:stateMachine:web-cutover',
      console: `https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/${EXECUTION_ID}`,
    });
  });

  it('a failed publish does not fail the poll: it is logged and the pause goes on', async () => {
    snsMock.on(PublishCommand).rejects(Object.assign(new Error('User is not authorized'), { name: 'AuthorizationErrorException' }));
    const warn = jest.spyOn(logger, 'warn');

    const out = await approvalGate(request(deployState()), deps({ ...FLEET, notificationTopicArn: TOPIC }));

    expect(out.approval.done).toBe(false);
    expect(lockPause()?.state).toBe(BEFORE);
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('Could not publish'), expect.objectContaining({ topic: TOPIC }));
  });

  it('publishes nothing without a topic', async () => {
    await approvalGate(request(deployState()), deps());
    expect(snsMock).not.toHaveReceivedCommand(PublishCommand);
  });
});

describe('approval-gate between shift steps', () => {
  const AT_10 = 'Wait for approval at 10%';
  const stepState = () => deployState({ trafficMoved: true, targetWeight: 10 });

  it('watches the new colour\'s alarms and the fleet\'s at every poll', async () => {
    const out = await approvalGate(request(stepState(), { weight: 10 }), deps());

    expect(out.approval).toMatchObject({ state: AT_10, done: false });
    expect(aws.cloudWatchMock).toHaveReceivedCommandWith(DescribeAlarmsCommand, { AlarmNames: ['web-green-5xx', 'web-green-unhealthy-hosts', 'web-p99-latency'] });
    expect(lockPause()?.state).toBe(AT_10);
  });

  it('ends the pause with the alarm set when one fires, for the rollback', async () => {
    const state = await approvalGate(request(stepState(), { weight: 10 }), deps());
    alarms({ 'web-green-5xx': 'ALARM', 'web-green-unhealthy-hosts': 'OK', 'web-p99-latency': 'OK' });
    time.advance(10);

    const out = await approvalGate(request(state, { weight: 10 }), deps());

    expect(out.alarm).toEqual({ name: 'web-green-5xx', detectedAt: '2025-03-01T12:00:10.000Z' });
    expect(out.approval.done).toBe(true);
    expect(lockPause()).toBeUndefined();
  });

  it('throws NewColourUnhealthy when the new colour stopped serving, the pause removed', async () => {
    const state = await approvalGate(request(stepState(), { weight: 10 }), deps());
    aws.setTargets(Colour.GREEN, [target('i-0g1', 'unhealthy', 'Target.FailedHealthChecks'), target('i-0g2', 'unhealthy', 'Target.FailedHealthChecks')]);

    await expect(approvalGate(request(state, { weight: 10 }), deps())).rejects.toMatchObject({ name: CutoverErrorName.NEW_COLOUR_UNHEALTHY });
    expect(lockPause()).toBeUndefined();
  });

  it('a rejection at 10% throws ApprovalRejected (the state machine moves traffic back)', async () => {
    const state = await approvalGate(request(stepState(), { weight: 10 }), deps());
    decide('reject', AT_10);

    await expect(approvalGate(request(state, { weight: 10 }), deps())).rejects.toMatchObject({ name: CutoverErrorName.APPROVAL_REJECTED, message: expect.stringContaining('at 10%') });
  });

  it('a new pause starts its own clock, whatever the last one left in the state', async () => {
    const before = await approvalGate(request(deployState()), deps());
    decide('approve');
    const approved = await approvalGate(request(before), deps());
    time.advance(120);

    const out = await approvalGate(request({ ...approved, trafficMoved: true, targetWeight: 10 }, { weight: 10 }), deps());

    expect(out.approval).toMatchObject({ state: AT_10, since: '2025-03-01T12:02:00.000Z', polls: 1, done: false });
  });
});

describe('stateMachineArnOf', () => {
  it('names the state machine of an execution', () => {
    expect(stateMachineArnOf(EXECUTION_ID)).toBe('arn:aws:states:eu-west-1:111122223333:stateMachine:web-cutover');
  });
});
