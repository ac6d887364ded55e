import { ListResourceRecordSetsCommand } from '@aws-sdk/client-route-53';
import { Duration } from 'aws-cdk-lib';
import { CutoverErrorName, TrafficShift } from '../../lib';
import { STATE_NAMES } from '../../lib/cutover-workflow';
import { Lab, LabProps } from '../../lab/lab';
import { alarmName, fleetState, LAB_PROPS, mutations, runObserving } from './lab-fixture';

/**
 * Route 53 switching in the lab: a load balancer per colour, weighted alias records created in a
 * moto hosted zone by the records provider's real bundle, and the workflow moving their weights.
 * Smoke tests reach the target colour's own load balancer.
 */
const DNS: LabProps = { ...LAB_PROPS, dns: { zoneName: 'example.com', recordName: 'www' } };
const DNS_CANARY: LabProps = { ...DNS, cutover: { ...LAB_PROPS.cutover, trafficShift: TrafficShift.canary({ percent: 10, bake: Duration.seconds(1) }) } };
const DNS_LINEAR: LabProps = { ...DNS, cutover: { ...LAB_PROPS.cutover, trafficShift: TrafficShift.linear({ percentPerStep: 25, stepInterval: Duration.seconds(1) }) } };
const CHANGE = 'ChangeResourceRecordSets';

let lab: Lab;
beforeAll(async () => { lab = await Lab.start(DNS); }, 120_000);
afterAll(async () => { await lab?.stop(); });

describe('all at once', () => {
  beforeEach(async () => { await lab.reset(DNS); }, 60_000);

  test('the stack creates both weighted records, blue serving', async () => {
    expect(lab.config.route53).toMatchObject({ hostedZoneId: lab.hostedZoneId, recordName: 'www.example.com', recordType: 'A' });
    expect(await lab.weights()).toEqual({ blue: 100, green: 0 });
  });

  test('moves both records in one change after smoke-testing green through its own load balancer', async () => {
    // A smoke test that reached blue (or the wrong load balancer) would fail on blue's body.
    lab.apps.behaviour.blue = 'wrong-body';
    const { result, steps } = await runObserving(lab, { version: '2.0.0' });

    expect(result.status).toBe('SUCCEEDED');
    expect(result.output).toMatchObject({ action: 'deploy', live: 'green', previous: 'blue', liveRelease: { version: '2.0.0' } });
    expect(steps).toEqual([{ state: STATE_NAMES.shift(100), weights: { blue: 0, green: 100 } }]);
    expect(mutations(result).filter((m) => m.endsWith(CHANGE))).toEqual([`${STATE_NAMES.shift(100)}: ${CHANGE}`]);
    expect(mutations(result).some((m) => m.endsWith('ModifyRule'))).toBe(false);
    const state = await fleetState(lab);
    expect(state.production).toEqual({ blue: 0, green: 100 });
    expect(state.green).toMatchObject({ desired: 2 });
    expect(state.blue).toMatchObject({ desired: 0, instances: [] });
    expect(state.greenRelease.version).toBe('2.0.0');
    expect(state.lock).toBeUndefined();
  });

  test('rolls back with one change when an alarm fires during the bake', async () => {
    const { result } = await runObserving(lab, { version: '2.0.0' }, { state: STATE_NAMES.bake, n: 0, alarm: alarmName(lab, 'green-5xx') });

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe(CutoverErrorName.ROLLED_BACK);
    expect(result.cause).toContain(alarmName(lab, 'green-5xx'));
    expect(result.states).toContain(STATE_NAMES.dnsDrain);
    const rollbackMutations = mutations(result).filter((m) => m.startsWith(STATE_NAMES.rollBack));
    expect(rollbackMutations).toEqual([`${STATE_NAMES.rollBack}: ${CHANGE}`]);
    const state = await fleetState(lab);
    expect(state.production).toEqual({ blue: 100, green: 0 });
    expect(state.green.desired).toBe(0);
    expect(state.blue.desired).toBe(2);
    expect(state.lock).toBeUndefined();
  });

  test('a failed smoke test on green leaves the records untouched', async () => {
    lab.apps.behaviour.green = 'error-status';
    const result = await lab.runCutover({ version: '2.0.0' });

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe(CutoverErrorName.SMOKE_TEST_FAILED);
    expect(result.cause).toContain('against the green colour');
    expect(result.calls.filter((c) => c.action === CHANGE)).toEqual([]);
    const state = await fleetState(lab);
    expect(state.production).toEqual({ blue: 100, green: 0 });
    expect(state.green.desired).toBe(0);
    expect(state.lock).toBeUndefined();
  });

  test('{"action":"rollback"} while blue is kept warm moves the records back with one change', async () => {
    let rollback: Awaited<ReturnType<Lab['runCutover']>> | undefined;
    const first = await lab.runCutover({ version: '2.0.0' }, {
      beforeTask: async (state) => { if (state === STATE_NAMES.retire) rollback = await lab.runCutover({ action: 'rollback' }); },
    });

    // The cutover keeping blue warm finds the lock taken over: it retires nothing and ends Superseded.
    expect(first.status).toBe('FAILED');
    expect(first.error).toBe(CutoverErrorName.SUPERSEDED);
    expect(rollback?.status).toBe('SUCCEEDED');
    expect(rollback?.output).toMatchObject({ action: 'rollback', live: 'blue', previous: 'green' });
    expect(mutations(rollback!).filter((m) => m.endsWith(CHANGE))).toEqual([`${STATE_NAMES.rollbackShift}: ${CHANGE}`]);
    expect(rollback?.states).toContain(STATE_NAMES.dnsDrainRollback);
    const state = await fleetState(lab);
    expect(state.production).toEqual({ blue: 100, green: 0 });
    expect(state.blue.desired).toBe(2);
    expect(state.green.desired).toBe(0);
    expect(state.lock).toBeUndefined();
  });

  test('an execution stopped during the bake: the recovery handler moves both records back with one change and leaves green up for the resolvers', async () => {
    const result = await lab.runCutover({ version: '2.0.0' }, { stop: (state) => (state === STATE_NAMES.bake ? 'ABORTED' : undefined) });

    expect(result.status).toBe('ABORTED');
    const recovery = result.statusEvent?.invocations ?? [];
    expect(recovery.map((i) => i.error ?? i.output?.outcome)).toEqual(['recovered']);
    expect(recovery[0].calls.filter((c) => c.mutating && !c.injected && !c.denied).map((c) => c.action).filter((a) => a === CHANGE)).toEqual([CHANGE]);
    // With Route 53, resolvers may still hold green's address: it is not scaled down (the next Prepare restarts it).
    expect(recovery[0].output.report).toMatchObject({ live: 'blue', trafficMoved: true, scaledToZero: [] });
    const state = await fleetState(lab);
    expect(state.production).toEqual({ blue: 100, green: 0 });
    expect(state.lock).toBeUndefined();

    const next = await lab.runCutover({ version: '3.0.0' });
    expect(next.status).toBe('SUCCEEDED');
    expect(await lab.recordWeights()).toEqual({ blue: 0, green: 100 });
  });

  test('a deploy that changes the records keeps the weights the workflow set', async () => {
    expect((await lab.runCutover({ version: '2.0.0' })).status).toBe('SUCCEEDED');

    // CNAME records with a TTL instead of alias records: the provider replaces the records in one batch.
    await lab.redeploy({ ...DNS, dns: { ...DNS.dns!, ttl: Duration.seconds(30) } });

    const records = await lab.records();
    expect(records.map((r) => [r.SetIdentifier, r.Type, r.TTL, r.Weight])).toEqual([['blue', 'CNAME', 30, 0], ['green', 'CNAME', 30, 100]]);

    // The next cutover works on the CNAME records.
    expect(lab.config.route53?.recordType).toBe('CNAME');
    const next = await lab.runCutover({ version: '3.0.0' });
    expect(next.status).toBe('SUCCEEDED');
    expect((await lab.records()).map((r) => [r.SetIdentifier, r.Type, r.Weight])).toEqual([['blue', 'CNAME', 100], ['green', 'CNAME', 0]]);
  });

  test('renaming the records after a cutover moves them with the live weights and leaves nothing at the old name', async () => {
    // The lab enforces the provider's route53:ChangeResourceRecordSets conditions as the stack's
    // policies stand at each request: a policy removed from the template still applies to the
    // provider's Update and is gone for the cleanup Delete of the old physical id (AWS CloudFormation
    // User Guide, stack status codes: UPDATE_COMPLETE_CLEANUP_IN_PROGRESS, "Ongoing removal of old
    // resources ... after a successful stack update").
    expect((await lab.runCutover({ version: '2.0.0' })).status).toBe('SUCCEEDED');
    const zone = lab.config.route53!.hostedZoneId;
    const byName = async (name: string) => (await lab.clients.route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zone })))
      .ResourceRecordSets!.filter((r) => r.Name?.replace(/\.$/, '') === name && r.SetIdentifier).map((r) => [r.SetIdentifier, r.Type, r.Weight]);
    lab.recorder.clear();

    await lab.redeploy({ ...DNS, dns: { ...DNS.dns!, recordName: 'shop' } });

    expect(lab.recorder.calls.filter((c) => c.injected === 'denied')).toEqual([]);
    expect(await byName('www.example.com')).toEqual([]);
    expect(await byName('shop.example.com')).toEqual([['blue', 'A', 0], ['green', 'A', 100]]);

    // The next cutover works on the new name.
    expect(lab.config.route53?.recordName).toBe('shop.example.com');
    const next = await lab.runCutover({ version: '3.0.0' });
    expect(next.status).toBe('SUCCEEDED');
    expect(await byName('shop.example.com')).toEqual([['blue', 'A', 100], ['green', 'A', 0]]);
    expect(await byName('www.example.com')).toEqual([]);
  });
});

describe('canary', () => {
  beforeEach(async () => { await lab.reset(DNS_CANARY); }, 60_000);

  test('moves 10% of the answers, watches the canary, then the rest', async () => {
    const { result, steps } = await runObserving(lab, { version: '2.0.0' });

    expect(result.status).toBe('SUCCEEDED');
    expect(steps).toEqual([
      { state: STATE_NAMES.shift(10), weights: { blue: 90, green: 10 } },
      { state: STATE_NAMES.shift(100), weights: { blue: 0, green: 100 } },
    ]);
    expect(mutations(result).filter((m) => m.endsWith(CHANGE))).toHaveLength(2);
    expect((await fleetState(lab)).production).toEqual({ blue: 0, green: 100 });
  });

  test('rolls back at the canary step with one change', async () => {
    const { result, steps } = await runObserving(lab, { version: '2.0.0' }, { state: STATE_NAMES.watch(10), n: 0, alarm: alarmName(lab, 'checkout') });

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe(CutoverErrorName.ROLLED_BACK);
    expect(steps).toEqual([{ state: STATE_NAMES.shift(10), weights: { blue: 90, green: 10 } }]);
    expect(mutations(result).filter((m) => m.startsWith(STATE_NAMES.rollBack))).toEqual([`${STATE_NAMES.rollBack}: ${CHANGE}`]);
    const state = await fleetState(lab);
    expect(state.production).toEqual({ blue: 100, green: 0 });
    expect(state.green.desired).toBe(0);
    expect(state.lock).toBeUndefined();
  });
});

describe('linear', () => {
  beforeEach(async () => { await lab.reset(DNS_LINEAR); }, 60_000);

  test('rolls back at step 2 with one change', async () => {
    const { result, steps } = await runObserving(lab, { version: '2.0.0' }, { state: STATE_NAMES.watch(50), n: 0, alarm: alarmName(lab, 'green-unhealthy') });

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe(CutoverErrorName.ROLLED_BACK);
    expect(steps.map((s) => s.weights)).toEqual([{ blue: 75, green: 25 }, { blue: 50, green: 50 }]);
    expect(mutations(result).filter((m) => m.startsWith(STATE_NAMES.rollBack))).toEqual([`${STATE_NAMES.rollBack}: ${CHANGE}`]);
    const state = await fleetState(lab);
    expect(state.production).toEqual({ blue: 100, green: 0 });
    expect(state.green.desired).toBe(0);
    expect(state.lock).toBeUndefined();
  });
});
