import { ConditionalCheckFailedException, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { keepWarm } from '../../lambda/keep-warm/keep-warm';
import { clock, deployState, EXECUTION_ID, FakeAws, FLEET, OTHER_EXECUTION_ID, throttling } from './fake-aws';

const aws = new FakeAws();
const time = clock('2025-03-01T12:10:00.000Z');
const deps = () => ({ dynamoDb: aws.dynamoDb, config: FLEET, now: time.now });

function conditionFailed(item: Record<string, { S: string }>) {
  return new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {}, Item: { pk: { S: 'web' }, ...item } });
}

beforeEach(() => aws.reset());

describe('keep-warm', () => {
  it('marks the lock KeepingWarm until now + warmSeconds, if this execution holds it', async () => {
    aws.dynamoMock.on(UpdateItemCommand).resolves({});

    const out = await keepWarm(deployState({ trafficMoved: true }), deps());

    expect(aws.dynamoMock).toHaveReceivedCommandWith(UpdateItemCommand, {
      TableName: 'web-cutover-lock',
      Key: { pk: { S: 'web' } },
      UpdateExpression: 'SET phase = :warm, warmUntil = :until',
      ConditionExpression: '#owner = :me AND phase <> :warm',
      ExpressionAttributeNames: { '#owner': 'owner' },
      ExpressionAttributeValues: { ':me': { S: EXECUTION_ID }, ':warm': { S: 'KeepingWarm' }, ':until': { S: '2025-03-01T12:25:00.000Z' } },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
    expect(out.warmUntil).toBe('2025-03-01T12:25:00.000Z');
    expect(out.stages?.map((s) => s.stage)).toEqual(['Keep the previous colour warm']);
  });

  it('records, after the lock update, the colour traffic left and the release it runs', async () => {
    aws.dynamoMock.on(UpdateItemCommand).resolves({});
    aws.dynamoMock.on(PutItemCommand).resolves({});

    await keepWarm(deployState({ trafficMoved: true }), deps());

    expect(aws.dynamoMock).toHaveReceivedCommandWith(PutItemCommand, {
      TableName: 'web-cutover-lock',
      Item: {
        pk: { S: 'web#previous' },
        colour: { S: 'blue' },
        imageId: { S: 'ami-0123456789abcdef0' },
        version: { S: '1.4.1' },
        live: { S: 'green' },
        executionId: { S: EXECUTION_ID },
        recordedAt: { S: '2025-03-01T12:10:00.000Z' },
        retired: { BOOL: false },
      },
    });
    const order = aws.dynamoMock.calls().map((c) => c.args[0].constructor.name);
    expect(order).toEqual(['UpdateItemCommand', 'PutItemCommand']);
  });

  it('writes the same record again when retried after the lock update', async () => {
    aws.dynamoMock.on(UpdateItemCommand).rejects(conditionFailed({ owner: { S: EXECUTION_ID }, phase: { S: 'KeepingWarm' }, warmUntil: { S: '2025-03-01T12:24:00.000Z' } }));
    aws.dynamoMock.on(PutItemCommand).resolves({});

    await keepWarm(deployState(), deps());

    expect(aws.dynamoMock).toHaveReceivedCommandWith(PutItemCommand, { Item: expect.objectContaining({ pk: { S: 'web#previous' }, colour: { S: 'blue' } }) });
  });

  it('keeps the first warmUntil when retried', async () => {
    aws.dynamoMock.on(UpdateItemCommand).rejects(conditionFailed({ owner: { S: EXECUTION_ID }, phase: { S: 'KeepingWarm' }, warmUntil: { S: '2025-03-01T12:24:00.000Z' } }));

    const out = await keepWarm(deployState(), deps());

    expect(out.warmUntil).toBe('2025-03-01T12:24:00.000Z');
  });

  it('throws Superseded, naming the holder, and records nothing when another execution holds the lock', async () => {
    aws.dynamoMock.on(UpdateItemCommand).rejects(conditionFailed({ owner: { S: OTHER_EXECUTION_ID }, phase: { S: 'Cutover' } }));

    await expect(keepWarm(deployState(), deps())).rejects.toMatchObject({
      name: 'Superseded',
      message: expect.stringContaining(`execution ${OTHER_EXECUTION_ID} holds the lock of fleet 'web' now (phase Cutover)`),
    });
    expect(aws.dynamoMock).toHaveReceivedCommandTimes(PutItemCommand, 0);
  });

  it('surfaces a throttled record write (the task is retried; the lock is already KeepingWarm)', async () => {
    aws.dynamoMock.on(UpdateItemCommand).resolves({});
    aws.dynamoMock.on(PutItemCommand).rejects(throttling('ThrottlingException'));

    await expect(keepWarm(deployState(), deps())).rejects.toMatchObject({ name: 'ThrottlingException' });
  });

  it('surfaces a throttling error from DynamoDB', async () => {
    aws.dynamoMock.on(UpdateItemCommand).rejects(throttling('ThrottlingException'));

    await expect(keepWarm(deployState(), deps())).rejects.toMatchObject({ name: 'ThrottlingException' });
  });
});
