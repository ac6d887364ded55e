import { ConditionalCheckFailedException, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { DescribeExecutionCommand } from '@aws-sdk/client-sfn';
import { start } from '../../lambda/start/start';
import { clock, EXECUTION_ID, FakeAws, FLEET, OTHER_EXECUTION_ID, throttling } from './fake-aws';

const aws = new FakeAws();
let time = clock();
const deps = () => ({ dynamoDb: aws.dynamoDb, sfn: aws.sfn, config: FLEET, now: time.now });

beforeEach(() => {
  aws.reset();
  time = clock('2025-03-01T12:00:00.000Z');
  aws.dynamoMock.on(PutItemCommand).resolves({});
});

describe('start: input validation (before any AWS call)', () => {
  const cases: [string, unknown, string][] = [
    ['a malformed AMI id', { imageId: 'ami-123' },
      "imageId 'ami-123' is not an AMI id: use 'ami-' followed by 8 or 17 hex digits, such as ami-0123456789abcdef0."],
    ['an AMI id with upper-case hex', { imageId: 'ami-0123456789ABCDEF0' },
      "imageId 'ami-0123456789ABCDEF0' is not an AMI id: use 'ami-' followed by 8 or 17 hex digits, such as ami-0123456789abcdef0."],
    ['an AMI id that is a number', { imageId: 42 },
      "imageId 42 is not an AMI id: use 'ami-' followed by 8 or 17 hex digits, such as ami-0123456789abcdef0."],
    ['a version with a space', { version: '1.4 beta' },
      "version '1.4 beta' is not a version: use 1 to 128 letters, digits and . _ + - starting with a letter or digit, such as 1.4.2."],
    ['a very long version (truncated in the message)', { version: 'v'.repeat(200) },
      `version '${'v'.repeat(57)}...' is not a version: use 1 to 128 letters, digits and . _ + - starting with a letter or digit, such as 1.4.2.`],
    ['an unknown action', { action: 'promote' },
      "action 'promote' is not an action: use 'deploy' (the default) or 'rollback'."],
    ['an unknown field', { imageId: 'ami-0123456789abcdef0', foo: 1 },
      "unknown field 'foo': the input accepts only imageId, version, action and startedBy."],
    ['a misspelt field', { imageID: 'ami-0123456789abcdef0' },
      "unknown field 'imageID': the input accepts only imageId, version, action and startedBy."],
    ['a rollback with a version', { action: 'rollback', version: '1.4.0' },
      "action 'rollback' takes no version: a rollback moves traffic back to the previous colour as it is; to deploy a release, leave out action."],
    ['a rollback with an image and a version', { action: 'rollback', imageId: 'ami-0123456789abcdef0', version: '1.4.0' },
      "action 'rollback' takes no imageId and version: a rollback moves traffic back to the previous colour as it is; to deploy a release, leave out action."],
    ['an array', ['ami-0123456789abcdef0'],
      'the input ["ami-0123456789abcdef0"] is not a JSON object: use an object such as {}, {"imageId": "ami-0123456789abcdef0"}, {"version": "1.4.2"} or {"action": "rollback"}.'],
    ['a string', 'ami-0123456789abcdef0',
      'the input \'ami-0123456789abcdef0\' is not a JSON object: use an object such as {}, {"imageId": "ami-0123456789abcdef0"}, {"version": "1.4.2"} or {"action": "rollback"}.'],
    ['null', null,
      'the input null is not a JSON object: use an object such as {}, {"imageId": "ami-0123456789abcdef0"}, {"version": "1.4.2"} or {"action": "rollback"}.'],
    ['an empty startedBy', { startedBy: '' },
      "startedBy '' is not a name: use 1 to 256 printable characters (no control characters such as line breaks), such as alice@example.com or arn:aws:iam::123456789012:user/alice; or leave it out."],
    ['a startedBy with a line break', { version: '1.4.2', startedBy: 'alice\nbob' },
      "startedBy 'alice\nbob' is not a name: use 1 to 256 printable characters (no control characters such as line breaks), such as alice@example.com or arn:aws:iam::123456789012:user/alice; or leave it out."],
    ['a startedBy of 257 characters', { startedBy: 'a'.repeat(257) },
      `startedBy '${'a'.repeat(57)}...' is not a name: use 1 to 256 printable characters (no control characters such as line breaks), such as alice@example.com or arn:aws:iam::123456789012:user/alice; or leave it out.`],
    ['a startedBy that is not a string', { startedBy: { user: 'alice' } },
      'startedBy {"user":"alice"} is not a name: use 1 to 256 printable characters (no control characters such as line breaks), such as alice@example.com or arn:aws:iam::123456789012:user/alice; or leave it out.'],
  ];

  it.each(cases)('rejects %s with InvalidInput and takes no lock', async (_name, input, message) => {
    const run = start({ input, executionId: EXECUTION_ID }, deps());
    await expect(run).rejects.toMatchObject({ name: 'InvalidInput', message });
    expect(aws.dynamoMock.calls()).toHaveLength(0);
  });

  it.each([
    ['{}', {}, 'deploy', {}],
    ['no input at all', undefined, 'deploy', {}],
    ['an 8-digit AMI id', { imageId: 'ami-0123abcd' }, 'deploy', { imageId: 'ami-0123abcd' }],
    ['a 17-digit AMI id and a version', { imageId: 'ami-0123456789abcdef0', version: '1.4.2+build.7' }, 'deploy', { imageId: 'ami-0123456789abcdef0', version: '1.4.2+build.7' }],
    ['an explicit deploy', { action: 'deploy', version: '2.0.0-rc_1' }, 'deploy', { version: '2.0.0-rc_1' }],
    ['a rollback', { action: 'rollback' }, 'rollback', {}],
    ['a startedBy (an IAM ARN)', { version: '1.4.2', startedBy: 'arn:aws:iam::123456789012:user/alice' }, 'deploy', { version: '1.4.2' }],
    ['a startedBy of 256 characters, not all ASCII', { action: 'rollback', startedBy: `Zoë ${'é'.repeat(252)}` }, 'rollback', {}],
    ['a deploy naming who started it', { version: '1.4.2', startedBy: 'arn:aws:iam::123456789012:user/ops' }, 'deploy', { version: '1.4.2' }],
  ])('accepts %s', async (_name, input, action, release) => {
    const out = await start({ input, executionId: EXECUTION_ID }, deps());
    expect(out.action).toBe(action);
    expect(out.release).toEqual(release);
    expect(out.input).toEqual(input);
  });
});

describe('start: the lock', () => {
  it('takes the lock with a conditional PutItem, re-entrant for the same execution', async () => {
    const out = await start({ input: { version: '1.4.2' }, executionId: EXECUTION_ID }, deps());

    expect(aws.dynamoMock).toHaveReceivedCommandTimes(PutItemCommand, 1);
    expect(aws.dynamoMock).toHaveReceivedCommandWith(PutItemCommand, {
      TableName: 'web-cutover-lock',
      Item: {
        pk: { S: 'web' },
        owner: { S: EXECUTION_ID },
        phase: { S: 'Cutover' },
        acquiredAt: { S: '2025-03-01T12:00:00.000Z' },
        expiresAt: { N: String(Date.parse('2025-03-01T12:00:00.000Z') / 1000 + 7200) },
        // What the recovery handler needs if this execution is stopped from outside.
        config: { S: JSON.stringify(FLEET) },
        input: { S: '{"version":"1.4.2"}' },
      },
      ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :now OR #owner = :me',
      ExpressionAttributeNames: { '#owner': 'owner' },
      ExpressionAttributeValues: { ':now': { N: String(Date.parse('2025-03-01T12:00:00.000Z') / 1000) }, ':me': { S: EXECUTION_ID } },
      ReturnValues: 'ALL_OLD',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
    expect(out.takenOver).toBeUndefined();
    expect(out.stages).toEqual([{ stage: 'Validate input and take the lock', startedAt: '2025-03-01T12:00:00.000Z', endedAt: '2025-03-01T12:00:00.000Z' }]);
  });

  it('keeps the input and who started it on the lock, for the history of an execution stopped from outside', async () => {
    await start({ input: { version: '1.4.2', startedBy: 'alice@example.com' }, executionId: EXECUTION_ID }, deps());

    expect(aws.dynamoMock).toHaveReceivedCommandWith(PutItemCommand, {
      Item: expect.objectContaining({ input: { S: '{"version":"1.4.2","startedBy":"alice@example.com"}' }, startedBy: { S: 'alice@example.com' } }),
    });
  });

  it('lets a rollback take over a cutover that is only keeping its previous colour warm', async () => {
    await start({ input: { action: 'rollback' }, executionId: EXECUTION_ID }, deps());

    expect(aws.dynamoMock).toHaveReceivedCommandWith(PutItemCommand, {
      Item: expect.objectContaining({ phase: { S: 'RollingBack' } }),
      ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :now OR #owner = :me OR phase = :warm',
      ExpressionAttributeValues: expect.objectContaining({ ':warm': { S: 'KeepingWarm' } }),
    });
  });

  it('fails with CutoverInProgress naming the holder and its lease when another cutover holds the lock', async () => {
    aws.dynamoMock.on(PutItemCommand).rejects(new ConditionalCheckFailedException({
      message: 'The conditional request failed',
      $metadata: {},
      Item: { pk: { S: 'web' }, owner: { S: OTHER_EXECUTION_ID }, phase: { S: 'Cutover' }, expiresAt: { N: '1740833400' } },
    }));

    aws.sfnMock.on(DescribeExecutionCommand).resolves({ status: 'RUNNING' });

    await expect(start({ input: {}, executionId: EXECUTION_ID }, deps())).rejects.toMatchObject({
      name: 'CutoverInProgress',
      message: `Fleet 'web' is locked by execution ${OTHER_EXECUTION_ID} (phase Cutover); its lease expires at 2025-03-01T12:50:00.000Z. ` +
        'That execution is still running: wait for it to finish and start again, or stop it (in the console, Stop execution is a stop and roll back) ' +
        "and start again at once. Nothing was changed. (The lock is the item 'web' of the table web-cutover-lock.)",
    });
    expect(aws.sfnMock).toHaveReceivedCommandWith(DescribeExecutionCommand, { executionArn: OTHER_EXECUTION_ID });
    expect(aws.dynamoMock).toHaveReceivedCommandTimes(PutItemCommand, 1);
  });

  it.each(['ABORTED', 'TIMED_OUT', 'FAILED'])('takes over at once, with a second put conditional on that owner, a lock whose owner ended %s', async (status) => {
    const held = { pk: { S: 'web' }, owner: { S: OTHER_EXECUTION_ID }, phase: { S: 'Cutover' }, expiresAt: { N: '1740833400' }, restoreTo: { S: 'blue' } };
    aws.dynamoMock.on(PutItemCommand, { ConditionExpression: '#owner = :them' }).resolves({});
    aws.dynamoMock.on(PutItemCommand, { ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :now OR #owner = :me' })
      .rejects(new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {}, Item: held }));
    aws.sfnMock.on(DescribeExecutionCommand).resolves({ status: status as 'ABORTED' });

    const out = await start({ input: { version: '1.4.2' }, executionId: EXECUTION_ID }, deps());

    expect(aws.dynamoMock).toHaveReceivedCommandWith(PutItemCommand, {
      Item: expect.objectContaining({ owner: { S: EXECUTION_ID } }),
      ConditionExpression: '#owner = :them',
      ExpressionAttributeValues: { ':them': { S: OTHER_EXECUTION_ID } },
    });
    expect(out.takenOver).toEqual({ owner: OTHER_EXECUTION_ID, ownerStatus: status, phase: 'Cutover', expiresAt: 1740833400, restoreTo: 'blue' });
  });

  it('treats an owner Step Functions does not know as not running', async () => {
    aws.dynamoMock.on(PutItemCommand, { ConditionExpression: '#owner = :them' }).resolves({});
    aws.dynamoMock.on(PutItemCommand, { ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :now OR #owner = :me' })
      .rejects(new ConditionalCheckFailedException({ message: 'x', $metadata: {}, Item: { pk: { S: 'web' }, owner: { S: OTHER_EXECUTION_ID }, phase: { S: 'Cutover' } } }));
    aws.sfnMock.on(DescribeExecutionCommand).rejects(Object.assign(new Error('Execution Does Not Exist'), { name: 'ExecutionDoesNotExist' }));

    const out = await start({ input: {}, executionId: EXECUTION_ID }, deps());

    expect(out.takenOver).toMatchObject({ owner: OTHER_EXECUTION_ID, ownerStatus: 'UNKNOWN' });
  });

  it('refuses while the recovery handler holds the lock, without asking Step Functions', async () => {
    aws.dynamoMock.on(PutItemCommand).rejects(new ConditionalCheckFailedException({
      message: 'x', $metadata: {}, Item: { pk: { S: 'web' }, owner: { S: `recovery:${OTHER_EXECUTION_ID}` }, phase: { S: 'Recovering' }, expiresAt: { N: '1740833400' } },
    }));

    await expect(start({ input: {}, executionId: EXECUTION_ID }, deps())).rejects.toMatchObject({
      name: 'CutoverInProgress', message: expect.stringContaining('The recovery handler is putting the fleet back after that execution stopped: start again in a minute.'),
    });
    expect(aws.sfnMock.calls()).toHaveLength(0);
  });

  it('reports the expired lock it replaced, so the fleet is recovered first', async () => {
    aws.dynamoMock.on(PutItemCommand).resolves({ Attributes: { pk: { S: 'web' }, owner: { S: OTHER_EXECUTION_ID }, phase: { S: 'Cutover' }, expiresAt: { N: '1' }, restoreTo: { S: 'green' } } });

    const out = await start({ input: {}, executionId: EXECUTION_ID }, deps());

    expect(out.takenOver).toEqual({ owner: OTHER_EXECUTION_ID, ownerStatus: 'LEASE_EXPIRED', phase: 'Cutover', expiresAt: 1, restoreTo: 'green' });
    expect(aws.sfnMock.calls()).toHaveLength(0);
  });

  it('does not recover when a rollback takes over a cutover keeping its previous colour warm (the designed path)', async () => {
    aws.dynamoMock.on(PutItemCommand).resolves({ Attributes: { pk: { S: 'web' }, owner: { S: OTHER_EXECUTION_ID }, phase: { S: 'KeepingWarm' }, expiresAt: { N: '1740833400' } } });

    const out = await start({ input: { action: 'rollback' }, executionId: EXECUTION_ID }, deps());

    expect(out.takenOver).toBeUndefined();
  });

  it('points a deploy that meets a warm previous colour at the rollback action', async () => {
    aws.dynamoMock.on(PutItemCommand).rejects(new ConditionalCheckFailedException({
      message: 'The conditional request failed',
      $metadata: {},
      Item: { pk: { S: 'web' }, owner: { S: OTHER_EXECUTION_ID }, phase: { S: 'KeepingWarm' }, expiresAt: { N: '1740833400' } },
    }));

    aws.sfnMock.on(DescribeExecutionCommand).resolves({ status: 'RUNNING' });

    const error = await start({ input: {}, executionId: EXECUTION_ID }, deps()).catch((e: Error) => e);
    expect(error).toMatchObject({ name: 'CutoverInProgress' });
    expect((error as Error).message).toContain('(phase KeepingWarm)');
    expect((error as Error).message).toContain('start {"action": "rollback"} to go back to the previous colour now');
  });

  it('still fails with CutoverInProgress when the holder is not returned', async () => {
    aws.dynamoMock.on(PutItemCommand).rejects(new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }));

    await expect(start({ input: {}, executionId: EXECUTION_ID }, deps())).rejects.toMatchObject({
      name: 'CutoverInProgress',
      message: expect.stringContaining("Fleet 'web' is locked by execution another execution; its lease expires at an unknown time."),
    });
  });

  it('surfaces a throttling error once the SDK retries are spent', async () => {
    aws.dynamoMock.on(PutItemCommand).rejects(throttling('ProvisionedThroughputExceededException'));

    await expect(start({ input: {}, executionId: EXECUTION_ID }, deps())).rejects.toMatchObject({ name: 'ProvisionedThroughputExceededException' });
  });
});

describe('start: the Lambda entry point', () => {
  it('reads the fleet from the payload, puts it into the state and uses the module clients', async () => {
    const { handler } = await import('../../lambda/start/index');

    const out = await handler({ input: {}, executionId: EXECUTION_ID, config: FLEET });

    expect(out.action).toBe('deploy');
    expect(out.config).toEqual(FLEET);
    expect(aws.dynamoMock).toHaveReceivedCommandWith(PutItemCommand, { TableName: 'web-cutover-lock' });
  });

  it('fails clearly when the payload has no fleet configuration', async () => {
    const { handler } = await import('../../lambda/start/index');

    await expect(handler({ input: {}, executionId: EXECUTION_ID })).rejects.toMatchObject({
      name: 'FleetConfigError',
      message: expect.stringContaining('The event has no fleet configuration at config'),
    });
    expect(aws.dynamoMock.calls()).toHaveLength(0);
  });

  it('rejects an input that brings a configuration of its own, and changes nothing', async () => {
    const { handler } = await import('../../lambda/start/index');
    const forged = { ...FLEET, lockTableName: 'someone-elses-table', fleetId: 'other' };
    const event = { input: { config: forged }, executionId: EXECUTION_ID, config: FLEET };
    const before = JSON.stringify(event);

    await expect(handler(event)).rejects.toMatchObject({
      name: 'InvalidInput',
      message: "unknown field 'config': the input accepts only imageId, version, action and startedBy.",
    });
    expect(aws.dynamoMock.calls()).toHaveLength(0);
    expect(JSON.stringify(event)).toBe(before);
  });
});
