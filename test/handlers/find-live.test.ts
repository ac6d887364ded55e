import { DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { DescribeRulesCommand, DescribeTargetHealthCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { GetParametersCommand } from '@aws-sdk/client-ssm';
import { Colour, CutoverState } from '../../lib/private/contract';
import { findLive } from '../../lambda/find-live/find-live';
import { BLUE_RELEASE, clock, EXECUTION_ID, FakeAws, FLEET, GREEN_RELEASE, target, throttling } from './fake-aws';

const aws = new FakeAws();
const time = clock();
const deps = () => ({ elbv2: aws.elbv2, autoScaling: aws.autoScaling, ssm: aws.ssm, dynamoDb: aws.dynamoDb, config: FLEET, now: time.now });
const started = (action: 'deploy' | 'rollback' = 'deploy'): CutoverState => ({ input: {}, executionId: EXECUTION_ID, action, release: {}, stages: [] });

beforeEach(() => aws.reset());

describe('find-live for a deploy', () => {
  it('finds blue live from the production rule and green as the target', async () => {
    const out = await findLive(started(), deps());

    expect(out).toMatchObject({
      live: Colour.BLUE,
      target: Colour.GREEN,
      liveCapacity: { min: 2, max: 4, desired: 2 },
      liveRelease: BLUE_RELEASE,
      targetRelease: GREEN_RELEASE,
    });
    expect(out.stages?.map((s) => s.stage)).toEqual(['Find the live colour']);
    expect(aws.elbv2Mock).toHaveReceivedCommandWith(DescribeRulesCommand, { RuleArns: [FLEET.productionRuleArn] });
    aws.expectNoMutations();
  });

  it('reads both releases with one GetParameters call', async () => {
    await findLive(started(), deps());

    expect(aws.ssmMock).toHaveReceivedCommandTimes(GetParametersCommand, 1);
    expect(aws.ssmMock).toHaveReceivedCommandWith(GetParametersCommand, {
      Names: ['/blue-green/web/blue/image-id', '/blue-green/web/blue/version', '/blue-green/web/green/image-id', '/blue-green/web/green/version'],
    });
  });

  it('finds green live after a previous cutover', async () => {
    aws.setWeights(FLEET.productionRuleArn, 0, 100);
    aws.setGroup(Colour.GREEN, { min: 3, max: 6, desired: 3 }, ['i-0g1', 'i-0g2', 'i-0g3']);

    const out = await findLive(started(), deps());

    expect(out).toMatchObject({ live: Colour.GREEN, target: Colour.BLUE, liveCapacity: { min: 3, max: 6, desired: 3 }, liveRelease: GREEN_RELEASE });
  });

  it('reads a rule that forwards to one target group without weights as 100%', async () => {
    aws.rules.set(FLEET.productionRuleArn, [{ Type: 'forward', TargetGroupArn: FLEET.colours.green.targetGroupArn }]);

    const out = await findLive(started(), deps());

    expect(out.live).toBe(Colour.GREEN);
  });

  it('fails with FleetStateConflict when a previous cutover was interrupted mid-shift', async () => {
    aws.setWeights(FLEET.productionRuleArn, 90, 10);

    await expect(findLive(started(), deps())).rejects.toMatchObject({
      name: 'FleetStateConflict',
      message: 'The production rule splits traffic (blue 90%, green 10%): a previous cutover was interrupted mid-shift. ' +
        "Finish it by hand first: set the production rule's weights to 100 for the colour that should serve and 0 for the other, then start again. Nothing was changed.",
    });
    expect(aws.ssmMock).toHaveReceivedCommandTimes(GetParametersCommand, 0);
    aws.expectNoMutations();
  });

  it('fails with FleetStateConflict, naming the parameter, the value and the fix, when the live version parameter was set by hand to something that is not a version', async () => {
    aws.setRelease(Colour.BLUE, { ...BLUE_RELEASE, version: '1.0;curl x|sh' });

    const failure = findLive(started(), deps());

    await expect(failure).rejects.toMatchObject({ name: 'FleetStateConflict' });
    const message = (await failure.catch((e) => e)).message as string;
    expect(message).toContain('/blue-green/web/blue/version holds "1.0;curl x|sh", which is not a version');
    expect(message).toContain('aws ssm put-parameter --overwrite');
    expect(message).toContain('Nothing was changed.');
    aws.expectNoMutations();
  });

  it.each([
    ['the live image parameter', Colour.BLUE, { imageId: 'ami-123; reboot', version: '1.4.1' }, '/blue-green/web/blue/image-id'],
    ['the idle image parameter', Colour.GREEN, { imageId: '', version: '1.4.0' }, '/blue-green/web/green/image-id'],
    ['the idle version parameter', Colour.GREEN, { imageId: GREEN_RELEASE.imageId, version: '$(id)' }, '/blue-green/web/green/version'],
  ])('fails with FleetStateConflict for a malformed value in %s', async (_what, colour, release, parameter) => {
    aws.setRelease(colour, release);

    await expect(findLive(started(), deps())).rejects.toMatchObject({ name: 'FleetStateConflict', message: expect.stringContaining(`${parameter} holds`) });
    aws.expectNoMutations();
  });

  it('fails with FleetStateConflict when the rule forwards to a foreign target group', async () => {
    const foreign = 'arn:aws:elasticloadbalancing:eu-west-1:111122223333:targetgroup/hotfix/0123456789abcdef';
    aws.rules.set(FLEET.productionRuleArn, [{
      Type: 'forward',
      ForwardConfig: { TargetGroups: [{ TargetGroupArn: FLEET.colours.blue.targetGroupArn, Weight: 100 }, { TargetGroupArn: foreign, Weight: 5 }] },
    }]);

    await expect(findLive(started(), deps())).rejects.toMatchObject({
      name: 'FleetStateConflict',
      message: expect.stringContaining(`forwards traffic to ${foreign}, which is neither the blue nor the green target group`),
    });
  });

  it('fails with FleetStateConflict when a release parameter is missing', async () => {
    aws.params.delete('/blue-green/web/green/version');

    await expect(findLive(started(), deps())).rejects.toMatchObject({
      name: 'FleetStateConflict',
      message: 'SSM parameter /blue-green/web/green/version does not exist: redeploy the stack to create it. Nothing was changed.',
    });
  });

  it('surfaces a throttling error from the load balancer API', async () => {
    aws.elbv2Mock.on(DescribeRulesCommand).rejects(throttling());

    await expect(findLive(started(), deps())).rejects.toMatchObject({ name: 'Throttling', message: 'Rate exceeded' });
  });
});

describe('find-live for a rollback', () => {
  beforeEach(() => {
    // green went live; blue is kept warm, recorded as the colour the cutover left.
    aws.setWeights(FLEET.productionRuleArn, 0, 100);
    aws.setGroup(Colour.GREEN, { min: 2, max: 4, desired: 2 }, ['i-0g1', 'i-0g2']);
    aws.setPreviousRecord();
  });

  it('targets the warm previous colour', async () => {
    const out = await findLive(started('rollback'), deps());

    expect(out).toMatchObject({ live: Colour.GREEN, target: Colour.BLUE, targetRelease: BLUE_RELEASE, liveRelease: GREEN_RELEASE });
    expect(aws.dynamoMock).toHaveReceivedCommandWith(GetItemCommand, { TableName: 'web-cutover-lock', Key: { pk: { S: 'web#previous' } }, ConsistentRead: true });
    expect(aws.elbv2Mock).toHaveReceivedCommandWith(DescribeTargetHealthCommand, { TargetGroupArn: FLEET.colours.blue.targetGroupArn });
    aws.expectNoMutations();
  });

  it('does not read the record for a deploy', async () => {
    await findLive(started('deploy'), deps());

    expect(aws.dynamoMock).toHaveReceivedCommandTimes(GetItemCommand, 0);
  });

  it('fails with NothingToRollBack when no cutover recorded a previous colour, even if the idle colour is warm and healthy', async () => {
    // A smoke test failed on blue and scaling it back down failed: scaled up, healthy, never passed.
    aws.items.clear();

    await expect(findLive(started('rollback'), deps())).rejects.toMatchObject({
      name: 'NothingToRollBack',
      message: 'Nothing to roll back to: no cutover of this fleet has recorded a previous colour (a cutover records the colour it left only once the new colour ' +
        'passed its health checks, smoke tests and bake, and blue is not such a colour). To go back to an earlier release, deploy it as a normal cutover: ' +
        'start {"version": "..."} or {"imageId": "ami-..."} with that release. Nothing was changed.',
    });
    expect(aws.elbv2Mock).toHaveReceivedCommandTimes(DescribeTargetHealthCommand, 0);
    aws.expectNoMutations();
  });

  it('fails with NothingToRollBack when the recorded colour was retired, even if it was scaled up again', async () => {
    aws.setPreviousRecord({ retired: true });

    await expect(findLive(started('rollback'), deps())).rejects.toMatchObject({
      name: 'NothingToRollBack',
      message: 'Nothing to roll back to: the previous colour (blue, version 1.4.1, image ami-0123456789abcdef0) is scaled down to zero: it was retired at 2025-03-01T12:25:00.000Z. ' +
        'The way back is a normal cutover with the previous release: start {"imageId": "ami-0123456789abcdef0"} or {"version": "1.4.1"} (what blue last ran). Nothing was changed.',
    });
    aws.expectNoMutations();
  });

  it('fails with NothingToRollBack when the recorded colour is the live one', async () => {
    aws.setWeights(FLEET.productionRuleArn, 100, 0);

    await expect(findLive(started('rollback'), deps())).rejects.toMatchObject({
      name: 'NothingToRollBack',
      message: expect.stringContaining('the previous colour (blue, version 1.4.1, image ami-0123456789abcdef0) already serves all traffic'),
    });
    aws.expectNoMutations();
  });

  it('fails with NothingToRollBack when the recorded colour\'s parameters no longer hold the recorded release', async () => {
    aws.setRelease(Colour.BLUE, { ...BLUE_RELEASE, version: '1.4.1-hotfix' });

    await expect(findLive(started('rollback'), deps())).rejects.toMatchObject({
      name: 'NothingToRollBack',
      message: 'Nothing to roll back to: the previous colour (blue, version 1.4.1, image ami-0123456789abcdef0) no longer holds the release it was left with: ' +
        'its parameters now say version 1.4.1-hotfix, image ami-0123456789abcdef0 (they were changed after that cutover, so its instances may not run what passed the checks). ' +
        'The way back is a normal cutover with the previous release: start {"imageId": "ami-0123456789abcdef0"} or {"version": "1.4.1"}. Nothing was changed.',
    });
    expect(aws.elbv2Mock).toHaveReceivedCommandTimes(DescribeTargetHealthCommand, 0);
    aws.expectNoMutations();
  });

  it('fails with NothingToRollBack when the previous colour is scaled down', async () => {
    aws.setGroup(Colour.BLUE, { min: 0, max: 4, desired: 0 }, []);

    await expect(findLive(started('rollback'), deps())).rejects.toMatchObject({
      name: 'NothingToRollBack',
      message: 'Nothing to roll back to: the previous colour (blue) is scaled down to zero. The way back is a normal cutover with the previous release: ' +
        'start {"imageId": "ami-0123456789abcdef0"} or {"version": "1.4.1"} (what blue last ran). Nothing was changed.',
    });
    aws.expectNoMutations();
  });

  it('fails with NothingToRollBack when an instance of the previous colour is unhealthy in its target group', async () => {
    aws.setTargets(Colour.BLUE, [target('i-0b1', 'healthy'), target('i-0b2', 'unhealthy', 'Target.FailedHealthChecks')]);

    await expect(findLive(started('rollback'), deps())).rejects.toMatchObject({
      name: 'NothingToRollBack',
      message: expect.stringContaining('the previous colour (blue) is not healthy: 1 of 2 instances InService and healthy (i-0b2: unhealthy Target.FailedHealthChecks)'),
    });
  });

  it('does not count a terminated instance still registered healthy towards the previous colour', async () => {
    // i-0b9 left the group when it scaled in, but is still registered (and reported healthy).
    aws.group(Colour.BLUE).instances[1].LifecycleState = 'Pending';
    aws.setTargets(Colour.BLUE, [target('i-0b1', 'healthy'), target('i-0b2', 'initial', 'Elb.RegistrationInProgress'), target('i-0b9', 'healthy')]);

    await expect(findLive(started('rollback'), deps())).rejects.toMatchObject({
      name: 'NothingToRollBack',
      message: expect.stringContaining('1 of 2 instances InService and healthy (i-0b2: Pending)'),
    });
    expect(aws.asgMock).toHaveReceivedCommandWith(DescribeAutoScalingGroupsCommand, { AutoScalingGroupNames: ['web-blue'] });
  });
});
