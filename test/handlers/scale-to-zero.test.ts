import { UpdateAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import { DescribeRulesCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { Colour } from '../../lib/private/contract';
import { scaleToZero } from '../../lambda/scale-to-zero/scale-to-zero';
import { clock, deployState, FakeAws, FLEET, throttling } from './fake-aws';

const aws = new FakeAws();
const time = clock();
const deps = () => ({ elbv2: aws.elbv2, autoScaling: aws.autoScaling, dynamoDb: aws.dynamoDb, config: FLEET, now: time.now });

beforeEach(() => {
  aws.reset();
  aws.setGroup(Colour.GREEN, { min: 2, max: 4, desired: 2 }, ['i-0g1', 'i-0g2']);
});

describe('scale-to-zero', () => {
  it('scales the idle colour back to zero, keeping its max', async () => {
    const out = await scaleToZero({ state: deployState(), colour: 'target' }, deps());

    expect(aws.asgMock).toHaveReceivedCommandTimes(UpdateAutoScalingGroupCommand, 1);
    expect(aws.asgMock).toHaveReceivedCommandWith(UpdateAutoScalingGroupCommand, { AutoScalingGroupName: 'web-green', MinSize: 0, MaxSize: 4, DesiredCapacity: 0 });
    expect(aws.group(Colour.GREEN)).toMatchObject({ min: 0, max: 4, desired: 0 });
    expect(out.scaledToZero).toEqual([Colour.GREEN]);
    expect(out.stages?.map((s) => s.stage)).toEqual(['Scale the idle colour back to zero']);
  });

  it('names the stage after a rollback "Scale the failed colour to zero"', async () => {
    const out = await scaleToZero({ state: deployState({ trafficMoved: true, targetWeight: 0 }), colour: 'target' }, deps());

    expect(out.stages?.map((s) => s.stage)).toEqual(['Scale the failed colour to zero']);
  });

  it('calls the target the failed colour after "Move traffic back", even when its shift never completed', async () => {
    const state = deployState({ rollback: { reason: 'Throttling: Rate exceeded', decidedAt: '2025-03-01T12:00:00.000Z' } });

    const out = await scaleToZero({ state, colour: 'target' }, deps());

    expect(out.stages?.map((s) => s.stage)).toEqual(['Scale the failed colour to zero']);
  });

  it('scales the colour a rollback execution left to zero', async () => {
    // A rollback execution moved traffic from green (live when it started) back to blue.
    aws.setWeights(FLEET.productionRuleArn, 100, 0);
    const state = deployState({ action: 'rollback', live: Colour.GREEN, target: Colour.BLUE, trafficMoved: true, targetWeight: 100 });

    const out = await scaleToZero({ state, colour: 'live' }, deps());

    expect(aws.group(Colour.GREEN)).toMatchObject({ min: 0, max: 4, desired: 0 });
    expect(out.scaledToZero).toEqual([Colour.GREEN]);
    expect(out.stages?.map((s) => s.stage)).toEqual(['Scale the colour we left to zero']);
  });

  it('makes no call when the colour is already at zero', async () => {
    const first = await scaleToZero({ state: deployState(), colour: 'target' }, deps());
    aws.resetHistory();

    const second = await scaleToZero({ state: first, colour: 'target' }, deps());

    expect(aws.asgMock).toHaveReceivedCommandTimes(UpdateAutoScalingGroupCommand, 0);
    expect(second.scaledToZero).toEqual([Colour.GREEN]);
  });

  it('refuses to scale a colour the production rule sends traffic to', async () => {
    aws.setWeights(FLEET.productionRuleArn, 90, 10);

    await expect(scaleToZero({ state: deployState({ trafficMoved: true }), colour: 'target' }, deps())).rejects.toMatchObject({
      name: 'FleetStateConflict',
      message: 'Refusing to scale green to zero: the production rule sends it 10% of the traffic (blue 90%, green 10%). Move the traffic off green first. Nothing was changed.',
    });
    aws.expectNoMutations();
    expect(aws.group(Colour.GREEN).desired).toBe(2);
  });

  it('refuses to scale the live colour while it serves', async () => {
    await expect(scaleToZero({ state: deployState(), colour: 'live' }, deps())).rejects.toMatchObject({ name: 'FleetStateConflict' });
    expect(aws.asgMock).toHaveReceivedCommandTimes(UpdateAutoScalingGroupCommand, 0);
  });

  it('reads the production weights again rather than trusting the state', async () => {
    await scaleToZero({ state: deployState({ targetWeight: 100 }), colour: 'target' }, deps());

    expect(aws.elbv2Mock).toHaveReceivedCommandWith(DescribeRulesCommand, { RuleArns: [FLEET.productionRuleArn] });
    expect(aws.group(Colour.GREEN).desired).toBe(0);
  });

  it('surfaces a throttling error from Auto Scaling', async () => {
    aws.asgMock.on(UpdateAutoScalingGroupCommand).rejects(throttling());

    await expect(scaleToZero({ state: deployState(), colour: 'target' }, deps())).rejects.toMatchObject({ name: 'Throttling' });
  });
});
