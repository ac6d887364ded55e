import { UpdateAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import { ModifyLaunchTemplateCommand } from '@aws-sdk/client-ec2';
import { DescribeRulesCommand, ModifyRuleCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { GetParametersCommand, PutParameterCommand } from '@aws-sdk/client-ssm';
import { Colour } from '../../lib/private/contract';
import { prepare } from '../../lambda/prepare/prepare';
import { BLUE_RELEASE, clock, deployState, FakeAws, FLEET, GREEN_RELEASE, RELEASED_AT, throttling } from './fake-aws';

const aws = new FakeAws();
const time = clock();
const slept: number[] = [];
const deps = (config = FLEET) => ({
  elbv2: aws.elbv2, autoScaling: aws.autoScaling, ssm: aws.ssm, ec2: aws.ec2, dynamoDb: aws.dynamoDb, config, now: time.now,
  sleep: async (ms: number) => { slept.push(ms); },
});

beforeEach(() => {
  aws.reset();
  slept.length = 0;
});

describe('prepare', () => {
  it('retires an earlier cutover\'s record naming the colour it is about to change, before it writes anything', async () => {
    // Left unretired (a cutover that failed while retiring): green as it was recorded is gone once Prepare starts.
    aws.setPreviousRecord({ colour: Colour.GREEN, release: GREEN_RELEASE });

    await prepare(deployState({ release: { version: '1.5.0' } }), deps());

    expect(aws.items.get('web#previous')).toMatchObject({ colour: { S: 'green' }, retired: { BOOL: true } });
    const first = aws.ssmMock.commandCalls(PutParameterCommand)[0];
    const retire = aws.dynamoMock.commandCalls(UpdateItemCommand)[0];
    expect(retire.args[0].input.Key).toEqual({ pk: { S: 'web#previous' } });
    expect(retire.calledBefore(first)).toBe(true);
  });

  it('leaves a record naming the live colour as it is', async () => {
    aws.setPreviousRecord({ colour: Colour.BLUE });

    await prepare(deployState({ release: { version: '1.5.0' } }), deps());

    expect(aws.items.get('web#previous')).toMatchObject({ colour: { S: 'blue' }, retired: { BOOL: false } });
  });

  it('changes nothing when another execution holds the lock', async () => {
    aws.items.set('web', { pk: { S: 'web' }, owner: { S: 'arn:aws:states:eu-west-1:111122223333:execution:web-cutover:run-9' }, phase: { S: 'Cutover' } });
    aws.setPreviousRecord({ colour: Colour.GREEN, release: GREEN_RELEASE });

    await expect(prepare(deployState({ release: { version: '1.5.0' } }), deps())).rejects.toMatchObject({ name: 'Superseded' });
    aws.expectNoMutations();
    expect(aws.items.get('web#previous')).toMatchObject({ retired: { BOOL: false } });
  });

  it('writes the new image, points the test rule at green and sizes green like blue', async () => {
    const out = await prepare(deployState({ release: { imageId: 'ami-0aaaabbbbccccdddd' } }), deps());

    expect(out.targetRelease).toEqual({ imageId: 'ami-0aaaabbbbccccdddd', version: BLUE_RELEASE.version });
    expect(aws.release(Colour.GREEN)).toEqual({ imageId: 'ami-0aaaabbbbccccdddd', version: '1.4.1' });
    expect(aws.ssmMock).toHaveReceivedCommandWith(PutParameterCommand, {
      Name: '/blue-green/web/green/image-id', Value: 'ami-0aaaabbbbccccdddd', Type: 'String', DataType: 'aws:ec2:image', Overwrite: true,
    });
    expect(aws.ssmMock).toHaveReceivedCommandWith(PutParameterCommand, { Name: '/blue-green/web/green/version', Value: '1.4.1', Overwrite: true });
    expect(aws.asgMock).toHaveReceivedCommandWith(UpdateAutoScalingGroupCommand, {
      AutoScalingGroupName: 'web-green', MinSize: 2, MaxSize: 4, DesiredCapacity: 2,
    });
    // The test rule already sends everything to green.
    expect(aws.elbv2Mock).toHaveReceivedCommandTimes(ModifyRuleCommand, 0);
    expect(out.stages?.map((s) => s.stage)).toEqual(["Prepare the idle colour"]);
  });

  it('writes parameters before it scales the target up, so new instances launch the new release', async () => {
    await prepare(deployState({ release: { version: '1.5.0' } }), deps());

    const puts = aws.ssmMock.commandCalls(PutParameterCommand);
    const [update] = aws.asgMock.commandCalls(UpdateAutoScalingGroupCommand);
    expect(puts).toHaveLength(2);
    expect(puts.every((put) => put.calledBefore(update))).toBe(true);
  });

  it('keeps the live image when only a version is given', async () => {
    const out = await prepare(deployState({ release: { version: '1.5.0' } }), deps());

    expect(out.targetRelease).toEqual({ imageId: BLUE_RELEASE.imageId, version: '1.5.0' });
    expect(aws.release(Colour.GREEN)).toEqual({ imageId: BLUE_RELEASE.imageId, version: '1.5.0' });
  });

  it('points the test rule at the target with one ModifyRule call keeping both target groups', async () => {
    aws.setWeights(FLEET.testRuleArn, 0, 100);
    const out = await prepare(deployState({ live: Colour.GREEN, target: Colour.BLUE, liveRelease: GREEN_RELEASE, targetRelease: BLUE_RELEASE }), deps());

    expect(aws.elbv2Mock).toHaveReceivedCommandTimes(ModifyRuleCommand, 1);
    expect(aws.elbv2Mock).toHaveReceivedCommandWith(ModifyRuleCommand, {
      RuleArn: FLEET.testRuleArn,
      Actions: [{
        Type: 'forward',
        Order: 1,
        ForwardConfig: {
          TargetGroups: [
            { TargetGroupArn: FLEET.colours.blue.targetGroupArn, Weight: 100 },
            { TargetGroupArn: FLEET.colours.green.targetGroupArn, Weight: 0 },
          ],
          TargetGroupStickinessConfig: { Enabled: false },
        },
      }],
    });
    expect(out.targetRelease).toEqual(GREEN_RELEASE);
    // The production rule is not even read.
    expect(aws.elbv2Mock).not.toHaveReceivedCommandWith(DescribeRulesCommand, { RuleArns: [FLEET.productionRuleArn] });
  });

  it('changes nothing when run a second time', async () => {
    const state = deployState({ release: { imageId: 'ami-0aaaabbbbccccdddd', version: '1.5.0' } });
    const first = await prepare(state, deps());
    aws.resetHistory();

    const second = await prepare(state, deps());

    aws.expectNoMutations();
    expect(aws.elbv2Mock).toHaveReceivedCommandTimes(ModifyRuleCommand, 0);
    expect(second.targetRelease).toEqual(first.targetRelease);
  });

  it('writes only the parameter that differs', async () => {
    aws.setRelease(Colour.GREEN, { imageId: BLUE_RELEASE.imageId, version: '1.0.0' });

    await prepare(deployState(), deps());

    expect(aws.ssmMock).toHaveReceivedCommandTimes(PutParameterCommand, 1);
    expect(aws.ssmMock).toHaveReceivedCommandWith(PutParameterCommand, { Name: '/blue-green/web/green/version', Value: '1.4.1' });
  });

  it('leaves the previous colour\'s release alone for a rollback', async () => {
    const out = await prepare(deployState({ action: 'rollback' }), deps());

    expect(aws.ssmMock).toHaveReceivedCommandTimes(PutParameterCommand, 0);
    expect(out.targetRelease).toEqual(GREEN_RELEASE);
  });

  it('surfaces a throttling error from Auto Scaling', async () => {
    aws.asgMock.on(UpdateAutoScalingGroupCommand).rejects(throttling());

    await expect(prepare(deployState(), deps())).rejects.toMatchObject({ name: 'Throttling' });
  });

  // A deploy that changes user data or the instance type adds a launch template version; the
  // groups launch the template's default version, which CloudFormation never moves. Only a
  // cutover releases the new version, into the colour it prepares.
  it('releases the latest launch template version into the target only, making it the default', async () => {
    aws.launchTemplates.set(FLEET.colours.green.launchTemplateId, { latest: 3, default: 2 });
    aws.launchTemplates.set(FLEET.colours.blue.launchTemplateId, { latest: 3, default: 2 });

    await prepare(deployState(), deps());

    expect(aws.ec2Mock).toHaveReceivedCommandTimes(ModifyLaunchTemplateCommand, 1);
    expect(aws.ec2Mock).toHaveReceivedCommandWith(ModifyLaunchTemplateCommand, { LaunchTemplateId: FLEET.colours.green.launchTemplateId, DefaultVersion: '3' });
    expect(aws.group(Colour.GREEN).launchTemplateVersion).toBe('3');
    // The live colour keeps launching what it launched.
    expect(aws.launchTemplates.get(FLEET.colours.blue.launchTemplateId)).toEqual({ latest: 3, default: 2 });
    expect(aws.group(Colour.BLUE).launchTemplateVersion).toBe('1');
  });

  it('sets the launch template version even when the size is already right', async () => {
    aws.setGroup(Colour.GREEN, { min: 2, max: 4, desired: 2 }, ['i-0g1', 'i-0g2']);
    aws.launchTemplates.set(FLEET.colours.green.launchTemplateId, { latest: 2, default: 1 });

    await prepare(deployState(), deps());

    expect(aws.asgMock).toHaveReceivedCommandTimes(UpdateAutoScalingGroupCommand, 1);
    expect(aws.group(Colour.GREEN).launchTemplateVersion).toBe('2');
  });

  describe('a target that already runs instances (the listener flipped by hand, a failed scale-down)', () => {
    it('holds the target at zero instead of counting instances launched before the release', async () => {
      aws.setGroup(Colour.GREEN, { min: 2, max: 4, desired: 2 }, ['i-0old1', 'i-0old2']);

      const out = await prepare(deployState({ release: { version: '4.0.0' } }), deps());

      expect(aws.release(Colour.GREEN).version).toBe('4.0.0');
      expect(out.targetLaunch).toEqual({ releasedAt: '2025-03-01T12:00:00.000Z', launchedAfter: '2025-03-01T12:00:00.000Z', launchTemplateVersion: '1' });
      expect(out.targetHeldAtZero).toBe(true);
      expect(aws.group(Colour.GREEN)).toMatchObject({ min: 0, max: 4, desired: 0 });
      // Parameters first, then the group.
      const [update] = aws.asgMock.commandCalls(UpdateAutoScalingGroupCommand);
      expect(aws.ssmMock.commandCalls(PutParameterCommand).every((put) => put.calledBefore(update))).toBe(true);
    });

    it('holds the target at zero when its instances run an older launch template version, even with the release unchanged', async () => {
      aws.setRelease(Colour.GREEN, BLUE_RELEASE);
      aws.setGroup(Colour.GREEN, { min: 2, max: 4, desired: 2 }, ['i-0g1', 'i-0g2']);
      aws.launchTemplates.set(FLEET.colours.green.launchTemplateId, { latest: 2, default: 1 });

      const out = await prepare(deployState(), deps());

      expect(aws.ssmMock).toHaveReceivedCommandTimes(PutParameterCommand, 0);
      expect(out.targetLaunch).toEqual({ releasedAt: RELEASED_AT, launchedAfter: RELEASED_AT, launchTemplateVersion: '2' });
      expect(out.targetHeldAtZero).toBe(true);
      expect(aws.group(Colour.GREEN)).toMatchObject({ desired: 0, launchTemplateVersion: '2' });
    });

    it('keeps instances launched after the release on its launch template version (a retried task)', async () => {
      aws.setRelease(Colour.GREEN, BLUE_RELEASE);
      aws.setGroup(Colour.GREEN, { min: 2, max: 4, desired: 2 }, ['i-0g1', 'i-0g2']);

      const out = await prepare(deployState(), deps());

      expect(out.targetHeldAtZero).toBe(false);
      aws.expectNoMutations();
    });

    it('waits past the second in which the parameters changed before it starts instances (EC2 launch times are whole seconds)', async () => {
      aws.now = () => new Date('2025-03-01T12:00:00.400Z');

      const out = await prepare(deployState({ release: { version: '4.0.0' } }), deps());

      expect(out.targetLaunch).toMatchObject({ releasedAt: '2025-03-01T12:00:00.400Z', launchedAfter: '2025-03-01T12:00:01.000Z' });
      expect(slept).toEqual([1000]);
      expect(aws.group(Colour.GREEN).desired).toBe(2);
    });
  });

  it('sizes the target from the configured capacity, never below what the live colour runs', async () => {
    // The app now asks for 3 to 8 instances; blue runs 2 (min 2, max 4) from before.
    await prepare(deployState(), deps({ ...FLEET, minCapacity: 3, maxCapacity: 8 }));
    expect(aws.group(Colour.GREEN)).toMatchObject({ min: 3, max: 8, desired: 3 });

    // Blue was scaled out to 6 by its scaling policy: green matches it.
    aws.reset();
    await prepare(deployState({ liveCapacity: { min: 2, max: 10, desired: 6 } }), deps({ ...FLEET, minCapacity: 2, maxCapacity: 4 }));
    expect(aws.group(Colour.GREEN)).toMatchObject({ min: 2, max: 6, desired: 6 });
  });

  // SSM PutParameter reference (DataType): "If you call PutParameter with aws:ec2:image data
  // type, a successful HTTP 200 response does not guarantee that your parameter was successfully
  // created or updated" - the value is validated asynchronously.
  it('waits until SSM has taken the new image id before it scales the target up', async () => {
    // PutParameter answers 200 at once; the value lands after the third read.
    const landing = new Map<string, string>();
    aws.ssmMock.on(PutParameterCommand).callsFake((input: { Name: string; Value: string }) => {
      landing.set(input.Name, input.Value);
      return { Version: 2 };
    });
    let reads = 0;
    aws.ssmMock.on(GetParametersCommand).callsFake((input: { Names: string[] }) => {
      if (++reads > 3) for (const [name, value] of landing) aws.params.set(name, { Value: value, DataType: aws.params.get(name)!.DataType, LastModifiedDate: time.now() });
      return { Parameters: input.Names.map((n) => ({ Name: n, Type: 'String', ...aws.params.get(n) })) };
    });

    await prepare(deployState({ release: { imageId: 'ami-0aaaabbbbccccdddd' } }), deps());

    expect(slept).toHaveLength(2);
    const lastRead = aws.ssmMock.commandCalls(GetParametersCommand).at(-1)!;
    const [update] = aws.asgMock.commandCalls(UpdateAutoScalingGroupCommand);
    expect(lastRead.calledBefore(update)).toBe(true);
    expect(aws.group(Colour.GREEN).desired).toBe(2);
  });

  it('fails with ImageNotAccepted, before any instance starts, when SSM keeps the old image id', async () => {
    aws.rejectedImages.add('ami-0aaaabbbbccccdddd');

    await expect(prepare(deployState({ release: { imageId: 'ami-0aaaabbbbccccdddd' } }), deps())).rejects.toMatchObject({
      name: 'ImageNotAccepted',
      message: expect.stringContaining('ami-0aaaabbbbccccdddd'),
    });
    expect(slept).toHaveLength(9);
    expect(aws.asgMock).toHaveReceivedCommandTimes(UpdateAutoScalingGroupCommand, 0);
    expect(aws.group(Colour.GREEN).desired).toBe(0);
  });
});
