import { DescribeAutoScalingGroupsCommand, UpdateAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import { ConditionalCheckFailedException, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { ModifyRuleCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { Colour } from '../../lib/private/contract';
import { retirePrevious } from '../../lambda/retire-previous/retire-previous';
import { clock, deployState, EXECUTION_ID, FakeAws, FLEET, OTHER_EXECUTION_ID, target } from './fake-aws';

const aws = new FakeAws();
const time = clock();
const deps = () => ({ dynamoDb: aws.dynamoDb, elbv2: aws.elbv2, autoScaling: aws.autoScaling, config: FLEET, now: time.now });
const afterBake = () => deployState({ trafficMoved: true, targetWeight: 100, warmUntil: '2025-03-01T12:15:00.000Z' });

beforeEach(() => {
  aws.reset();
  // green took over; blue was kept warm.
  aws.setWeights(FLEET.productionRuleArn, 0, 100);
  aws.setGroup(Colour.GREEN, { min: 2, max: 4, desired: 2 }, ['i-0g1', 'i-0g2']);
  aws.dynamoMock.on(UpdateItemCommand).resolves({});
});

describe('retire-previous', () => {
  it('moves the lock to Retiring and scales the previous colour to zero', async () => {
    const out = await retirePrevious(afterBake(), deps());

    expect(aws.dynamoMock).toHaveReceivedCommandWith(UpdateItemCommand, {
      TableName: 'web-cutover-lock',
      Key: { pk: { S: 'web' } },
      UpdateExpression: 'SET phase = :retiring, #restoreTo = :new',
      ConditionExpression: '#owner = :me AND phase = :warm',
      ExpressionAttributeNames: { '#owner': 'owner', '#restoreTo': 'restoreTo' },
      // From here on a stop of this execution leaves all traffic on the new colour.
      ExpressionAttributeValues: { ':me': { S: EXECUTION_ID }, ':warm': { S: 'KeepingWarm' }, ':retiring': { S: 'Retiring' }, ':new': { S: 'green' } },
    });
    expect(aws.asgMock).toHaveReceivedCommandWith(UpdateAutoScalingGroupCommand, { AutoScalingGroupName: 'web-blue', MinSize: 0, MaxSize: 4, DesiredCapacity: 0 });
    expect(aws.group(Colour.BLUE)).toMatchObject({ min: 0, desired: 0 });
    expect(out.scaledToZero).toEqual([Colour.BLUE]);
    expect(out.stages?.map((s) => s.stage)).toEqual(['Scale the previous colour to zero']);
  });

  it('marks its own previous-colour record retired before it scales the colour down', async () => {
    await retirePrevious(afterBake(), deps());

    expect(aws.dynamoMock).toHaveReceivedNthCommandWith(3, UpdateItemCommand, {
      TableName: 'web-cutover-lock',
      Key: { pk: { S: 'web#previous' } },
      UpdateExpression: 'SET retired = :true, retiredAt = :at',
      ConditionExpression: 'executionId = :me AND retired = :false',
      ExpressionAttributeValues: { ':me': { S: EXECUTION_ID }, ':true': { BOOL: true }, ':false': { BOOL: false }, ':at': { S: '2025-03-01T12:00:00.000Z' } },
    });
  });

  it('retires the record before the scale-down call', async () => {
    const order: string[] = [];
    aws.dynamoMock.on(UpdateItemCommand).callsFake((input: { Key: { pk: { S: string } } }) => { order.push(`UpdateItem ${input.Key.pk.S}`); return {}; });
    aws.asgMock.on(UpdateAutoScalingGroupCommand).callsFake(() => { order.push('UpdateAutoScalingGroup'); return {}; });

    await retirePrevious(afterBake(), deps());

    expect(order).toEqual(['UpdateItem web', 'UpdateItem web#previous', 'UpdateAutoScalingGroup']);
  });

  it('scales down anyway when the record is missing, already retired or another execution\'s', async () => {
    aws.dynamoMock.on(UpdateItemCommand, { Key: { pk: { S: 'web#previous' } } })
      .rejects(new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }));

    const out = await retirePrevious(afterBake(), deps());

    expect(aws.group(Colour.BLUE)).toMatchObject({ min: 0, desired: 0 });
    expect(out.scaledToZero).toEqual([Colour.BLUE]);
  });

  it('does not touch the record when a rollback took the lock over', async () => {
    aws.dynamoMock.on(UpdateItemCommand).rejects(new ConditionalCheckFailedException({
      message: 'The conditional request failed',
      $metadata: {},
      Item: { pk: { S: 'web' }, owner: { S: OTHER_EXECUTION_ID }, phase: { S: 'RollingBack' } },
    }));

    await expect(retirePrevious(afterBake(), deps())).rejects.toMatchObject({ name: 'Superseded' });

    expect(aws.dynamoMock).toHaveReceivedCommandTimes(UpdateItemCommand, 1);
  });

  it('changes nothing when run a second time', async () => {
    await retirePrevious(afterBake(), deps());
    aws.resetHistory();
    // The first run left the lock Retiring.
    aws.dynamoMock.on(UpdateItemCommand).rejects(new ConditionalCheckFailedException({
      message: 'The conditional request failed',
      $metadata: {},
      Item: { pk: { S: 'web' }, owner: { S: EXECUTION_ID }, phase: { S: 'Retiring' } },
    }));

    const out = await retirePrevious(afterBake(), deps());

    aws.expectNoMutations();
    expect(out.scaledToZero).toEqual([Colour.BLUE]);
  });

  it('finishes the scale-down when a retry finds the lock already Retiring', async () => {
    aws.dynamoMock.on(UpdateItemCommand).rejects(new ConditionalCheckFailedException({
      message: 'The conditional request failed',
      $metadata: {},
      Item: { pk: { S: 'web' }, owner: { S: EXECUTION_ID }, phase: { S: 'Retiring' } },
    }));

    const out = await retirePrevious(afterBake(), deps());

    expect(aws.group(Colour.BLUE)).toMatchObject({ min: 0, desired: 0 });
  });

  it('throws Superseded when the lock is gone, and scales nothing', async () => {
    aws.dynamoMock.on(UpdateItemCommand).rejects(new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }));

    await expect(retirePrevious(afterBake(), deps())).rejects.toMatchObject({
      name: 'Superseded', message: expect.stringContaining('is no longer held by this execution'),
    });
    expect(aws.asgMock).toHaveReceivedCommandTimes(UpdateAutoScalingGroupCommand, 0);
  });

  it('changes nothing and throws Superseded when a rollback took the lock over', async () => {
    aws.dynamoMock.on(UpdateItemCommand).rejects(new ConditionalCheckFailedException({
      message: 'The conditional request failed',
      $metadata: {},
      Item: { pk: { S: 'web' }, owner: { S: OTHER_EXECUTION_ID }, phase: { S: 'RollingBack' } },
    }));

    await expect(retirePrevious(afterBake(), deps())).rejects.toMatchObject({
      name: 'Superseded', message: expect.stringContaining(`execution ${OTHER_EXECUTION_ID} holds the lock of fleet 'web' now (phase RollingBack)`),
    });
    expect(aws.asgMock).toHaveReceivedCommandTimes(UpdateAutoScalingGroupCommand, 0);
    expect(aws.elbv2Mock).toHaveReceivedCommandTimes(ModifyRuleCommand, 0);
    expect(aws.group(Colour.BLUE).desired).toBe(2);
  });

  it('refuses to scale the previous colour while it still takes traffic', async () => {
    aws.setWeights(FLEET.productionRuleArn, 100, 0);

    await expect(retirePrevious(afterBake(), deps())).rejects.toMatchObject({ name: 'FleetStateConflict', message: expect.stringContaining('Refusing to scale blue to zero') });
    aws.expectNoMutations();
  });

  it('looks at the new colour\'s health before it scales anything', async () => {
    await retirePrevious(afterBake(), deps());

    expect(aws.asgMock).toHaveReceivedCommandWith(DescribeAutoScalingGroupsCommand, { AutoScalingGroupNames: ['web-green'] });
    expect(aws.group(Colour.BLUE)).toMatchObject({ min: 0, desired: 0 });
  });

  it('retires nothing and throws NewColourUnhealthy when the new colour stopped serving and the previous one is healthy', async () => {
    aws.setTargets(Colour.GREEN, [target('i-0g1', 'unused', 'Target.InvalidState'), target('i-0g2', 'healthy')]);

    const error = await retirePrevious(afterBake(), deps()).catch((e: Error) => e);

    expect(error).toMatchObject({ name: 'NewColourUnhealthy' });
    expect((error as Error).message).toBe(
      'The new colour green is no longer healthy after the warm period: 1 of 2 instances healthy in the green target group (i-0g1: unused Target.InvalidState); ' +
      '2 InService in the Auto Scaling group. The previous colour blue was not scaled down and is healthy: rolling back to it.',
    );
    expect(aws.asgMock).toHaveReceivedCommandTimes(UpdateAutoScalingGroupCommand, 0);
    expect(aws.group(Colour.BLUE)).toMatchObject({ min: 2, desired: 2 });
  });

  it('moves nothing and throws FleetStateConflict when neither colour is healthy', async () => {
    aws.setTargets(Colour.GREEN, [target('i-0g1', 'unused', 'Target.InvalidState'), target('i-0g2', 'unused', 'Target.InvalidState')]);
    aws.setTargets(Colour.BLUE, [target('i-0b1', 'unhealthy', 'Target.FailedHealthChecks'), target('i-0b2', 'healthy')]);

    const error = await retirePrevious(afterBake(), deps()).catch((e: Error) => e);

    expect(error).toMatchObject({ name: 'FleetStateConflict' });
    expect((error as Error).message).toMatch(/^The new colour green is no longer healthy after the warm period: 0 of 2 .*The previous colour blue is not healthy either \(1 of 2 instances healthy in the blue target group \(i-0b1: unhealthy Target\.FailedHealthChecks\)/);
    expect((error as Error).message).toContain('production traffic still goes to green');
    expect(aws.asgMock).toHaveReceivedCommandTimes(UpdateAutoScalingGroupCommand, 0);
    expect(aws.weights(FLEET.productionRuleArn)).toEqual({ blue: 0, green: 100 });
  });

  it('does not roll back to a previous colour a retried task already scaled down', async () => {
    aws.dynamoMock.on(UpdateItemCommand).rejects(new ConditionalCheckFailedException({
      message: 'The conditional request failed',
      $metadata: {},
      Item: { pk: { S: 'web' }, owner: { S: EXECUTION_ID }, phase: { S: 'Retiring' } },
    }));
    aws.setGroup(Colour.BLUE, { min: 0, max: 4, desired: 0 }, []);
    aws.setTargets(Colour.GREEN, [target('i-0g1', 'unused', 'Target.InvalidState'), target('i-0g2', 'healthy')]);

    await expect(retirePrevious(afterBake(), deps())).rejects.toMatchObject({ name: 'FleetStateConflict' });
  });
});
