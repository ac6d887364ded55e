/**
 * Only the execution that holds the fleet's lock changes the fleet: every handler that changes
 * something checks the lock first (a strongly consistent GetItem, or a conditional write), and one
 * that finds another execution holding it throws Superseded having changed nothing.
 */
import { DescribeAutoScalingGroupsCommand, UpdateAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import { DeleteItemCommand, GetItemCommand, PutItemCommand, TransactWriteItemsCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { ModifyRuleCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { ChangeResourceRecordSetsCommand } from '@aws-sdk/client-route-53';
import { Colour, CutoverState } from '../../lib/private/contract';
import { checkHealth } from '../../lambda/check-health/check-health';
import { findLive } from '../../lambda/find-live/find-live';
import { prepare } from '../../lambda/prepare/prepare';
import { retirePrevious } from '../../lambda/retire-previous/retire-previous';
import { rollBack } from '../../lambda/roll-back/roll-back';
import { scaleToZero } from '../../lambda/scale-to-zero/scale-to-zero';
import { shift } from '../../lambda/shift/shift';
import { clock, deployState, EXECUTION_ID, FakeAws, FLEET, OTHER_EXECUTION_ID, target } from './fake-aws';

const aws = new FakeAws();
const time = clock();
const deps = () => ({
  elbv2: aws.elbv2, autoScaling: aws.autoScaling, ssm: aws.ssm, ec2: aws.ec2, dynamoDb: aws.dynamoDb, route53: aws.route53,
  config: FLEET, now: time.now, sleep: async () => undefined,
});

/** Another execution took the fleet over: a rollback, by default. */
const HOLDER = { pk: { S: 'web' }, owner: { S: OTHER_EXECUTION_ID }, phase: { S: 'RollingBack' }, restoreTo: { S: 'blue' } };
const takenOver = () => aws.items.set('web', structuredClone(HOLDER));

/** Everything the fake models: rules, groups, parameters, launch templates, records, table items. */
function model() {
  return structuredClone({
    rules: [...aws.rules], groups: [...aws.groups], params: [...aws.params], launchTemplates: [...aws.launchTemplates],
    records: [...aws.records], items: [...aws.items],
  });
}

/** No call changed anything: no mutating call at all, and the model is as it was. */
function expectNothingChanged(before: ReturnType<typeof model>): void {
  aws.expectNoMutations();
  expect(aws.route53Mock).toHaveReceivedCommandTimes(ChangeResourceRecordSetsCommand, 0);
  expect(aws.dynamoMock).toHaveReceivedCommandTimes(PutItemCommand, 0);
  expect(aws.dynamoMock).toHaveReceivedCommandTimes(DeleteItemCommand, 0);
  expect(aws.dynamoMock).toHaveReceivedCommandTimes(TransactWriteItemsCommand, 0);
  expect(model()).toEqual(before);
}

const supersededBy = (notDone: string) => ({
  name: 'Superseded',
  message: expect.stringContaining(`execution ${OTHER_EXECUTION_ID} holds the lock of fleet 'web' now (phase RollingBack), so this execution did not ${notDone}`),
});

/** The strongly consistent read of the lock. */
const lockRead = () => aws.dynamoMock.commandCalls(GetItemCommand, { Key: { pk: { S: 'web' } }, ConsistentRead: true });

/** Every call made through any client, in order: the command and its input. */
function allCalls(): Array<{ command: unknown; input: unknown }> {
  type Call = { calledBefore(other: Call): boolean; args: [{ input: unknown }] };
  const mocks = [aws.elbv2Mock, aws.asgMock, aws.ssmMock, aws.dynamoMock, aws.cloudWatchMock, aws.ec2Mock, aws.route53Mock];
  const calls = mocks.flatMap((m) => m.calls() as unknown as Call[]);
  return calls.sort((a, b) => (a.calledBefore(b) ? -1 : 1)).map((c) => ({ command: c.args[0], input: c.args[0].input }));
}

beforeEach(() => aws.reset());

describe('prepare', () => {
  const state = () => deployState({ release: { imageId: 'ami-0aaaabbbbccccdddd' } });

  it('reads the lock, strongly consistent, before any other call', async () => {
    await prepare(state(), deps());

    const [first] = allCalls();
    expect(first.command).toBeInstanceOf(GetItemCommand);
    expect(first.input).toEqual({ TableName: 'web-cutover-lock', Key: { pk: { S: 'web' } }, ConsistentRead: true });
    expect(aws.release(Colour.GREEN).imageId).toBe('ami-0aaaabbbbccccdddd');
  });

  it('throws Superseded and makes no other call when another execution holds the lock', async () => {
    takenOver();
    const before = model();

    await expect(prepare(state(), deps())).rejects.toMatchObject(supersededBy('prepare green'));

    expectNothingChanged(before);
    expect(allCalls()).toHaveLength(1);
  });

  it('throws Superseded when the lock is gone', async () => {
    aws.items.delete('web');
    const before = model();

    await expect(prepare(state(), deps())).rejects.toMatchObject({ name: 'Superseded', message: expect.stringContaining('is no longer held by this execution') });

    expectNothingChanged(before);
  });
});

describe('check-health', () => {
  beforeEach(() => {
    aws.setGroup(Colour.GREEN, { min: 2, max: 4, desired: 2 }, ['i-0g1', 'i-0g2']);
    // Blue scaled out since "Prepare": the target is resized to match.
    aws.setGroup(Colour.BLUE, { min: 2, max: 4, desired: 3 }, ['i-0b1', 'i-0b2', 'i-0b3']);
  });

  it('reads the lock before it resizes the target', async () => {
    await checkHealth(deployState(), deps());

    const [resize] = aws.asgMock.commandCalls(UpdateAutoScalingGroupCommand);
    expect(lockRead()).toHaveLength(1);
    expect(lockRead()[0].calledBefore(resize)).toBe(true);
  });

  it('throws Superseded and does not resize the target when another execution holds the lock', async () => {
    takenOver();
    const before = model();

    await expect(checkHealth(deployState(), deps())).rejects.toMatchObject(supersededBy('resize green'));

    expectNothingChanged(before);
    expect(aws.group(Colour.GREEN)).toMatchObject({ min: 2, desired: 2 });
  });

  it('throws Superseded and does not hold the target at zero when another execution holds the lock', async () => {
    aws.setGroup(Colour.BLUE, { min: 2, max: 4, desired: 2 }, ['i-0b1', 'i-0b2']);
    // Green runs an instance of an older launch template version: it would be held at zero.
    aws.group(Colour.GREEN).instances.forEach((i) => { i.LaunchTemplate!.Version = '1'; });
    takenOver();
    const before = model();
    const state = deployState({ targetLaunch: { releasedAt: '2025-03-01T11:59:58.300Z', launchedAfter: '2025-03-01T11:59:59.000Z', launchTemplateVersion: '2' } });

    await expect(checkHealth(state, deps())).rejects.toMatchObject(supersededBy('resize green'));

    expectNothingChanged(before);
  });
});

describe('shift', () => {
  describe('for a deploy', () => {
    it('reads the lock before it moves traffic', async () => {
      await shift({ state: deployState(), weight: 10 }, deps());

      expect(lockRead()).toHaveLength(1);
      expect(lockRead()[0].calledBefore(aws.elbv2Mock.commandCalls(ModifyRuleCommand)[0])).toBe(true);
      // A deploy's shift does not change where a stop goes back to.
      expect(aws.dynamoMock).toHaveReceivedCommandTimes(UpdateItemCommand, 0);
    });

    it('throws Superseded and moves no traffic when another execution holds the lock', async () => {
      takenOver();
      const before = model();

      await expect(shift({ state: deployState(), weight: 10 }, deps())).rejects.toMatchObject(supersededBy('move 10% of traffic to green'));

      expectNothingChanged(before);
      expect(aws.weights(FLEET.productionRuleArn)).toEqual({ blue: 100, green: 0 });
    });
  });

  describe('for a rollback execution', () => {
    // green is live; the rollback goes back to the warm previous colour, blue.
    const rollbackState = () => deployState({ action: 'rollback', live: Colour.GREEN, target: Colour.BLUE });
    beforeEach(() => {
      aws.setWeights(FLEET.productionRuleArn, 0, 100);
      aws.setGroup(Colour.GREEN, { min: 2, max: 4, desired: 2 }, ['i-0g1', 'i-0g2']);
      aws.items.set('web', { pk: { S: 'web' }, owner: { S: EXECUTION_ID }, phase: { S: 'RollingBack' }, restoreTo: { S: 'green' } });
    });

    it('records blue as the colour a stop goes back to, with one conditional write before the move', async () => {
      await shift({ state: rollbackState(), weight: 100 }, deps());

      expect(aws.dynamoMock).toHaveReceivedCommandTimes(UpdateItemCommand, 1);
      expect(aws.dynamoMock).toHaveReceivedCommandWith(UpdateItemCommand, {
        TableName: 'web-cutover-lock', Key: { pk: { S: 'web' } }, ConditionExpression: '#owner = :me',
        ExpressionAttributeValues: expect.objectContaining({ ':me': { S: EXECUTION_ID } }),
      });
      const [write] = aws.dynamoMock.commandCalls(UpdateItemCommand);
      expect(write.calledBefore(aws.elbv2Mock.commandCalls(ModifyRuleCommand)[0])).toBe(true);
      expect(aws.items.get('web')).toEqual({ pk: { S: 'web' }, owner: { S: EXECUTION_ID }, phase: { S: 'RollingBack' }, restoreTo: { S: 'blue' } });
      expect(aws.weights(FLEET.productionRuleArn)).toEqual({ blue: 100, green: 0 });
    });

    it('throws Superseded, writes nothing and moves no traffic when another execution holds the lock', async () => {
      takenOver();
      const before = model();

      await expect(shift({ state: rollbackState(), weight: 100 }, deps())).rejects.toMatchObject(supersededBy('move traffic to blue'));

      expectNothingChanged(before);
      expect(aws.weights(FLEET.productionRuleArn)).toEqual({ blue: 0, green: 100 });
    });
  });
});

describe('roll-back', () => {
  describe('for a deploy', () => {
    beforeEach(() => aws.setWeights(FLEET.productionRuleArn, 90, 10));

    it('reads the lock before it moves traffic back', async () => {
      await rollBack(deployState({ trafficMoved: true, targetWeight: 10 }), deps());

      expect(lockRead()).toHaveLength(1);
      expect(lockRead()[0].calledBefore(aws.elbv2Mock.commandCalls(ModifyRuleCommand)[0])).toBe(true);
      expect(aws.dynamoMock).toHaveReceivedCommandTimes(UpdateItemCommand, 0);
    });

    it('throws Superseded and leaves traffic to the holder when another execution holds the lock', async () => {
      takenOver();
      const before = model();

      await expect(rollBack(deployState({ trafficMoved: true, targetWeight: 10 }), deps())).rejects.toMatchObject(supersededBy('move traffic back to blue'));

      expectNothingChanged(before);
      expect(aws.weights(FLEET.productionRuleArn)).toEqual({ blue: 90, green: 10 });
    });
  });

  describe('for a rollback execution whose move failed', () => {
    // green was live; the rollback moved traffic to blue and failed after it: back to green.
    const state = () => deployState({ action: 'rollback', live: Colour.GREEN, target: Colour.BLUE, trafficMoved: true, targetWeight: 100 });
    beforeEach(() => {
      aws.setWeights(FLEET.productionRuleArn, 100, 0);
      aws.setGroup(Colour.GREEN, { min: 2, max: 4, desired: 2 }, ['i-0g1', 'i-0g2']);
      aws.items.set('web', { pk: { S: 'web' }, owner: { S: EXECUTION_ID }, phase: { S: 'RollingBack' }, restoreTo: { S: 'blue' } });
    });

    it('records green, where it started, as the colour a stop goes back to, before it moves traffic back', async () => {
      await rollBack(state(), deps());

      expect(aws.dynamoMock).toHaveReceivedCommandTimes(UpdateItemCommand, 1);
      const [write] = aws.dynamoMock.commandCalls(UpdateItemCommand);
      expect(write.args[0].input).toMatchObject({ ConditionExpression: '#owner = :me', ExpressionAttributeValues: { ':me': { S: EXECUTION_ID } } });
      expect(write.calledBefore(aws.elbv2Mock.commandCalls(ModifyRuleCommand)[0])).toBe(true);
      expect(aws.items.get('web')).toMatchObject({ owner: { S: EXECUTION_ID }, restoreTo: { S: 'green' } });
      expect(aws.weights(FLEET.productionRuleArn)).toEqual({ blue: 0, green: 100 });
    });

    it('throws Superseded, writes nothing and moves no traffic when another execution holds the lock', async () => {
      takenOver();
      const before = model();

      await expect(rollBack(state(), deps())).rejects.toMatchObject(supersededBy('move traffic back to green'));

      expectNothingChanged(before);
    });
  });
});

describe('scale-to-zero', () => {
  beforeEach(() => aws.setGroup(Colour.GREEN, { min: 2, max: 4, desired: 2 }, ['i-0g1', 'i-0g2']));

  it('reads the lock before it scales anything', async () => {
    await scaleToZero({ state: deployState(), colour: 'target' }, deps());

    expect(lockRead()).toHaveLength(1);
    expect(lockRead()[0].calledBefore(aws.asgMock.commandCalls(UpdateAutoScalingGroupCommand)[0])).toBe(true);
  });

  it('throws Superseded and scales nothing when another execution holds the lock', async () => {
    takenOver();
    const before = model();

    await expect(scaleToZero({ state: deployState(), colour: 'target' }, deps())).rejects.toMatchObject(supersededBy('scale green to zero'));

    expectNothingChanged(before);
    expect(aws.group(Colour.GREEN)).toMatchObject({ min: 2, desired: 2 });
  });
});

describe('retire-previous', () => {
  const afterBake = () => deployState({ trafficMoved: true, targetWeight: 100, warmUntil: '2025-03-01T12:15:00.000Z' });
  beforeEach(() => {
    // green took over; blue is kept warm.
    aws.setWeights(FLEET.productionRuleArn, 0, 100);
    aws.setGroup(Colour.GREEN, { min: 2, max: 4, desired: 2 }, ['i-0g1', 'i-0g2']);
    aws.items.set('web', { pk: { S: 'web' }, owner: { S: EXECUTION_ID }, phase: { S: 'KeepingWarm' } });
    aws.setPreviousRecord();
  });

  it('reads the lock before it looks at the new colour\'s health', async () => {
    aws.dynamoMock.on(UpdateItemCommand).resolves({});

    await retirePrevious(afterBake(), deps());

    const [firstDescribe] = aws.asgMock.commandCalls(DescribeAutoScalingGroupsCommand);
    expect(lockRead()).toHaveLength(1);
    expect(lockRead()[0].calledBefore(firstDescribe)).toBe(true);
  });

  it('throws Superseded and changes nothing when a rollback took the lock over during the warm period', async () => {
    takenOver();
    const before = model();

    await expect(retirePrevious(afterBake(), deps())).rejects.toMatchObject(supersededBy('scale blue to zero'));

    expectNothingChanged(before);
    expect(aws.dynamoMock).toHaveReceivedCommandTimes(UpdateItemCommand, 0);
    expect(aws.items.get('web#previous')).toMatchObject({ retired: { BOOL: false } });
  });

  it('throws Superseded, not NewColourUnhealthy, when the new colour stopped serving after a rollback took the lock over', async () => {
    // NewColourUnhealthy would send this execution to "Move traffic back", against the holder.
    aws.setTargets(Colour.GREEN, [target('i-0g1', 'unused', 'Target.InvalidState'), target('i-0g2', 'healthy')]);
    takenOver();
    const before = model();

    await expect(retirePrevious(afterBake(), deps())).rejects.toMatchObject(supersededBy('scale blue to zero'));

    expectNothingChanged(before);
    expect(aws.asgMock).toHaveReceivedCommandTimes(DescribeAutoScalingGroupsCommand, 0);
  });
});

describe('find-live', () => {
  const started = (action: 'deploy' | 'rollback' = 'deploy'): CutoverState => ({ input: {}, executionId: EXECUTION_ID, action, release: {}, stages: [] });

  it('records the live colour on the lock as the colour a stop goes back to, with one conditional write', async () => {
    const lock = structuredClone(aws.items.get('web'));

    const out = await findLive(started(), deps());

    expect(out.live).toBe(Colour.BLUE);
    expect(aws.dynamoMock).toHaveReceivedCommandTimes(UpdateItemCommand, 1);
    expect(aws.dynamoMock).toHaveReceivedCommandWith(UpdateItemCommand, {
      TableName: 'web-cutover-lock', Key: { pk: { S: 'web' } }, ConditionExpression: '#owner = :me', ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      ExpressionAttributeValues: expect.objectContaining({ ':me': { S: EXECUTION_ID } }),
    });
    expect(aws.items.get('web')).toEqual({ ...lock, restoreTo: { S: 'blue' } });
  });

  it('records green when green is live', async () => {
    aws.setWeights(FLEET.productionRuleArn, 0, 100);
    aws.setGroup(Colour.GREEN, { min: 2, max: 4, desired: 2 }, ['i-0g1', 'i-0g2']);

    await findLive(started(), deps());

    expect(aws.items.get('web')).toMatchObject({ restoreTo: { S: 'green' } });
  });

  it('records the live colour, not the previous one, for a rollback execution', async () => {
    aws.setWeights(FLEET.productionRuleArn, 0, 100);
    aws.setGroup(Colour.GREEN, { min: 2, max: 4, desired: 2 }, ['i-0g1', 'i-0g2']);
    aws.setPreviousRecord();

    const out = await findLive(started('rollback'), deps());

    expect(out.target).toBe(Colour.BLUE);
    expect(aws.items.get('web')).toMatchObject({ restoreTo: { S: 'green' } });
  });

  it('throws Superseded and changes nothing when another execution holds the lock', async () => {
    takenOver();
    const before = model();

    await expect(findLive(started(), deps())).rejects.toMatchObject(supersededBy('record the live colour'));

    expectNothingChanged(before);
    expect(aws.items.get('web')).toEqual(HOLDER);
  });

  it('throws Superseded and writes nothing when the lock is gone', async () => {
    aws.items.delete('web');
    const before = model();

    await expect(findLive(started(), deps())).rejects.toMatchObject({ name: 'Superseded', message: expect.stringContaining('is no longer held by this execution') });

    expectNothingChanged(before);
    expect(aws.items.has('web')).toBe(false);
  });
});
