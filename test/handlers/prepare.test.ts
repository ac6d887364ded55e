import { UpdateAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import { DescribeRulesCommand, ModifyRuleCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { PutParameterCommand } from '@aws-sdk/client-ssm';
import { Colour } from '../../lib/contract';
import { prepare } from '../../lambda/prepare/prepare';
import { BLUE_RELEASE, clock, deployState, FakeAws, FLEET, GREEN_RELEASE, throttling } from './fake-aws';

const aws = new FakeAws();
const time = clock();
const deps = () => ({ elbv2: aws.elbv2, autoScaling: aws.autoScaling, ssm: aws.ssm, config: FLEET, now: time.now });

beforeEach(() => aws.reset());

describe('prepare', () => {
  it('writes the new image, points the test rule at green and sizes green like blue', async () => {
    const out = await prepare(deployState({ release: { imageId: 'ami-0aaaabbbbccccdddd' } }), deps());

    expect(out.targetRelease).toEqual({ imageId: 'ami-0aaaabbbbccccdddd', version: BLUE_RELEASE.version });
    expect(aws.release(Colour.GREEN)).toEqual({ imageId: 'ami-0aaaabbbbccccdddd', version: '1.4.1' });
    expect(aws.ssmMock).toHaveReceivedCommandWith(PutParameterCommand, {
      Name: '/blue-green/web/green/image-id', Value: 'ami-0aaaabbbbccccdddd', Type: 'String', DataType: 'text', Overwrite: true,
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
});
