import { PutParameterCommand } from '@aws-sdk/client-ssm';
import { Duration } from 'aws-cdk-lib';
import { Colour, CutoverErrorName } from '../../lib';
import { STATE_NAMES } from '../../lib/cutover-workflow';
import { Lab } from '../../lab/lab';
import { alarmName, fleetState, LAB_PROPS, mutations } from './lab-fixture';

/** A crash of a handler, as Lambda reports an uncaught exit. */
function crash(): Error {
  const e = new Error('RequestId: lab Error: Runtime exited with error: signal: killed');
  e.name = 'Runtime.ExitError';
  return e;
}

// One lab per test file: the handler bundles keep their SDK clients (and endpoint) per process.
let lab: Lab;
beforeAll(async () => { lab = await Lab.start(LAB_PROPS); }, 120_000);
afterAll(async () => { await lab?.stop(); });

describe('cutovers that fail before traffic moves leave the live colour untouched', () => {
  beforeEach(async () => { await lab.reset(LAB_PROPS); }, 60_000);

  async function expectUntouched(): Promise<void> {
    const state = await fleetState(lab);
    expect(state.production).toEqual({ blue: 100, green: 0 });
    expect(state.blue).toMatchObject({ min: 2, desired: 2 });
    expect(state.blue.instances).toHaveLength(2);
    expect(state.blueRelease.version).toBe('initial');
    expect(state.green).toMatchObject({ min: 0, desired: 0, instances: [] });
    expect(state.lock).toBeUndefined();
  }

  test.each([
    ['an unknown field', { colour: 'green' }, "unknown field 'colour'"],
    ['a malformed image id', { imageId: 'ami-123' }, "imageId 'ami-123'"],
    ['a malformed version', { version: '1.0 beta' }, 'version'],
    ['an unknown action', { action: 'destroy' }, "action 'destroy'"],
    ['a value of the wrong type', { version: 142 }, 'version'],
    ['input that is not an object', ['1.4.2'], 'not a JSON object'],
  ])('rejects %s with InvalidInput and makes no mutating call', async (_name, input, message) => {
    const result = await lab.runCutover(input);

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe(CutoverErrorName.INVALID_INPUT);
    expect(result.cause).toContain(message);
    expect(result.states).toEqual([STATE_NAMES.start, STATE_NAMES.rejected]);
    expect(mutations(result)).toEqual([]);
    expect(result.calls).toEqual([]);
    await expectUntouched();
  });

  test('an idle colour that never becomes healthy times out, goes back to zero and fails with IdleNotHealthy', async () => {
    const result = await lab.runCutover({ version: '2.0.0' }, {
      afterTask: async (state) => { if (state === STATE_NAMES.prepare) await lab.stopInstances(Colour.GREEN); },
    });

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe(CutoverErrorName.IDLE_NOT_HEALTHY);
    expect(result.cause).toMatch(/0 of 2 instances healthy in the green target group after 2 s/);
    expect(result.states.slice(-3)).toEqual([STATE_NAMES.scaleIdleDown, STATE_NAMES.releaseAfterFailure, STATE_NAMES.failed]);
    expect(mutations(result).filter((m) => m.endsWith('ModifyRule') && !m.startsWith(STATE_NAMES.prepare))).toEqual([]);
    await expectUntouched();
  });

  test.each([
    ['status', 'error-status' as const, /expected status 200, got 500/],
    ['body', 'wrong-body' as const, /version/],
    ['latency', 'slow' as const, /latency|ms/],
  ])('a smoke failure by %s moves no production traffic and fails with SmokeTestFailed', async (_by, behaviour, cause) => {
    lab.apps.behaviour.green = behaviour;
    const result = await lab.runCutover({ version: '2.0.0' });

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe(CutoverErrorName.SMOKE_TEST_FAILED);
    expect(result.cause).toMatch(cause);
    expect(result.cause).toContain('/health');
    expect(result.states).not.toContain(STATE_NAMES.shift(100));
    await expectUntouched();
  });

  test('a handler crash before the shift scales the idle colour back and releases the lock', async () => {
    const result = await lab.runCutover({ version: '2.0.0' }, { crash: (state) => (state === STATE_NAMES.smoke ? crash() : undefined) });

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('Runtime.ExitError');
    await expectUntouched();
  });

  test('a rollback when the previous colour is already scaled down fails with NothingToRollBack and says what to do', async () => {
    const cutover = await lab.runCutover({ version: '2.0.0' });
    expect(cutover.status).toBe('SUCCEEDED');

    const result = await lab.runCutover({ action: 'rollback' });

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe(CutoverErrorName.NOTHING_TO_ROLL_BACK);
    expect(result.cause).toContain('scaled down to zero');
    expect(result.cause).toMatch(/"version"|"imageId"/);
    expect(mutations(result).filter((m) => !/: (PutItem|DeleteItem|TransactWriteItems)$/.test(m))).toEqual([]);
    const state = await fleetState(lab);
    expect(state.production).toEqual({ blue: 0, green: 100 });
    expect(state.green.desired).toBe(2);
    expect(state.lock).toBeUndefined();
  });

  test('a production rule split by hand stops the cutover with FleetStateConflict and changes nothing', async () => {
    await lab.setProductionWeights({ blue: 50, green: 50 });
    const result = await lab.runCutover({ version: '2.0.0' });

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe(CutoverErrorName.FLEET_STATE_CONFLICT);
    expect(result.cause).toContain('blue 50%, green 50%');
    expect(mutations(result).filter((m) => !/: (PutItem|DeleteItem|TransactWriteItems)$/.test(m))).toEqual([]);
    expect(await lab.weights()).toEqual({ blue: 50, green: 50 });
    expect(await lab.lock()).toBeUndefined();
  });

  test('a live version parameter set by hand to a shell command stops {} with FleetStateConflict before any mutation', async () => {
    const versionParameter = lab.config.colours.blue.versionParameterName;
    await lab.clients.ssm.send(new PutParameterCommand({ Name: versionParameter, Value: '1.0;curl x|sh', Type: 'String', Overwrite: true }));
    const before = await fleetState(lab);

    const result = await lab.runCutover({});

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe(CutoverErrorName.FLEET_STATE_CONFLICT);
    expect(result.cause).toContain(`${versionParameter} holds "1.0;curl x|sh", which is not a version`);
    expect(result.cause).toContain('put-parameter');
    // Only the lock's own writes: taking it and letting it go.
    expect(mutations(result).filter((m) => !/: (PutItem|DeleteItem|TransactWriteItems)$/.test(m))).toEqual([]);
    const after = await fleetState(lab);
    expect(after).toEqual(before);
    expect(after.greenRelease.version).toBe('initial');
    expect(after.production).toEqual({ blue: 100, green: 0 });
    expect(after.green.desired).toBe(0);
  });
});

describe('cutovers that fail after traffic moved roll back', () => {
  const props = { cutover: { ...LAB_PROPS.cutover, bakeTime: Duration.minutes(5) } };
  beforeEach(async () => { await lab.reset(props); }, 60_000);

  async function expectRolledBack(): Promise<void> {
    const state = await fleetState(lab);
    expect(state.production).toEqual({ blue: 100, green: 0 });
    expect(state.blue).toMatchObject({ min: 2, desired: 2 });
    expect(state.green).toMatchObject({ min: 0, desired: 0, instances: [] });
    expect(state.lock).toBeUndefined();
  }

  test.each([
    ['a built-in alarm (green 5XX)', 'green-5xx' as const],
    ['a user alarm (checkout errors)', 'checkout' as const],
  ])('rolls back when %s fires during bake, within one poll and with one call', async (_name, which) => {
    const name = alarmName(lab, which);
    const result = await lab.runCutover({ version: '2.0.0' }, {
      beforeTask: async (state, n) => { if (state === STATE_NAMES.bake && n === 2) await lab.setAlarm(name, 'ALARM'); },
    });

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe(CutoverErrorName.ROLLED_BACK);
    expect(result.cause).toContain(name);
    expect(result.cause).toMatch(/traffic back on blue/);
    // The poll that saw the alarm is followed straight by the revert.
    const bakePolls = result.states.filter((s) => s === STATE_NAMES.bake).length;
    expect(bakePolls).toBe(3);
    const afterLastPoll = result.states.slice(result.states.lastIndexOf(STATE_NAMES.bake) + 1);
    expect(afterLastPoll.slice(0, 2)).toEqual([STATE_NAMES.bakeVerdict, STATE_NAMES.rollBack]);
    const revert = mutations(result).filter((m) => m.startsWith(STATE_NAMES.rollBack));
    expect(revert).toEqual([`${STATE_NAMES.rollBack}: ModifyRule`]);
    await expectRolledBack();
  });

  test('rolls back when the new colour\'s instances stop during bake (no alarm sees it), at the first poll after the stop', async () => {
    const result = await lab.runCutover({ version: '2.0.0' }, {
      afterTask: async (state, n) => { if (state === STATE_NAMES.bake && n === 0) await lab.stopInstances(Colour.GREEN); },
    });

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe(CutoverErrorName.ROLLED_BACK);
    expect(result.cause).toContain(CutoverErrorName.NEW_COLOUR_UNHEALTHY);
    expect(result.cause).toMatch(/0 of 2 instances healthy in the green target group \(i-\w+: unused Target\.InvalidState, i-\w+: unused Target\.InvalidState\)/);
    expect(result.cause).toMatch(/traffic back on blue/);
    // The first poll found green healthy; the one after the stop moved traffic back.
    expect(result.states.filter((s) => s === STATE_NAMES.bake)).toHaveLength(2);
    const afterLastPoll = result.states.slice(result.states.lastIndexOf(STATE_NAMES.bake) + 1);
    expect(afterLastPoll[0]).toBe(STATE_NAMES.rollBack);
    expect(result.states).not.toContain(STATE_NAMES.retire);
    expect(mutations(result).filter((m) => m.startsWith(STATE_NAMES.rollBack))).toEqual([`${STATE_NAMES.rollBack}: ModifyRule`]);
    await expectRolledBack();
    expect((await fleetState(lab)).blue.instances).toHaveLength(2);
  });

  test('a handler crash after the shift restores traffic and releases the lock', async () => {
    const result = await lab.runCutover({ version: '2.0.0' }, { crash: (state, n) => (state === STATE_NAMES.bake && n === 1 ? crash() : undefined) });

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe(CutoverErrorName.ROLLED_BACK);
    expect(result.cause).toContain('Runtime.ExitError');
    await expectRolledBack();
  });
});

describe('before the previous colour is retired, the new colour\'s health is checked once more', () => {
  beforeEach(async () => { await lab.reset(LAB_PROPS); }, 60_000);

  test('a new colour that stopped during the warm period is rolled back from, and the previous colour is never scaled down', async () => {
    const result = await lab.runCutover({ version: '2.0.0' }, {
      afterTask: async (state) => { if (state === STATE_NAMES.keepWarm) await lab.stopInstances(Colour.GREEN); },
    });

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe(CutoverErrorName.ROLLED_BACK);
    expect(result.cause).toContain(CutoverErrorName.NEW_COLOUR_UNHEALTHY);
    expect(result.cause).toMatch(/no longer healthy after the warm period: 0 of 2 instances healthy in the green target group \(i-\w+: unused Target\.InvalidState/);
    expect(result.cause).toMatch(/traffic back on blue/);
    const afterRetire = result.states.slice(result.states.indexOf(STATE_NAMES.retire));
    expect(afterRetire.slice(0, 2)).toEqual([STATE_NAMES.retire, STATE_NAMES.rollBack]);
    // The retire task looked at green and changed nothing: not even the lock.
    expect(mutations(result).filter((m) => m.startsWith(STATE_NAMES.retire))).toEqual([]);
    const state = await fleetState(lab);
    expect(state.production).toEqual({ blue: 100, green: 0 });
    expect(state.blue).toMatchObject({ min: 2, desired: 2 });
    expect(state.blue.instances).toHaveLength(2);
    expect(state.green).toMatchObject({ min: 0, desired: 0, instances: [] });
    expect(state.lock).toBeUndefined();
  });
});

describe('when the lock cannot be released, the execution still ends with a described error, and the recovery handler releases the lock', () => {
  /** The recovery handler (EventBridge rule on the FAILED status) found the lock held and released it, with traffic where `live` is. */
  const recovered = (result: Awaited<ReturnType<Lab['runCutover']>>, live: Colour, trafficMoved = false) => {
    expect(result.statusEvent?.invocations.map((i) => i.output?.outcome)).toEqual(['recovered']);
    expect(result.statusEvent?.invocations[0].output.report).toMatchObject({ live, trafficMoved });
  };
  beforeEach(async () => { await lab.reset(LAB_PROPS); }, 60_000);
  const crashAt = (...names: string[]) => (state: string) => (names.includes(state) ? crash() : undefined);
  /** DynamoDB refuses every attempt the handler's client makes to delete the lock (5, with backoff). */
  const throttleLockDelete = (name: string) => async (state: string) => { if (state === name) lab.recorder.throttle('dynamodb', 'DeleteItem', 5); };
  const HELD = 'is released when this execution ends: by the recovery handler';

  test('DynamoDB throttled after a success: LockReleaseFailed says green serves, the lock is still held', async () => {
    const result = await lab.runCutover({ version: '2.0.0' }, { beforeTask: throttleLockDelete(STATE_NAMES.release) });

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe(CutoverErrorName.LOCK_RELEASE_FAILED);
    expect(result.cause).toMatch(/^The cutover succeeded: green serves all traffic\. Then releasing the lock failed \(ThrottlingException: Rate exceeded \(injected by the lab\)\)\./);
    expect(result.cause).toContain(`of the table ${lab.config.lockTableName}) is released when this execution ends`);
    expect(result.calls.filter((c) => c.action === 'DeleteItem' && c.injected)).toHaveLength(5);
    const state = await fleetState(lab);
    expect(state.production).toEqual({ blue: 0, green: 100 });
    expect(state.blue.desired).toBe(0);
    recovered(result, Colour.GREEN);
    expect(state.lock).toBeUndefined();
  });

  test('DynamoDB throttled after a rollback: still RolledBack, the cause names the alarm and the held lock', async () => {
    const alarm = alarmName(lab, 'green-5xx');
    const result = await lab.runCutover({ version: '2.0.0' }, {
      beforeTask: async (state, n) => {
        if (state === STATE_NAMES.bake && n === 0) await lab.setAlarm(alarm, 'ALARM');
        await throttleLockDelete(STATE_NAMES.releaseAfterRollback)(state);
      },
    });

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe(CutoverErrorName.ROLLED_BACK);
    expect(result.cause).toContain(alarm);
    expect(result.cause).toMatch(/green scaled to zero\. Releasing the lock failed too \(ThrottlingException/);
    expect(result.cause).toContain(HELD);
    const state = await fleetState(lab);
    expect(state.production).toEqual({ blue: 100, green: 0 });
    expect(state.lock).toBeUndefined();
  });

  test('the release-lock task crashing after a success: LockReleaseFailed says what serves', async () => {
    const result = await lab.runCutover({ version: '2.0.0' }, { crash: crashAt(STATE_NAMES.release) });

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe(CutoverErrorName.LOCK_RELEASE_FAILED);
    expect(result.cause).toMatch(/^The cutover succeeded: green serves all traffic\. Then the release-lock task failed: RequestId: lab Error: Runtime exited/);
    expect(result.cause).toContain(HELD);
    const state = await fleetState(lab);
    expect(state.production).toEqual({ blue: 0, green: 100 });
    expect(state.lock).toBeUndefined();
  });

  test('the release-lock task crashing after a failure before traffic moved: LockReleaseFailed, the live colour untouched', async () => {
    lab.apps.behaviour.green = 'error-status';
    const result = await lab.runCutover({ version: '2.0.0' }, { crash: crashAt(STATE_NAMES.releaseAfterFailure) });

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe(CutoverErrorName.LOCK_RELEASE_FAILED);
    expect(result.cause).toMatch(/^The cutover failed \(the execution history shows the first error\), then the release-lock task failed: /);
    const state = await fleetState(lab);
    expect(state.production).toEqual({ blue: 100, green: 0 });
    expect(state.green.desired).toBe(0);
    expect(state.lock).toBeUndefined();
  });

  test('the release-lock task crashing after a rollback: still RolledBack, the cause says the lock is held', async () => {
    const result = await lab.runCutover({ version: '2.0.0' }, {
      crash: crashAt(STATE_NAMES.releaseAfterRollback),
      beforeTask: async (state, n) => { if (state === STATE_NAMES.bake && n === 0) await lab.setAlarm(alarmName(lab, 'green-5xx'), 'ALARM'); },
    });

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe(CutoverErrorName.ROLLED_BACK);
    expect(result.cause).toMatch(/^Traffic was moved back to the previous colour \(the execution history shows why\), then the release-lock task failed: /);
    expect(result.cause).toContain(HELD);
    const state = await fleetState(lab);
    expect(state.production).toEqual({ blue: 100, green: 0 });
    expect(state.green.desired).toBe(0);
    expect(state.lock).toBeUndefined();
  });

  test('moving traffic back and the release-lock task both crashing: RollbackFailed says traffic may still reach green', async () => {
    const result = await lab.runCutover({ version: '2.0.0' }, {
      crash: crashAt(STATE_NAMES.rollBack, STATE_NAMES.releaseAfterRollback),
      beforeTask: async (state, n) => { if (state === STATE_NAMES.bake && n === 0) await lab.setAlarm(alarmName(lab, 'green-5xx'), 'ALARM'); },
    });

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe(CutoverErrorName.ROLLBACK_FAILED);
    expect(result.cause).toMatch(/^Moving traffic back failed \(Runtime\.ExitError: RequestId: lab Error: Runtime exited with error: signal: killed\), so traffic may still reach the new colour/);
    expect(result.states.filter((s) => s === STATE_NAMES.rollBack)).toHaveLength(1);
    // The recovery handler moved traffic back to blue with one call and scaled green to zero.
    recovered(result, Colour.BLUE, true);
    const state = await fleetState(lab);
    expect(state.production).toEqual({ blue: 100, green: 0 });
    expect(state.green.desired).toBe(0);
    expect(state.lock).toBeUndefined();
  });
});
