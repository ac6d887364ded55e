import { UpdateAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import { DescribeTargetHealthCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { Colour, CutoverState } from '../../lib/private/contract';
import { checkHealth } from '../../lambda/check-health/check-health';
import { DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import { clock, deployState, FakeAws, FLEET, target, throttling } from './fake-aws';

const aws = new FakeAws();
let time = clock();
const deps = () => ({ elbv2: aws.elbv2, autoScaling: aws.autoScaling, ec2: aws.ec2, dynamoDb: aws.dynamoDb, config: FLEET, now: time.now });

/** Green scaled to 2 by "Prepare", with the given target states. */
function greenWith(targets: ReturnType<typeof target>[], ids = ['i-0g1', 'i-0g2']) {
  aws.setGroup(Colour.GREEN, { min: 2, max: 4, desired: 2 }, ids);
  aws.setTargets(Colour.GREEN, targets);
}

beforeEach(() => {
  aws.reset();
  time = clock('2025-03-01T12:00:00.000Z');
});

describe('check-health', () => {
  it('is healthy when every green instance is InService and healthy, and sets the deadline on the first call', async () => {
    greenWith([target('i-0g1', 'healthy'), target('i-0g2', 'healthy')]);

    const out = await checkHealth(deployState(), deps());

    expect(out.health).toEqual({
      healthy: true,
      deadline: '2025-03-01T12:10:00.000Z',
      inService: 2,
      healthyTargets: 2,
      desired: 2,
      detail: '2 of 2 instances healthy in the green target group',
    });
    expect(out.stages?.map((s) => s.stage)).toEqual(['Check the idle colour health']);
    aws.expectNoMutations();
  });

  it('is not healthy yet while targets are in initial, and keeps the deadline across polls', async () => {
    greenWith([target('i-0g1', 'healthy'), target('i-0g2', 'initial', 'Elb.InitialHealthChecking')]);
    const first = await checkHealth(deployState(), deps());
    time.advance(30);

    const second = await checkHealth(first, deps());

    expect(second.health).toMatchObject({ healthy: false, deadline: '2025-03-01T12:10:00.000Z', healthyTargets: 1, inService: 2 });
    expect(second.health.detail).toBe('1 of 2 instances healthy in the green target group (i-0g2: initial Elb.InitialHealthChecking)');
    // One stage entry spans all polls.
    expect(second.stages).toEqual([{ stage: 'Check the idle colour health', startedAt: '2025-03-01T12:00:00.000Z', endedAt: '2025-03-01T12:00:30.000Z' }]);
  });

  it('fails with IdleNotHealthy naming the counts and states once past the deadline', async () => {
    aws.setGroup(Colour.GREEN, { min: 3, max: 4, desired: 3 }, ['i-0g1', 'i-0g2', 'i-0abc']);
    aws.setTargets(Colour.GREEN, [target('i-0g1', 'healthy'), target('i-0g2', 'healthy'), target('i-0abc', 'unhealthy', 'Target.FailedHealthChecks')]);
    aws.setGroup(Colour.BLUE, { min: 3, max: 4, desired: 3 }, ['i-0b1', 'i-0b2', 'i-0b3']);
    const state = deployState({ liveCapacity: { min: 3, max: 4, desired: 3 } });
    const first = await checkHealth(state, deps());
    time.advance(600);

    await expect(checkHealth(first, deps())).rejects.toMatchObject({
      name: 'IdleNotHealthy',
      message: '2 of 3 instances healthy in the green target group after 600 s (i-0abc: unhealthy Target.FailedHealthChecks); ' +
        '3 InService in the Auto Scaling group. The live colour was not touched.',
    });
  });

  it('does not count draining targets', async () => {
    greenWith([target('i-0g1', 'healthy'), target('i-0g2', 'draining', 'Target.DeregistrationInProgress')]);

    const out = await checkHealth(deployState(), deps());

    expect(out.health).toMatchObject({ healthy: false, healthyTargets: 1 });
    expect(out.health.detail).toContain('i-0g2: draining Target.DeregistrationInProgress');
  });

  it('counts only instances that belong to the group (scale-in leftovers stay registered as healthy)', async () => {
    // i-0g8 and i-0g9 were terminated by a scale-in but are still registered and reported healthy.
    greenWith([target('i-0g1', 'healthy'), target('i-0g8', 'healthy'), target('i-0g9', 'healthy')], ['i-0g1', 'i-0g2']);

    const out = await checkHealth(deployState(), deps());

    expect(out.health).toMatchObject({ healthy: false, healthyTargets: 1, desired: 2 });
    expect(out.health.detail).toContain('i-0g2: not registered in the target group');
  });

  it('waits for instances still launching in the Auto Scaling group', async () => {
    greenWith([target('i-0g1', 'healthy'), target('i-0g2', 'healthy')]);
    aws.group(Colour.GREEN).instances[1].LifecycleState = 'Pending:Wait';

    const out = await checkHealth(deployState(), deps());

    expect(out.health).toMatchObject({ healthy: false, inService: 1, healthyTargets: 1 });
    expect(out.health.detail).toContain('i-0g2: Pending:Wait');
  });

  it('does not count an instance the Auto Scaling group marked Unhealthy', async () => {
    greenWith([target('i-0g1', 'healthy'), target('i-0g2', 'healthy')]);
    aws.group(Colour.GREEN).instances[0].HealthStatus = 'Unhealthy';

    const out = await checkHealth(deployState(), deps());

    expect(out.health).toMatchObject({ healthy: false, inService: 2, healthyTargets: 1 });
    expect(out.health.detail).toContain('i-0g1: Unhealthy in the Auto Scaling group');
  });

  it('is not healthy while more instances than desired are InService', async () => {
    greenWith([target('i-0g1', 'healthy'), target('i-0g2', 'healthy'), target('i-0g3', 'healthy')], ['i-0g1', 'i-0g2', 'i-0g3']);
    aws.group(Colour.GREEN).desired = 2;

    const out = await checkHealth(deployState(), deps());

    expect(out.health).toMatchObject({ healthy: false, inService: 3, healthyTargets: 3, desired: 2 });
  });

  it('is never healthy at desired 0 and says why on timeout', async () => {
    aws.setGroup(Colour.BLUE, { min: 0, max: 4, desired: 0 }, []);
    const state = deployState({ liveCapacity: { min: 0, max: 4, desired: 0 } });
    const first = await checkHealth(state, deps());
    expect(first.health).toMatchObject({ healthy: false, desired: 0 });
    time.advance(601);

    await expect(checkHealth(first, deps())).rejects.toMatchObject({
      name: 'IdleNotHealthy',
      message: expect.stringContaining('0 of 0 instances healthy in the green target group after 601 s (the target wants no instances because the live colour runs none)'),
    });
    expect(aws.elbv2Mock).toHaveReceivedCommandTimes(DescribeTargetHealthCommand, 0);
  });

  it('resizes the target when the live colour scaled out since "Prepare"', async () => {
    greenWith([target('i-0g1', 'healthy'), target('i-0g2', 'healthy')]);
    aws.setGroup(Colour.BLUE, { min: 2, max: 4, desired: 3 }, ['i-0b1', 'i-0b2', 'i-0b3']);

    const out = await checkHealth(deployState(), deps());

    expect(out.liveCapacity).toEqual({ min: 2, max: 4, desired: 3 });
    expect(aws.asgMock).toHaveReceivedCommandTimes(UpdateAutoScalingGroupCommand, 1);
    expect(aws.asgMock).toHaveReceivedCommandWith(UpdateAutoScalingGroupCommand, { AutoScalingGroupName: 'web-green', MinSize: 2, MaxSize: 4, DesiredCapacity: 3 });
    expect(out.health).toMatchObject({ healthy: false, desired: 3, healthyTargets: 2 });
  });

  it('does not resize the target again on the next poll', async () => {
    greenWith([target('i-0g1', 'healthy'), target('i-0g2', 'healthy')]);
    aws.setGroup(Colour.BLUE, { min: 2, max: 4, desired: 3 }, ['i-0b1', 'i-0b2', 'i-0b3']);
    const first = await checkHealth(deployState(), deps());
    aws.resetHistory();

    await checkHealth(first, deps());

    expect(aws.asgMock).toHaveReceivedCommandTimes(UpdateAutoScalingGroupCommand, 0);
  });

  describe('counting only instances that serve the release "Prepare" wrote', () => {
    const launch = { releasedAt: '2025-03-01T11:59:58.300Z', launchedAfter: '2025-03-01T11:59:59.000Z', launchTemplateVersion: '2' };

    it('does not count instances launched before the release, and holds the target at zero until they are gone', async () => {
      greenWith([target('i-0old1', 'healthy'), target('i-0new1', 'healthy')], ['i-0old1', 'i-0new1']);
      aws.group(Colour.GREEN).instances.forEach((i) => { i.LaunchTemplate!.Version = '2'; });
      aws.launchTimes.set('i-0old1', new Date('2025-03-01T11:59:58.000Z'));
      aws.launchTimes.set('i-0new1', new Date('2025-03-01T11:59:59.000Z'));

      const out = await checkHealth(deployState({ targetLaunch: launch }), deps());

      expect(out.health).toMatchObject({ healthy: false, healthyTargets: 1, desired: 0 });
      expect(out.health.detail).toContain('i-0old1: launched 2025-03-01T11:59:58.000Z, before the release was written (2025-03-01T11:59:58.300Z)');
      expect(out.targetHeldAtZero).toBe(true);
      expect(aws.asgMock).toHaveReceivedCommandWith(UpdateAutoScalingGroupCommand, { AutoScalingGroupName: 'web-green', MinSize: 0, MaxSize: 4, DesiredCapacity: 0 });
      expect(aws.ec2Mock).toHaveReceivedCommandWith(DescribeInstancesCommand, { InstanceIds: ['i-0old1', 'i-0new1'] });

      // Scaled in: the group is empty. The next poll sizes it like blue.
      aws.setGroup(Colour.GREEN, { min: 0, max: 4, desired: 0 }, []);
      aws.resetHistory();
      const next = await checkHealth(out, deps());
      expect(next.health).toMatchObject({ healthy: false, desired: 2 });
      expect(next.targetHeldAtZero).toBe(false);
      expect(aws.group(Colour.GREEN)).toMatchObject({ min: 2, max: 4, desired: 2 });

      // New instances, launched after the release from version 2: healthy.
      aws.setGroup(Colour.GREEN, { min: 2, max: 4, desired: 2 }, ['i-0new2', 'i-0new3']);
      aws.group(Colour.GREEN).instances.forEach((i) => { i.LaunchTemplate!.Version = '2'; });
      for (const id of ['i-0new2', 'i-0new3']) aws.launchTimes.set(id, new Date('2025-03-01T12:00:30.000Z'));
      aws.resetHistory();
      const last = await checkHealth(next, deps());
      expect(last.health).toMatchObject({ healthy: true, healthyTargets: 2, desired: 2 });
      aws.expectNoMutations();
    });

    it('counts an instance launched in the second of the write as launched before it', async () => {
      greenWith([target('i-0g1', 'healthy'), target('i-0g2', 'healthy')]);
      aws.group(Colour.GREEN).instances.forEach((i) => { i.LaunchTemplate!.Version = '2'; });
      aws.launchTimes.set('i-0g1', new Date('2025-03-01T11:59:58.000Z'));
      aws.launchTimes.set('i-0g2', new Date('2025-03-01T12:00:00.000Z'));

      const out = await checkHealth(deployState({ targetLaunch: launch }), deps());

      expect(out.health.healthy).toBe(false);
      expect(out.health.detail).toContain('1 instance from before the release');
    });

    it('does not count instances of an older launch template version than the one "Prepare" set', async () => {
      greenWith([target('i-0g1', 'healthy'), target('i-0g2', 'healthy')]);
      aws.group(Colour.GREEN).instances[1].LaunchTemplate!.Version = '2';
      for (const id of ['i-0g1', 'i-0g2']) aws.launchTimes.set(id, new Date('2025-03-01T12:00:30.000Z'));

      const out = await checkHealth(deployState({ targetLaunch: launch }), deps());

      expect(out.health).toMatchObject({ healthy: false, healthyTargets: 1 });
      expect(out.health.detail).toContain('i-0g1: launch template version 1, not 2');
    });

    it('fails with IdleNotHealthy naming the instances from before the release once past the deadline', async () => {
      greenWith([target('i-0g1', 'healthy'), target('i-0g2', 'healthy')]);
      const first = await checkHealth(deployState({ targetLaunch: launch }), deps());
      time.advance(601);

      await expect(checkHealth(first, deps())).rejects.toMatchObject({
        name: 'IdleNotHealthy',
        message: expect.stringContaining('2 instances from before the release, not counted'),
      });
    });

    it('is healthy with instances launched after the release from its launch template version', async () => {
      greenWith([target('i-0g1', 'healthy'), target('i-0g2', 'healthy')]);
      aws.group(Colour.GREEN).instances.forEach((i) => { i.LaunchTemplate!.Version = '2'; });
      for (const id of ['i-0g1', 'i-0g2']) aws.launchTimes.set(id, new Date('2025-03-01T11:59:59.000Z'));

      const out = await checkHealth(deployState({ targetLaunch: launch }), deps());

      expect(out.health).toMatchObject({ healthy: true, healthyTargets: 2, desired: 2 });
      expect(out.targetHeldAtZero).toBe(false);
      aws.expectNoMutations();
    });
  });

  it('surfaces a throttling error from DescribeTargetHealth', async () => {
    greenWith([target('i-0g1', 'healthy'), target('i-0g2', 'healthy')]);
    aws.elbv2Mock.on(DescribeTargetHealthCommand).rejects(throttling());

    await expect(checkHealth(deployState(), deps())).rejects.toMatchObject({ name: 'Throttling' });
  });

  it('needs the colours found by "Find the live colour"', async () => {
    const state: CutoverState = { input: {}, executionId: 'x' };
    await expect(checkHealth(state, deps())).rejects.toThrow('this task must run after "Find the live colour"');
  });
});
