import { DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import { GetParametersCommand } from '@aws-sdk/client-ssm';
import { Duration } from 'aws-cdk-lib';
import { Colour, CutoverErrorName } from '../../lib';
import { STATE_NAMES } from '../../lib/cutover-workflow';
import { Lab } from '../../lab/lab';
import { fleetState, LAB_PROPS, mutations } from './lab-fixture';

/**
 * End to end in the lab: the synthesized state machine on the real handlers against moto.
 * Every scenario asserts the execution result and the fleet's final state in the emulator.
 */
describe('cutovers that succeed', () => {
  let lab: Lab;
  beforeAll(async () => { lab = await Lab.start(LAB_PROPS); }, 120_000);
  afterAll(async () => { await lab?.stop(); });
  beforeEach(async () => { await lab.reset(LAB_PROPS); }, 60_000);

  test('releases a version into green and moves all traffic with one ModifyRule call', async () => {
    const result = await lab.runCutover({ version: '2.0.0' });

    expect(result.status).toBe('SUCCEEDED');
    expect(result.output).toMatchObject({
      action: 'deploy', live: 'green', previous: 'blue',
      liveRelease: { version: '2.0.0' }, previousRelease: { version: 'initial' },
    });
    // The fleet configuration every task got in the state is not part of the output.
    expect(Object.keys(result.output).sort()).toEqual(['action', 'live', 'liveRelease', 'previous', 'previousRelease', 'stages']);
    const stageNames = result.output.stages.map((s: any) => s.stage);
    expect(stageNames).toEqual(expect.arrayContaining([STATE_NAMES.start, STATE_NAMES.findLive, STATE_NAMES.prepare, STATE_NAMES.smoke, STATE_NAMES.shift(100), STATE_NAMES.retire]));
    for (const s of result.output.stages) expect(Date.parse(s.endedAt)).toBeGreaterThanOrEqual(Date.parse(s.startedAt));

    const state = await fleetState(lab);
    expect(state.production).toEqual({ blue: 0, green: 100 });
    expect(state.green).toMatchObject({ min: 2, max: 6, desired: 2 });
    expect(state.green.instances).toHaveLength(2);
    expect(state.blue).toMatchObject({ min: 0, desired: 0, instances: [] });
    expect(state.greenRelease.version).toBe('2.0.0');
    expect(state.blueRelease.version).toBe('initial');
    expect(state.lock).toBeUndefined();
    expect(mutations(result).filter((m) => m.startsWith(STATE_NAMES.shift(100)))).toEqual([`${STATE_NAMES.shift(100)}: ModifyRule`]);
  });

  test('a second release goes back into blue, pointing the test listener at blue first', async () => {
    await lab.runCutover({ version: '2.0.0' });
    const result = await lab.runCutover({ imageId: 'ami-0123456789abcdef0', version: '3.0.0' });

    expect(result.status).toBe('SUCCEEDED');
    expect(result.output).toMatchObject({ live: 'blue', previous: 'green' });
    const state = await fleetState(lab);
    expect(state.production).toEqual({ blue: 100, green: 0 });
    expect(state.test).toEqual({ blue: 100, green: 0 });
    expect(state.blueRelease).toEqual({ imageId: 'ami-0123456789abcdef0', version: '3.0.0' });
    expect(state.blue.desired).toBe(2);
    expect(state.green.desired).toBe(0);
    expect(state.lock).toBeUndefined();
  });

  test('{} redeploys the live release into the idle colour', async () => {
    const result = await lab.runCutover({});
    expect(result.status).toBe('SUCCEEDED');
    const state = await fleetState(lab);
    expect(state.production).toEqual({ blue: 0, green: 100 });
    expect(state.greenRelease).toEqual(state.blueRelease);
  });

  test('deploys into the colour that is really idle when the listener was flipped by hand', async () => {
    await lab.setDesired(Colour.GREEN, 2);
    await lab.setProductionWeights({ blue: 0, green: 100 });

    const result = await lab.runCutover({ version: '4.0.0' });

    expect(result.status).toBe('SUCCEEDED');
    expect(result.output).toMatchObject({ live: 'blue', previous: 'green' });
    const state = await fleetState(lab);
    expect(state.production).toEqual({ blue: 100, green: 0 });
    expect(state.blueRelease.version).toBe('4.0.0');
    expect(state.greenRelease.version).toBe('initial');
    expect(state.green.desired).toBe(0);
  });

  /** Launch times (EC2) of a colour's in-service instances, and when its release parameters last changed (SSM). */
  async function launchesAndRelease(colour: Colour): Promise<{ launches: Map<string, number>; releasedAt: number }> {
    const { instances } = await lab.group(colour);
    const launches = new Map<string, number>();
    if (instances.length) {
      const out = await lab.clients.ec2.send(new DescribeInstancesCommand({ InstanceIds: instances }));
      for (const r of out.Reservations ?? []) for (const i of r.Instances ?? []) launches.set(i.InstanceId!, i.LaunchTime!.getTime());
    }
    const c = lab.config.colours[colour];
    const params = await lab.clients.ssm.send(new GetParametersCommand({ Names: [c.imageParameterName, c.versionParameterName] }));
    return { launches, releasedAt: Math.max(...params.Parameters!.map((p) => p.LastModifiedDate!.getTime())) };
  }

  test('with the listener flipped by hand and the idle colour still running, only instances launched after "Prepare" serve the release', async () => {
    await lab.setDesired(Colour.GREEN, 2);
    await lab.setProductionWeights({ blue: 0, green: 100 });
    const before = (await lab.group(Colour.BLUE)).instances;
    expect(before).toHaveLength(2);

    const result = await lab.runCutover({ imageId: 'ami-12c6146b', version: '4.0.0' });

    expect(result.status).toBe('SUCCEEDED');
    expect(result.output).toMatchObject({ live: 'blue', liveRelease: { imageId: 'ami-12c6146b', version: '4.0.0' } });
    const state = await fleetState(lab);
    expect(state.production).toEqual({ blue: 100, green: 0 });
    expect(state.blueRelease).toEqual({ imageId: 'ami-12c6146b', version: '4.0.0' });
    expect(state.blue.desired).toBe(2);
    expect(state.blue.instances).toHaveLength(2);
    expect(state.blue.instances.filter((id) => before.includes(id))).toEqual([]);
    const { launches, releasedAt } = await launchesAndRelease(Colour.BLUE);
    // EC2 launch times are whole seconds: each is in a later second than the parameters' change.
    for (const id of state.blue.instances) expect(launches.get(id)!).toBeGreaterThanOrEqual(Math.ceil(releasedAt / 1000) * 1000);
    // "Prepare" held blue at zero; the health check started it again once the old instances were gone.
    expect(mutations(result).filter((m) => m.endsWith('UpdateAutoScalingGroup'))).toEqual([
      `${STATE_NAMES.prepare}: UpdateAutoScalingGroup`,
      `${STATE_NAMES.checkHealth}: UpdateAutoScalingGroup`,
      `${STATE_NAMES.retire}: UpdateAutoScalingGroup`,
    ]);
  });

  test('after a failed scale-down left the idle colour running, the next release replaces its instances', async () => {
    await lab.runCutover({ version: '2.0.0' });
    // The previous colour's scale-down did not happen (blue still runs what it ran before).
    await lab.setDesired(Colour.BLUE, 2);
    const before = (await lab.group(Colour.BLUE)).instances;
    expect(before).toHaveLength(2);

    const result = await lab.runCutover({ version: '3.0.0' });

    expect(result.status).toBe('SUCCEEDED');
    const state = await fleetState(lab);
    expect(state.production).toEqual({ blue: 100, green: 0 });
    expect(state.blueRelease.version).toBe('3.0.0');
    expect(state.blue.instances).toHaveLength(2);
    expect(state.blue.instances.filter((id) => before.includes(id))).toEqual([]);
    const { launches, releasedAt } = await launchesAndRelease(Colour.BLUE);
    for (const id of state.blue.instances) expect(launches.get(id)!).toBeGreaterThanOrEqual(Math.ceil(releasedAt / 1000) * 1000);
  });

  test('matches a live colour that grows during the cutover before traffic moves', async () => {
    let desiredAtShift = -1;
    const result = await lab.runCutover({ version: '2.0.0' }, {
      afterTask: async (state) => { if (state === STATE_NAMES.prepare) await lab.setDesired(Colour.BLUE, 3); },
      beforeTask: async (state) => { if (state === STATE_NAMES.shift(100)) desiredAtShift = (await lab.group(Colour.GREEN)).desired; },
    });

    expect(result.status).toBe('SUCCEEDED');
    expect(desiredAtShift).toBe(3);
    expect((await lab.group(Colour.GREEN)).desired).toBe(3);
  });

  test('rides out throttling of the traffic switch (the SDK retries with backoff)', async () => {
    lab.recorder.throttle('elasticloadbalancing', 'ModifyRule', 2);
    const result = await lab.runCutover({ version: '2.0.0' });

    expect(result.status).toBe('SUCCEEDED');
    expect(result.calls.filter((c) => c.injected === 'throttle').map((c) => c.action)).toEqual(['ModifyRule', 'ModifyRule']);
    expect((await fleetState(lab)).production).toEqual({ blue: 0, green: 100 });
  });

  test('every task run twice with the same input leaves the same end state, the second run changing nothing', async () => {
    const once = await lab.runCutover({ version: '2.0.0' });
    const stateOnce = await fleetState(lab);
    await lab.reset(LAB_PROPS);

    const secondRunMutations: string[] = [];
    const twice = await lab.runCutover({ version: '2.0.0' }, { repeatEachTask: true, onRepeat: (_state, calls) => secondRunMutations.push(...calls.filter((c) => c.mutating).map((c) => `${c.stage}: ${c.action}`)) });
    const stateTwice = await fleetState(lab);

    expect(once.status).toBe('SUCCEEDED');
    expect(twice.status).toBe('SUCCEEDED');
    const comparable = (s: typeof stateOnce) => ({ ...s, blue: { ...s.blue, instances: s.blue.instances.length }, green: { ...s.green, instances: s.green.instances.length } });
    expect(comparable(stateTwice)).toEqual(comparable(stateOnce));
    // The repeats change no fleet resource: only the lock table sees writes again, and those are
    // conditional on this execution owning the lock (re-taking it, or failing harmlessly).
    expect(secondRunMutations.filter((m) => !/: (PutItem|UpdateItem|DeleteItem|TransactWriteItems)$/.test(m))).toEqual([]);
  });

  test('a redeploy after a cutover that changes the production listener leaves traffic where the workflow put it', async () => {
    await lab.runCutover({ version: '2.0.0' });
    expect(await lab.liveColour()).toBe(Colour.GREEN);

    await lab.redeploy({ ...LAB_PROPS, fleet: { productionPort: 8000 } });

    expect(await lab.weights('production')).toEqual({ blue: 0, green: 100 });
    expect((await lab.group(Colour.GREEN)).desired).toBe(2);
  });

  test('a second execution during the first fails fast with CutoverInProgress and changes nothing; the first completes', async () => {
    let second: Awaited<ReturnType<Lab['runCutover']>> | undefined;
    const first = await lab.runCutover({ version: '2.0.0' }, {
      beforeTask: async (state, n) => {
        if (state === STATE_NAMES.checkHealth && n === 0) second = await lab.runCutover({ version: '9.9.9' });
      },
    });

    expect(second?.status).toBe('FAILED');
    expect(second?.error).toBe(CutoverErrorName.CUTOVER_IN_PROGRESS);
    expect(second?.cause).toContain('run-');
    // Its only write is the conditional lock attempt that failed.
    expect(mutations(second!)).toEqual([`${STATE_NAMES.start}: PutItem`]);
    expect(first.status).toBe('SUCCEEDED');
    const state = await fleetState(lab);
    expect(state.greenRelease.version).toBe('2.0.0');
    expect(state.production).toEqual({ blue: 0, green: 100 });
    expect(state.lock).toBeUndefined();
  });

  test('rollback while the previous colour is warm moves traffic back with one call and retires the colour it left', async () => {
    let rollback: Awaited<ReturnType<Lab['runCutover']>> | undefined;
    const first = await lab.runCutover({ version: '2.0.0' }, {
      beforeTask: async (state) => {
        if (state === STATE_NAMES.retire) rollback = await lab.runCutover({ action: 'rollback' });
      },
    });

    expect(rollback?.status).toBe('SUCCEEDED');
    expect(rollback?.output).toMatchObject({ action: 'rollback', live: 'blue', previous: 'green' });
    expect(mutations(rollback!).filter((m) => m.endsWith('ModifyRule'))).toEqual([`${STATE_NAMES.rollbackShift}: ModifyRule`]);
    // The cutover that was keeping blue warm finds its lock taken over, retires nothing and ends
    // Superseded (never SUCCEEDED), naming the rollback; the recovery handler leaves the fleet alone.
    expect(first.status).toBe('FAILED');
    expect(first.error).toBe(CutoverErrorName.SUPERSEDED);
    expect(first.cause).toContain('so this execution did not scale blue to zero and changes nothing more');
    expect(first.statusEvent?.invocations.map((i) => i.output?.outcome)).toEqual(['nothing']);
    const state = await fleetState(lab);
    expect(state.production).toEqual({ blue: 100, green: 0 });
    expect(state.blue.desired).toBe(2);
    expect(state.green.desired).toBe(0);
    expect(state.lock).toBeUndefined();
  });

  test('with a bake, polls the alarms until the bake time has passed, then retires the previous colour', async () => {
    await lab.reset({ cutover: { ...LAB_PROPS.cutover, bakeTime: Duration.seconds(1) } });
    const result = await lab.runCutover({ version: '2.0.0' });
    expect(result.status).toBe('SUCCEEDED');
    const polls = result.states.filter((s) => s === STATE_NAMES.bake).length;
    expect(polls).toBeGreaterThan(1);
    expect((await lab.group(Colour.BLUE)).desired).toBe(0);
  });
});
