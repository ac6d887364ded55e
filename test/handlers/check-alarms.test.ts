import { DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { DescribeAlarmsCommand, MetricAlarm, StateValue } from '@aws-sdk/client-cloudwatch';
import { DescribeTargetHealthCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { Colour, FleetConfig } from '../../lib/private/contract';
import { checkAlarms } from '../../lambda/check-alarms/check-alarms';
import { logger } from '../../lambda/common/logger';
import { clock, deployState, FakeAws, FLEET, target, throttling } from './fake-aws';

const aws = new FakeAws();
let time = clock();
const deps = (config: FleetConfig = FLEET) => ({ cloudWatch: aws.cloudWatch, autoScaling: aws.autoScaling, elbv2: aws.elbv2, config, now: time.now });

function alarm(name: string, state: `${StateValue}`, reason = `Threshold crossed for ${name}`): MetricAlarm {
  return { AlarmName: name, StateValue: state, StateReason: reason };
}

/** Like moto: DescribeAlarms filters by name only, whatever the state. */
function alarmsInStates(states: Record<string, `${StateValue}`>) {
  aws.cloudWatchMock.on(DescribeAlarmsCommand).callsFake((input: { AlarmNames: string[] }) => ({
    MetricAlarms: Object.entries(states).filter(([n]) => input.AlarmNames.includes(n)).map(([n, s]) => alarm(n, s)),
    CompositeAlarms: [],
  }));
}

beforeEach(() => {
  aws.reset();
  time = clock('2025-03-01T12:00:00.000Z');
  // green took the traffic and serves with 2 of 2 healthy instances.
  aws.setGroup(Colour.GREEN, { min: 2, max: 4, desired: 2 }, ['i-0g1', 'i-0g2']);
  alarmsInStates({ 'web-green-5xx': 'OK', 'web-green-unhealthy-hosts': 'OK', 'web-p99-latency': 'OK', 'web-blue-5xx': 'ALARM' });
});

afterEach(() => jest.restoreAllMocks());

describe('check-alarms during the bake', () => {
  it('watches the target\'s alarms and the fleet\'s own, and starts the bake on the first call', async () => {
    const out = await checkAlarms({ state: deployState({ trafficMoved: true }), phase: 'bake' }, deps());

    expect(aws.cloudWatchMock).toHaveReceivedCommandWith(DescribeAlarmsCommand, {
      AlarmNames: ['web-green-5xx', 'web-green-unhealthy-hosts', 'web-p99-latency'],
      AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
    });
    // web-blue-5xx is in ALARM, but blue is not the colour being baked.
    expect(out.alarm).toBeUndefined();
    expect(out.bake).toEqual({ until: '2025-03-01T12:05:00.000Z', polls: 1, done: false });
    expect(out.stages?.map((s) => s.stage)).toEqual(['Watch alarms during bake']);
  });

  it('counts polls and finishes the bake once its time is up', async () => {
    let state = await checkAlarms({ state: deployState(), phase: 'bake' }, deps());
    time.advance(120);
    state = await checkAlarms({ state, phase: 'bake' }, deps());
    expect(state.bake).toEqual({ until: '2025-03-01T12:05:00.000Z', polls: 2, done: false });
    time.advance(180);

    state = await checkAlarms({ state, phase: 'bake' }, deps());

    expect(state.bake).toEqual({ until: '2025-03-01T12:05:00.000Z', polls: 3, done: true });
    expect(state.alarm).toBeUndefined();
  });

  it('is done on the first call when the bake time is 0', async () => {
    const out = await checkAlarms({ state: deployState(), phase: 'bake' }, deps({ ...FLEET, bakeSeconds: 0 }));

    expect(out.bake).toEqual({ until: '2025-03-01T12:00:00.000Z', polls: 1, done: true });
  });

  it('returns the alarm instead of throwing when one is in ALARM, and ends the bake', async () => {
    alarmsInStates({ 'web-green-5xx': 'ALARM', 'web-green-unhealthy-hosts': 'OK', 'web-p99-latency': 'OK' });
    const error = jest.spyOn(logger, 'error');

    const out = await checkAlarms({ state: deployState({ trafficMoved: true }), phase: 'bake' }, deps());

    expect(out.alarm).toEqual({ name: 'web-green-5xx', detectedAt: '2025-03-01T12:00:00.000Z' });
    expect(out.bake).toMatchObject({ done: true, polls: 1 });
    expect(error).toHaveBeenCalledWith(
      'Alarm web-green-5xx in ALARM at 2025-03-01T12:00:00.000Z during the bake: rolling back. web-green-5xx: Threshold crossed for web-green-5xx',
      expect.objectContaining({ errorName: 'AlarmFired' }),
    );
  });

  it('names every alarm in ALARM', async () => {
    alarmsInStates({ 'web-green-5xx': 'ALARM', 'web-green-unhealthy-hosts': 'OK', 'web-p99-latency': 'ALARM' });

    const out = await checkAlarms({ state: deployState(), phase: 'bake' }, deps());

    expect(out.alarm?.name).toBe('web-green-5xx, web-p99-latency');
  });

  it('treats INSUFFICIENT_DATA as not firing, and logs it', async () => {
    alarmsInStates({ 'web-green-5xx': 'INSUFFICIENT_DATA', 'web-green-unhealthy-hosts': 'OK', 'web-p99-latency': 'OK' });
    const info = jest.spyOn(logger, 'info');

    const out = await checkAlarms({ state: deployState(), phase: 'bake' }, deps());

    expect(out.alarm).toBeUndefined();
    expect(info).toHaveBeenCalledWith('Alarms without enough data count as not firing', { alarms: ['web-green-5xx'] });
  });

  it('warns about rollback alarms that do not exist', async () => {
    alarmsInStates({ 'web-green-5xx': 'OK', 'web-green-unhealthy-hosts': 'OK' });
    const warn = jest.spyOn(logger, 'warn');

    const out = await checkAlarms({ state: deployState(), phase: 'bake' }, deps());

    expect(out.alarm).toBeUndefined();
    expect(warn).toHaveBeenCalledWith('Rollback alarms not found: they cannot stop this cutover', { alarms: ['web-p99-latency'] });
  });

  it('sees composite alarms', async () => {
    aws.cloudWatchMock.on(DescribeAlarmsCommand).resolves({
      MetricAlarms: [alarm('web-green-5xx', 'OK')],
      CompositeAlarms: [{ AlarmName: 'web-p99-latency', StateValue: 'ALARM', StateReason: 'child alarm in ALARM' }],
    });

    const out = await checkAlarms({ state: deployState(), phase: 'bake' }, deps());

    expect(out.alarm?.name).toBe('web-p99-latency');
  });

  it('keeps the first detection time when called again', async () => {
    alarmsInStates({ 'web-green-5xx': 'ALARM' });
    const first = await checkAlarms({ state: deployState(), phase: 'bake' }, deps());
    time.advance(10);

    const second = await checkAlarms({ state: first, phase: 'bake' }, deps());

    expect(second.alarm).toEqual({ name: 'web-green-5xx', detectedAt: '2025-03-01T12:00:00.000Z' });
  });

  it('asks for at most 100 alarms per request, following NextToken', async () => {
    const many = Array.from({ length: 150 }, (_, i) => `user-alarm-${i}`);
    aws.cloudWatchMock.on(DescribeAlarmsCommand).callsFake((input: { AlarmNames: string[]; NextToken?: string }) => {
      const names = input.NextToken ? input.AlarmNames.slice(50) : input.AlarmNames.slice(0, 50);
      return {
        MetricAlarms: names.map((n) => alarm(n, n === 'user-alarm-149' ? 'ALARM' : 'OK')),
        NextToken: !input.NextToken && input.AlarmNames.length > 50 ? 'page-2' : undefined,
      };
    });

    const out = await checkAlarms({ state: deployState(), phase: 'bake' }, deps({ ...FLEET, rollbackAlarmNames: many }));

    const calls = aws.cloudWatchMock.commandCalls(DescribeAlarmsCommand).map((c) => c.args[0].input);
    expect(calls.map((c) => [c.AlarmNames?.length, c.NextToken])).toEqual([[100, undefined], [100, 'page-2'], [52, undefined], [52, 'page-2']]);
    expect(out.alarm?.name).toBe('user-alarm-149');
  });

  it('surfaces a throttling error from CloudWatch', async () => {
    aws.cloudWatchMock.on(DescribeAlarmsCommand).rejects(throttling());

    await expect(checkAlarms({ state: deployState(), phase: 'bake' }, deps())).rejects.toMatchObject({ name: 'Throttling' });
  });
});

describe('check-alarms while a shift step holds', () => {
  const stepFleet = { ...FLEET, stepSeconds: 120 };

  it('reports an alarm without touching the bake, and ends the step', async () => {
    alarmsInStates({ 'web-green-5xx': 'ALARM' });

    const out = await checkAlarms({ state: deployState({ trafficMoved: true, targetWeight: 10 }), phase: 'shift' }, deps(stepFleet));

    expect(out.alarm).toEqual({ name: 'web-green-5xx', detectedAt: '2025-03-01T12:00:00.000Z' });
    expect(out.bake).toBeUndefined();
    expect(out.shiftStep).toEqual({ weight: 10, until: '2025-03-01T12:02:00.000Z', polls: 1, done: true });
    expect(out.stages?.map((s) => s.stage)).toEqual(['Watch alarms at 10%']);
  });

  it('starts the step clock on the first check at a weight and changes nothing else when all is quiet', async () => {
    const state = deployState({ trafficMoved: true, targetWeight: 10 });

    const out = await checkAlarms({ state, phase: 'shift' }, deps(stepFleet));

    expect({ ...out, stages: [] }).toEqual({ ...state, shiftStep: { weight: 10, until: '2025-03-01T12:02:00.000Z', polls: 1, done: false }, stages: [] });
  });

  it('polls until the step time is up, then says the step is done', async () => {
    let state = await checkAlarms({ state: deployState({ trafficMoved: true, targetWeight: 25 }), phase: 'shift' }, deps(stepFleet));
    time.advance(60);
    state = await checkAlarms({ state, phase: 'shift' }, deps(stepFleet));
    expect(state.shiftStep).toEqual({ weight: 25, until: '2025-03-01T12:02:00.000Z', polls: 2, done: false });
    time.advance(60);

    state = await checkAlarms({ state, phase: 'shift' }, deps(stepFleet));

    expect(state.shiftStep).toEqual({ weight: 25, until: '2025-03-01T12:02:00.000Z', polls: 3, done: true });
    expect(state.stages?.map((s) => s.stage)).toEqual(['Watch alarms at 25%']);
  });

  it('gives the next step a clock of its own', async () => {
    const held = { weight: 25, until: '2025-03-01T11:58:00.000Z', polls: 13, done: true };

    const out = await checkAlarms({ state: deployState({ trafficMoved: true, targetWeight: 50, shiftStep: held }), phase: 'shift' }, deps(stepFleet));

    expect(out.shiftStep).toEqual({ weight: 50, until: '2025-03-01T12:02:00.000Z', polls: 1, done: false });
  });

  it('is done on the first check when the fleet has no step time', async () => {
    const out = await checkAlarms({ state: deployState({ trafficMoved: true, targetWeight: 10 }), phase: 'shift' }, deps());

    expect(out.shiftStep).toEqual({ weight: 10, until: '2025-03-01T12:00:00.000Z', polls: 1, done: true });
  });

  it('makes no call when there is no alarm to watch', async () => {
    const config = { ...FLEET, rollbackAlarmNames: [], colours: { ...FLEET.colours, green: { ...FLEET.colours.green, alarmNames: [] } } };

    const out = await checkAlarms({ state: deployState(), phase: 'shift' }, deps(config));

    expect(aws.cloudWatchMock).toHaveReceivedCommandTimes(DescribeAlarmsCommand, 0);
    expect(out.alarm).toBeUndefined();
  });
});

describe('check-alarms also watches the new colour\'s health', () => {
  const bake = () => checkAlarms({ state: deployState({ trafficMoved: true, targetWeight: 100 }), phase: 'bake' }, deps());

  it('looks at the target colour\'s group and target group once per poll, not at the live colour\'s', async () => {
    await bake();

    expect(aws.asgMock).toHaveReceivedCommandTimes(DescribeAutoScalingGroupsCommand, 1);
    expect(aws.asgMock).toHaveReceivedCommandWith(DescribeAutoScalingGroupsCommand, { AutoScalingGroupNames: ['web-green'] });
    expect(aws.elbv2Mock).toHaveReceivedCommandTimes(DescribeTargetHealthCommand, 1);
    expect(aws.elbv2Mock).toHaveReceivedCommandWith(DescribeTargetHealthCommand, { TargetGroupArn: FLEET.colours.green.targetGroupArn });
    aws.expectNoMutations();
  });

  it.each([
    ['stopped instances (targets unused)', [target('i-0g1', 'unused', 'Target.InvalidState'), target('i-0g2', 'unused', 'Target.InvalidState')],
      /0 of 2 instances healthy in the green target group \(i-0g1: unused Target\.InvalidState, i-0g2: unused Target\.InvalidState\)/],
    ['one instance failing health checks', [target('i-0g1', 'healthy'), target('i-0g2', 'unhealthy', 'Target.FailedHealthChecks')],
      /1 of 2 instances healthy in the green target group \(i-0g2: unhealthy Target\.FailedHealthChecks\)/],
    ['one instance deregistered (draining)', [target('i-0g1', 'healthy'), target('i-0g2', 'draining', 'Target.DeregistrationInProgress')],
      /1 of 2 .*i-0g2: draining Target\.DeregistrationInProgress/],
    ['one instance no longer registered', [target('i-0g1', 'healthy')], /1 of 2 .*i-0g2: not registered in the target group/],
  ])('throws NewColourUnhealthy naming the instances on %s', async (_name, targets, cause) => {
    aws.setTargets(Colour.GREEN, targets);

    const error = await bake().catch((e: Error) => e);

    expect(error).toMatchObject({ name: 'NewColourUnhealthy' });
    expect((error as Error).message).toMatch(/^The new colour green is no longer healthy at 2025-03-01T12:00:00\.000Z during the bake: /);
    expect((error as Error).message).toMatch(cause);
    expect((error as Error).message).toMatch(/Rolling back\.$/);
  });

  it('throws on an instance the group found unhealthy, and on an instance gone to Standby with none joining', async () => {
    aws.group(Colour.GREEN).instances[0].HealthStatus = 'Unhealthy';
    await expect(bake()).rejects.toMatchObject({ name: 'NewColourUnhealthy', message: expect.stringContaining('i-0g1: Unhealthy in the Auto Scaling group') });

    aws.setGroup(Colour.GREEN, { min: 2, max: 4, desired: 2 }, ['i-0g1', 'i-0g2']);
    aws.group(Colour.GREEN).instances[1].LifecycleState = 'Standby';
    await expect(bake()).rejects.toMatchObject({ name: 'NewColourUnhealthy', message: expect.stringContaining('1 of 2 instances healthy in the green target group (i-0g2: Standby); 1 InService') });
  });

  it('throws when the new colour was scaled to zero by hand', async () => {
    aws.setGroup(Colour.GREEN, { min: 0, max: 4, desired: 0 }, []);

    await expect(bake()).rejects.toMatchObject({ name: 'NewColourUnhealthy', message: expect.stringContaining('0 of 0 instances healthy') });
  });

  it('names the shift step when the new colour fails while a step holds', async () => {
    aws.setTargets(Colour.GREEN, [target('i-0g1', 'unused', 'Target.InvalidState'), target('i-0g2', 'healthy')]);

    await expect(checkAlarms({ state: deployState({ trafficMoved: true, targetWeight: 10 }), phase: 'shift' }, deps({ ...FLEET, stepSeconds: 120 })))
      .rejects.toMatchObject({ name: 'NewColourUnhealthy', message: expect.stringContaining('during the shift step at 10%: 1 of 2') });
  });

  it('does not count a scale-out as unhealthy: instances launching or registered in `initial` are joining', async () => {
    aws.setGroup(Colour.GREEN, { min: 2, max: 4, desired: 4 }, ['i-0g1', 'i-0g2', 'i-0g3', 'i-0g4']);
    aws.group(Colour.GREEN).instances[2].LifecycleState = 'Pending';
    aws.setTargets(Colour.GREEN, [target('i-0g1', 'healthy'), target('i-0g2', 'healthy'), target('i-0g4', 'initial', 'Elb.RegistrationInProgress')]);

    const out = await bake();

    expect(out.alarm).toBeUndefined();
    expect(out.bake).toMatchObject({ polls: 1, done: false });
  });

  it('does not count a scale-in as unhealthy: terminating instances are leaving', async () => {
    aws.setGroup(Colour.GREEN, { min: 2, max: 4, desired: 2 }, ['i-0g1', 'i-0g2', 'i-0g3']);
    aws.group(Colour.GREEN).instances[2].LifecycleState = 'Terminating';
    aws.setTargets(Colour.GREEN, [target('i-0g1', 'healthy'), target('i-0g2', 'healthy'), target('i-0g3', 'draining', 'Target.DeregistrationInProgress')]);

    await expect(bake()).resolves.toMatchObject({ bake: { polls: 1, done: false } });
  });

  it('throws when only joining instances are left: nothing healthy serves', async () => {
    aws.setTargets(Colour.GREEN, [target('i-0g1', 'initial', 'Elb.RegistrationInProgress'), target('i-0g2', 'initial', 'Elb.RegistrationInProgress')]);

    await expect(bake()).rejects.toMatchObject({ name: 'NewColourUnhealthy', message: expect.stringContaining('0 of 2 instances healthy in the green target group (i-0g1: initial Elb.RegistrationInProgress, i-0g2: initial Elb.RegistrationInProgress); 2 InService in the Auto Scaling group, 2 still joining') });
  });

  it('reports an alarm without looking at health: the alarm decides the rollback', async () => {
    alarmsInStates({ 'web-green-5xx': 'ALARM' });
    aws.setTargets(Colour.GREEN, [target('i-0g1', 'unused', 'Target.InvalidState'), target('i-0g2', 'unused', 'Target.InvalidState')]);

    const out = await bake();

    expect(out.alarm?.name).toBe('web-green-5xx');
    expect(aws.asgMock).toHaveReceivedCommandTimes(DescribeAutoScalingGroupsCommand, 0);
  });

  it('surfaces a throttling error from Auto Scaling', async () => {
    aws.asgMock.on(DescribeAutoScalingGroupsCommand).rejects(throttling());

    await expect(bake()).rejects.toMatchObject({ name: 'Throttling' });
  });
});
