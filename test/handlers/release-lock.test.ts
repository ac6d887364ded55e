import { ConditionalCheckFailedException, DeleteItemCommand, TransactWriteItemsCommand } from '@aws-sdk/client-dynamodb';
import { Colour, CutoverState, LOCK_DELETE_RETRY } from '../../lib/private/contract';
import { logger } from '../../lambda/common/logger';
import { LOCK_DELETE_BUDGET_MS, releaseLock } from '../../lambda/release-lock/release-lock';
import { BLUE_RELEASE, clock, deployState, EXECUTION_ID, FakeAws, FLEET, OTHER_EXECUTION_ID, throttling } from './fake-aws';

const aws = new FakeAws();
const time = clock('2025-03-01T12:30:00.000Z');
/** The waits of the lock-delete retry, in ms; each moves the clock. */
let waits: number[] = [];
const sleep = async (ms: number) => { waits.push(ms); time.advance(ms / 1000); };
const deps = () => ({ dynamoDb: aws.dynamoDb, config: FLEET, now: time.now, sleep });
const NEW = { imageId: 'ami-0aaaabbbbccccdddd', version: '1.5.0' };

beforeEach(() => {
  waits = [];
  aws.reset();
  aws.dynamoMock.on(DeleteItemCommand).resolves({});
});

afterEach(() => jest.restoreAllMocks());

/** The result record the handler wrote, in its transaction with the lock check. */
const resultRecord = () => {
  const writes = aws.dynamoMock.commandCalls(TransactWriteItemsCommand);
  expect(writes).toHaveLength(1);
  return writes[0].args[0].input.TransactItems![1].Put!.Item;
};

const rolledBack = (overrides: Partial<CutoverState> = {}) => deployState({
  targetRelease: NEW,
  trafficMoved: true,
  targetWeight: 0,
  alarm: { name: 'web-green-5xx', detectedAt: '2025-03-01T12:04:59.000Z' },
  rollback: { reason: 'web-green-5xx', decidedAt: '2025-03-01T12:04:59.000Z', trafficRestoredAt: '2025-03-01T12:05:00.200Z', revertCallMs: 85 },
  scaledToZero: [Colour.GREEN],
  ...overrides,
});

describe('release-lock', () => {
  it('records a successful cutover and deletes the lock if this execution holds it', async () => {
    const out = await releaseLock({ state: deployState({ targetRelease: NEW, scaledToZero: [Colour.BLUE] }), outcome: 'succeeded' }, deps());

    // One transaction: the check that this execution holds the lock, and the result record.
    expect(aws.dynamoMock).toHaveReceivedCommandWith(TransactWriteItemsCommand, { TransactItems: [
      { ConditionCheck: {
        TableName: 'web-cutover-lock', Key: { pk: { S: 'web' } }, ConditionExpression: '#owner = :me',
        ExpressionAttributeNames: { '#owner': 'owner' }, ExpressionAttributeValues: { ':me': { S: EXECUTION_ID } }, ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      } },
      { Put: { TableName: 'web-cutover-lock', Item: {
        pk: { S: 'web#last' },
        outcome: { S: 'succeeded' },
        executionId: { S: EXECUTION_ID },
        action: { S: 'deploy' },
        live: { S: 'green' },
        releases: { M: {
          blue: { M: { imageId: { S: BLUE_RELEASE.imageId }, version: { S: BLUE_RELEASE.version } } },
          green: { M: { imageId: { S: NEW.imageId }, version: { S: NEW.version } } },
        } },
        endedAt: { S: '2025-03-01T12:30:00.000Z' },
      },
      // Not twice for one execution: a retry whose first transaction went through writes no second history item.
      ConditionExpression: 'attribute_not_exists(#pk) OR executionId <> :me',
      ExpressionAttributeNames: { '#pk': 'pk' },
      ExpressionAttributeValues: { ':me': { S: EXECUTION_ID } } } },
      { Put: { TableName: 'web-cutover-lock', Item: expect.objectContaining({
        pk: { S: `web#history#2025-03-01T12:30:00.000Z#${EXECUTION_ID.split(':').pop()}` }, historyOf: { S: 'web' }, outcome: { S: 'succeeded' },
      }) } },
    ] });
    expect(aws.dynamoMock).toHaveReceivedCommandWith(DeleteItemCommand, {
      TableName: 'web-cutover-lock',
      Key: { pk: { S: 'web' } },
      ConditionExpression: '#owner = :me',
      ExpressionAttributeNames: { '#owner': 'owner' },
      ExpressionAttributeValues: { ':me': { S: EXECUTION_ID } },
    });
    expect(out.failure).toBeUndefined();
    expect(out.stages?.map((s) => s.stage)).toEqual(['Release the lock']);
  });

  /** The history item the handler wrote, in the same transaction. */
  const historyItemWritten = () => {
    const writes = aws.dynamoMock.commandCalls(TransactWriteItemsCommand);
    expect(writes).toHaveLength(1);
    return writes[0].args[0].input.TransactItems![2].Put!.Item!;
  };
  const STAGES = [
    { stage: 'Validate input and take the lock', startedAt: '2025-03-01T12:00:00.000Z', endedAt: '2025-03-01T12:00:00.500Z' },
    { stage: 'Prepare the idle colour', startedAt: '2025-03-01T12:00:01.000Z', endedAt: '2025-03-01T12:00:03.000Z' },
    { stage: 'Shift 10% of traffic', startedAt: '2025-03-01T12:02:00.000Z', endedAt: '2025-03-01T12:02:01.000Z' },
    { stage: 'Watch alarms at 10%', startedAt: '2025-03-01T12:02:01.000Z', endedAt: '2025-03-01T12:03:01.000Z' },
    { stage: 'Shift all traffic', startedAt: '2025-03-01T12:03:02.000Z', endedAt: '2025-03-01T12:03:03.000Z' },
    { stage: 'Watch alarms during bake', startedAt: '2025-03-01T12:03:04.000Z', endedAt: '2025-03-01T12:04:59.000Z' },
    { stage: 'Move traffic back', startedAt: '2025-03-01T12:04:59.500Z', endedAt: '2025-03-01T12:05:00.300Z' },
  ];

  it('records the execution in the release history, with the result record: releases, who, stages, rollback reason, alarm and timings', async () => {
    const state = rolledBack({ input: { version: '1.5.0', startedBy: 'alice@example.com' }, stages: STAGES });

    await releaseLock({ state, outcome: 'rolled-back' }, deps());

    const history = historyItemWritten();
    expect(history).toEqual({
      pk: { S: `web#history#2025-03-01T12:30:00.000Z#${EXECUTION_ID.split(':').pop()}` },
      historyOf: { S: 'web' },
      endedAt: { S: '2025-03-01T12:30:00.000Z' },
      startedAt: { S: '2025-03-01T12:00:00.000Z' },
      executionId: { S: EXECUTION_ID },
      action: { S: 'deploy' },
      outcome: { S: 'rolled-back' },
      input: { S: '{"version":"1.5.0","startedBy":"alice@example.com"}' },
      startedBy: { S: 'alice@example.com' },
      from: { S: 'blue' },
      to: { S: 'green' },
      live: { S: 'blue' },
      releases: { M: {
        blue: { M: { imageId: { S: BLUE_RELEASE.imageId }, version: { S: BLUE_RELEASE.version } } },
        green: { M: { imageId: { S: NEW.imageId }, version: { S: NEW.version } } },
      } },
      error: { S: 'RolledBack' },
      cause: resultRecord()!.cause,
      rollbackReason: { S: 'web-green-5xx' },
      alarm: { S: 'web-green-5xx' },
      // From the end of the first shift (12:02:01) to the alarm seen (12:04:59); decision to traffic back.
      timeToDetectSeconds: { N: '178' },
      timeToRevertSeconds: { N: '1.2' },
      stages: { S: JSON.stringify(STAGES.map((st) => ({ name: st.stage, startedAt: st.startedAt, seconds: (Date.parse(st.endedAt) - Date.parse(st.startedAt)) / 1000 }))) },
    });
  });

  it('records a success without rollback fields, and an execution whose start task failed with what it knows', async () => {
    await releaseLock({ state: deployState({ targetRelease: NEW, stages: STAGES.slice(0, 2) }), outcome: 'succeeded' }, deps());
    const ok = historyItemWritten();
    expect(ok).toMatchObject({ outcome: { S: 'succeeded' }, live: { S: 'green' }, input: { S: '{}' } });
    for (const absent of ['error', 'cause', 'rollbackReason', 'alarm', 'timeToDetectSeconds', 'timeToRevertSeconds', 'startedBy']) expect(ok[absent]).toBeUndefined();

    aws.reset();
    aws.dynamoMock.on(DeleteItemCommand).resolves({});
    // The state a start task that crashed hands on: no input, no colours, no stages.
    await releaseLock({ state: { input: undefined, executionId: EXECUTION_ID, error: { Error: 'Error', Cause: 'the task crashed' } }, outcome: 'failed' }, deps());
    const crashed = historyItemWritten();
    expect(crashed).toMatchObject({ outcome: { S: 'failed' }, error: { S: 'Error' }, cause: { S: 'the task crashed' }, releases: { M: {} }, stages: { S: '[]' } });
    for (const absent of ['startedAt', 'input', 'from', 'to', 'live']) expect(crashed[absent]).toBeUndefined();
  });

  it('writes no second history item when a retry finds its result recorded while it still holds the lock, and releases the lock', async () => {
    // The first attempt's transaction went through, its answer was lost before the delete.
    aws.items.set('web#last', { pk: { S: 'web#last' }, executionId: { S: EXECUTION_ID }, outcome: { S: 'succeeded' } });

    const out = await releaseLock({ state: deployState(), outcome: 'succeeded' }, deps());

    expect(out.failure).toBeUndefined();
    expect([...aws.items.keys()].filter((k) => k.includes('#history#'))).toEqual([]);
    expect(aws.dynamoMock).toHaveReceivedCommandTimes(DeleteItemCommand, 1);
  });

  it('writes the result record before it lets the next cutover in', async () => {
    await releaseLock({ state: deployState(), outcome: 'succeeded' }, deps());

    expect(aws.dynamoMock.calls().map((c) => c.args[0].constructor.name)).toEqual(['TransactWriteItemsCommand', 'DeleteItemCommand']);
  });

  it('builds the RolledBack failure from the alarm and the rollback timings', async () => {
    const out = await releaseLock({ state: rolledBack(), outcome: 'rolled-back' }, deps());

    expect(out.failure).toEqual({
      error: 'RolledBack',
      cause: 'Alarm web-green-5xx in ALARM at 2025-03-01T12:04:59.000Z; traffic back on blue 1.2 s after detection (revert call took 85 ms); green scaled to zero.',
    });
    expect(out.stages?.map((s) => s.stage)).toEqual(['Release the lock after rollback']);
    expect(resultRecord()).toEqual(expect.objectContaining({ outcome: { S: 'rolled-back' }, live: { S: 'blue' }, error: { S: 'RolledBack' } }));
  });

  it('builds the RolledBack failure from a caught error after traffic moved', async () => {
    const state = rolledBack({
      alarm: undefined,
      error: { Error: 'States.TaskFailed', Cause: '{"errorType":"Error","errorMessage":"socket hang up"}' },
      rollback: { reason: 'States.TaskFailed: socket hang up', decidedAt: '2025-03-01T12:05:00.000Z', trafficRestoredAt: '2025-03-01T12:05:00.400Z', revertCallMs: 90 },
      scaledToZero: [],
    });

    const out = await releaseLock({ state, outcome: 'rolled-back' }, deps());

    expect(out.failure).toEqual({
      error: 'RolledBack',
      cause: 'States.TaskFailed after traffic moved (socket hang up); traffic back on blue 0.4 s after the failure (revert call took 90 ms); ' +
        'green was not scaled to zero: scale it down once you have looked at it.',
    });
  });

  it('names the colour left running when scaling it down failed', async () => {
    const state = rolledBack({ scaledToZero: [], cleanupError: { Error: 'Throttling', Cause: 'Rate exceeded' } });

    const out = await releaseLock({ state, outcome: 'rolled-back' }, deps());

    expect(out.failure?.cause).toBe('Alarm web-green-5xx in ALARM at 2025-03-01T12:04:59.000Z; traffic back on blue 1.2 s after detection (revert call took 85 ms); ' +
      'scaling green to zero failed (Rate exceeded): scale it down by hand.');
  });

  it('reports RollbackFailed when moving traffic back itself failed', async () => {
    const state = rolledBack({ rollback: undefined, scaledToZero: [], rollbackError: { Error: 'Throttling', Cause: 'Rate exceeded' } });

    const out = await releaseLock({ state, outcome: 'rolled-back' }, deps());

    expect(out.failure).toEqual({
      error: 'RollbackFailed',
      cause: 'Alarm web-green-5xx in ALARM at 2025-03-01T12:04:59.000Z; moving traffic back to blue failed (Throttling: Rate exceeded): ' +
        'the production rule may still send traffic to green. Set its weights by hand (blue 100, green 0), then scale green to zero. ' +
        'The recovery handler tries once more when this execution ends: it moves all traffic back to blue if that colour is healthy, scales the other to zero and releases the lock.',
    });
  });

  it('says so when traffic was already back', async () => {
    const state = rolledBack({ rollback: { reason: 'web-green-5xx', decidedAt: '2025-03-01T12:04:59.000Z', trafficRestoredAt: '2025-03-01T12:05:00.000Z' } });

    const out = await releaseLock({ state, outcome: 'rolled-back' }, deps());

    expect(out.failure?.cause).toBe('Alarm web-green-5xx in ALARM at 2025-03-01T12:04:59.000Z; traffic was already back on blue at 2025-03-01T12:05:00.000Z; green scaled to zero.');
  });

  it('passes a failure before traffic moved through as it was caught', async () => {
    const state = deployState({ error: { Error: 'IdleNotHealthy', Cause: '1 of 2 instances healthy in the green target group after 600 s (i-0g2: unhealthy Target.FailedHealthChecks)' } });

    const out = await releaseLock({ state, outcome: 'failed' }, deps());

    expect(out.failure).toEqual({ error: 'IdleNotHealthy', cause: '1 of 2 instances healthy in the green target group after 600 s (i-0g2: unhealthy Target.FailedHealthChecks)' });
    expect(out.stages?.map((s) => s.stage)).toEqual(['Release the lock after failure']);
    expect(resultRecord()).toEqual(expect.objectContaining({ outcome: { S: 'failed' }, live: { S: 'blue' } }));
  });

  it('adds to the caught error that scaling the idle colour back to zero failed too', async () => {
    const state = deployState({ error: { Error: 'SmokeTestFailed', Cause: 'Smoke check GET /health failed in round 1 of 3' }, cleanupError: { Error: 'Throttling', Cause: 'Rate exceeded' } });

    const out = await releaseLock({ state, outcome: 'failed' }, deps());

    expect(out.failure).toEqual({
      error: 'SmokeTestFailed',
      cause: 'Smoke check GET /health failed in round 1 of 3. Then scaling green to zero failed (Rate exceeded): scale it down by hand.',
    });
  });

  it('releases the lock of an execution that failed right after taking it', async () => {
    // "Start failed" passes only the execution id and the error.
    const out = await releaseLock({ state: { executionId: EXECUTION_ID, error: { Error: 'States.TaskFailed', Cause: 'boom' } } as CutoverState, outcome: 'failed' }, deps());

    expect(out.failure).toEqual({ error: 'States.TaskFailed', cause: 'boom' });
    expect(aws.dynamoMock).toHaveReceivedCommandWith(DeleteItemCommand, { Key: { pk: { S: 'web' } } });
    expect(resultRecord()).toEqual(expect.not.objectContaining({ live: expect.anything() }));
  });

  it('reads the message out of a Lambda error cause', async () => {
    const cause = JSON.stringify({ errorType: 'SmokeTestFailed', errorMessage: 'Smoke check GET /health failed in round 1 of 3', trace: ['SmokeTestFailed: ...'] });

    const out = await releaseLock({ state: deployState({ error: { Error: 'SmokeTestFailed', Cause: cause } }), outcome: 'failed' }, deps());

    expect(out.failure).toEqual({ error: 'SmokeTestFailed', cause: 'Smoke check GET /health failed in round 1 of 3' });
  });

  it('is fine when the lock was already released or taken over', async () => {
    aws.dynamoMock.on(DeleteItemCommand).rejects(new ConditionalCheckFailedException({
      message: 'The conditional request failed', $metadata: {}, Item: { pk: { S: 'web' }, owner: { S: OTHER_EXECUTION_ID } },
    }));
    const info = jest.spyOn(logger, 'info');

    const out = await releaseLock({ state: deployState(), outcome: 'succeeded' }, deps());

    expect(out.stages?.map((s) => s.stage)).toEqual(['Release the lock']);
    expect(info).toHaveBeenCalledWith('The lock was already released or is held by another execution: leaving it', { holder: expect.objectContaining({ owner: OTHER_EXECUTION_ID }) });
  });

  it('records nothing, deletes nothing and throws Superseded when another execution holds the lock', async () => {
    aws.items.set('web', { pk: { S: 'web' }, owner: { S: OTHER_EXECUTION_ID }, phase: { S: 'RollingBack' } });

    await expect(releaseLock({ state: deployState(), outcome: 'succeeded' }, deps())).rejects.toMatchObject({
      name: 'Superseded', message: expect.stringContaining(`execution ${OTHER_EXECUTION_ID} holds the lock of fleet 'web' now (phase RollingBack)`),
    });
    expect(aws.items.get('web#last')).toBeUndefined();
    expect(aws.dynamoMock).toHaveReceivedCommandTimes(DeleteItemCommand, 0);
  });

  it('ends as the first attempt did when a retry finds the lock gone and its own result recorded', async () => {
    // The first attempt wrote the result and deleted the lock, then its answer was lost.
    aws.items.delete('web');
    aws.items.set('web#last', { pk: { S: 'web#last' }, executionId: { S: EXECUTION_ID }, outcome: { S: 'succeeded' } });

    const out = await releaseLock({ state: deployState(), outcome: 'succeeded' }, deps());

    expect(out.failure).toBeUndefined();
    expect(aws.dynamoMock).toHaveReceivedCommandTimes(DeleteItemCommand, 0);
  });

  it('throws Superseded when the lock is gone and the last result is another execution\'s', async () => {
    aws.items.delete('web');
    aws.items.set('web#last', { pk: { S: 'web#last' }, executionId: { S: OTHER_EXECUTION_ID }, outcome: { S: 'succeeded' } });

    await expect(releaseLock({ state: deployState(), outcome: 'succeeded' }, deps())).rejects.toMatchObject({ name: 'Superseded' });
  });

  it('keeps the lock for the recovery handler when moving traffic back failed', async () => {
    const state = rolledBack({ rollback: undefined, rollbackError: { Error: 'States.Timeout', Cause: 'timed out' }, scaledToZero: undefined });

    const out = await releaseLock({ state, outcome: 'rolled-back' }, deps());

    expect(out.failure?.error).toBe('RollbackFailed');
    expect(out.failure?.cause).toContain('The recovery handler tries once more when this execution ends: it moves all traffic back to blue');
    expect(resultRecord()).toEqual(expect.objectContaining({ outcome: { S: 'rolled-back' }, error: { S: 'RollbackFailed' } }));
    expect(aws.dynamoMock).toHaveReceivedCommandTimes(DeleteItemCommand, 0);
    expect(aws.items.get('web')?.owner?.S).toBe(EXECUTION_ID);
  });

  const HELD = "The lock (item 'web' of the table web-cutover-lock) is released when this execution ends: by the recovery handler (the EventBridge rule on its FAILED status), or else by the next cutover, which takes over a lock whose execution no longer runs.";

  it('reports LockReleaseFailed, saying what serves, when the lock of a successful cutover cannot be deleted', async () => {
    aws.dynamoMock.on(DeleteItemCommand).rejects(Object.assign(new Error('Internal'), { name: 'InternalServerError' }));

    const out = await releaseLock({ state: deployState({ targetRelease: NEW }), outcome: 'succeeded' }, deps());

    expect(out.failure).toEqual({
      error: 'LockReleaseFailed',
      cause: `The cutover succeeded: green serves all traffic. Then releasing the lock failed (InternalServerError: Internal). ${HELD}`,
    });
    expect(out.stages?.map((s) => s.stage)).toEqual(['Release the lock']);
  });

  const serverError = (name = 'InternalFailure') => Object.assign(new Error(`${name} (from DynamoDB)`), { name, $fault: 'server', $metadata: { httpStatusCode: 500 } });

  it('tries the lock delete again after a transient error that outlasted the client, and succeeds quietly', async () => {
    aws.dynamoMock.on(DeleteItemCommand)
      .rejectsOnce(serverError('InternalFailure'))
      .rejectsOnce(serverError('ServiceUnavailable'))
      .resolves({});

    const out = await releaseLock({ state: deployState({ targetRelease: NEW }), outcome: 'succeeded' }, deps());

    expect(out.failure).toBeUndefined();
    expect(aws.dynamoMock).toHaveReceivedCommandTimes(DeleteItemCommand, 3);
    // The result record is written once: only the delete is retried.
    expect(aws.dynamoMock).toHaveReceivedCommandTimes(TransactWriteItemsCommand, 1);
    expect(waits).toEqual([1000, 2000]);
  });

  it('takes a failed condition on a retried delete as released (the first delete went through, its answer was lost)', async () => {
    aws.dynamoMock.on(DeleteItemCommand)
      .rejectsOnce(serverError())
      .rejects(new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }));

    const out = await releaseLock({ state: deployState(), outcome: 'succeeded' }, deps());

    expect(out.failure).toBeUndefined();
    expect(aws.dynamoMock).toHaveReceivedCommandTimes(DeleteItemCommand, 2);
  });

  it('gives up on a transient error after its retries and describes the held lock', async () => {
    aws.dynamoMock.on(DeleteItemCommand).rejects(serverError());

    const out = await releaseLock({ state: deployState({ targetRelease: NEW }), outcome: 'succeeded' }, deps());

    expect(aws.dynamoMock).toHaveReceivedCommandTimes(DeleteItemCommand, 1 + LOCK_DELETE_RETRY.maxAttempts);
    expect(waits).toEqual([1000, 2000, 4000]);
    expect(out.failure?.error).toBe('LockReleaseFailed');
    expect(out.failure?.cause).toContain('Then releasing the lock failed (InternalFailure: InternalFailure (from DynamoDB)).');
  });

  it('starts no retry past its budget: slow failures end described, not in the function\'s timeout', async () => {
    aws.dynamoMock.on(DeleteItemCommand).callsFake(() => {
      time.advance(LOCK_DELETE_BUDGET_MS / 1000 - 0.5);
      throw serverError('TimeoutError');
    });

    const out = await releaseLock({ state: deployState(), outcome: 'succeeded' }, deps());

    expect(aws.dynamoMock).toHaveReceivedCommandTimes(DeleteItemCommand, 1);
    expect(waits).toEqual([]);
    expect(out.failure?.error).toBe('LockReleaseFailed');
  });

  it('does not retry an error that is not transient', async () => {
    aws.dynamoMock.on(DeleteItemCommand).rejects(Object.assign(new Error('not allowed'), { name: 'AccessDeniedException' }));

    const out = await releaseLock({ state: deployState(), outcome: 'succeeded' }, deps());

    expect(aws.dynamoMock).toHaveReceivedCommandTimes(DeleteItemCommand, 1);
    expect(waits).toEqual([]);
    expect(out.failure?.cause).toContain('AccessDeniedException: not allowed');
  });

  it('keeps the RolledBack error and adds the lock to its cause when the lock cannot be deleted', async () => {
    aws.dynamoMock.on(DeleteItemCommand).rejects(throttling('ThrottlingException'));

    const out = await releaseLock({ state: rolledBack(), outcome: 'rolled-back' }, deps());

    expect(out.failure).toEqual({
      error: 'RolledBack',
      cause: 'Alarm web-green-5xx in ALARM at 2025-03-01T12:04:59.000Z; traffic back on blue 1.2 s after detection (revert call took 85 ms); green scaled to zero. ' +
        `Releasing the lock failed too (ThrottlingException: Rate exceeded). ${HELD}`,
    });
  });

  it('keeps the caught error of a failure before traffic moved when the lock cannot be deleted', async () => {
    aws.dynamoMock.on(DeleteItemCommand).rejects(throttling());
    const state = deployState({ error: { Error: 'SmokeTestFailed', Cause: 'Smoke check GET /health failed in round 1 of 3' } });

    const out = await releaseLock({ state, outcome: 'failed' }, deps());

    expect(out.failure).toEqual({ error: 'SmokeTestFailed', cause: `Smoke check GET /health failed in round 1 of 3. Releasing the lock failed too (Throttling: Rate exceeded). ${HELD}` });
  });

  it('still releases the lock when the result record cannot be written', async () => {
    aws.dynamoMock.on(TransactWriteItemsCommand).rejects(throttling());
    const warn = jest.spyOn(logger, 'warn');

    const out = await releaseLock({ state: deployState(), outcome: 'succeeded' }, deps());

    expect(aws.dynamoMock).toHaveReceivedCommandTimes(DeleteItemCommand, 1);
    expect(out.failure).toBeUndefined();
    expect(warn).toHaveBeenCalledWith('Could not write the result record: releasing the lock anyway', { error: 'Throttling: Rate exceeded' });
  });
});
