import { Duration } from 'aws-cdk-lib';
import { CutoverErrorName, TrafficShift } from '../../lib';
import { STATE_NAMES } from '../../lib/cutover-workflow';
import { Lab } from '../../lab/lab';
import { alarmName, fleetState, LAB_PROPS, mutations, runObserving } from './lab-fixture';

/** Canary and linear shifts in the lab, with the production weights observed after every step. */
let lab: Lab;
beforeAll(async () => { lab = await Lab.start(LAB_PROPS); }, 120_000);
afterAll(async () => { await lab?.stop(); });

const CANARY = { cutover: { ...LAB_PROPS.cutover, trafficShift: TrafficShift.canary({ percent: 10, bake: Duration.seconds(1) }) } };
const LINEAR = { cutover: { ...LAB_PROPS.cutover, trafficShift: TrafficShift.linear({ percentPerStep: 25, stepInterval: Duration.seconds(1) }) } };

describe('canary', () => {
  beforeEach(async () => { await lab.reset(CANARY); }, 60_000);

  test('moves 10%, watches alarms for the canary bake, then moves the rest', async () => {
    const { result, steps } = await runObserving(lab, { version: '2.0.0' });

    expect(result.status).toBe('SUCCEEDED');
    expect(steps).toEqual([
      { state: STATE_NAMES.shift(10), weights: { blue: 90, green: 10 } },
      { state: STATE_NAMES.shift(100), weights: { blue: 0, green: 100 } },
    ]);
    expect(result.states.filter((s) => s === STATE_NAMES.watch(10)).length).toBeGreaterThan(1);
    const state = await fleetState(lab);
    expect(state.production).toEqual({ blue: 0, green: 100 });
    expect(state.blue.desired).toBe(0);
    expect(state.lock).toBeUndefined();
  });

  test('rolls back at the canary step with one call when an alarm fires', async () => {
    const { result, steps } = await runObserving(lab, { version: '2.0.0' }, { state: STATE_NAMES.watch(10), n: 1, alarm: alarmName(lab, 'green-5xx') });

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe(CutoverErrorName.ROLLED_BACK);
    expect(steps).toEqual([{ state: STATE_NAMES.shift(10), weights: { blue: 90, green: 10 } }]);
    expect(mutations(result).filter((m) => m.startsWith(STATE_NAMES.rollBack))).toEqual([`${STATE_NAMES.rollBack}: ModifyRule`]);
    const state = await fleetState(lab);
    expect(state.production).toEqual({ blue: 100, green: 0 });
    expect(state.green.desired).toBe(0);
    expect(state.blue.desired).toBe(2);
    expect(state.lock).toBeUndefined();
  });
});

describe('linear', () => {
  beforeEach(async () => { await lab.reset(LINEAR); }, 60_000);

  test('moves 25% at a time, watching alarms between steps', async () => {
    const { result, steps } = await runObserving(lab, { version: '2.0.0' });

    expect(result.status).toBe('SUCCEEDED');
    expect(steps.map((s) => s.weights.green)).toEqual([25, 50, 75, 100]);
    expect(steps.map((s) => s.weights.blue)).toEqual([75, 50, 25, 0]);
    expect((await fleetState(lab)).production).toEqual({ blue: 0, green: 100 });
  });

  test('rolls back at step 2 with one call when the user alarm fires', async () => {
    const { result, steps } = await runObserving(lab, { version: '2.0.0' }, { state: STATE_NAMES.watch(50), n: 0, alarm: alarmName(lab, 'checkout') });

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe(CutoverErrorName.ROLLED_BACK);
    expect(result.cause).toContain(alarmName(lab, 'checkout'));
    expect(steps.map((s) => s.weights.green)).toEqual([25, 50]);
    expect(mutations(result).filter((m) => m.startsWith(STATE_NAMES.rollBack))).toEqual([`${STATE_NAMES.rollBack}: ModifyRule`]);
    const state = await fleetState(lab);
    expect(state.production).toEqual({ blue: 100, green: 0 });
    expect(state.green.desired).toBe(0);
  });
});
