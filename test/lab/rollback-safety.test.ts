import { PutParameterCommand } from '@aws-sdk/client-ssm';
import { Colour, CutoverErrorName } from '../../lib';
import { STATE_NAMES } from '../../lib/cutover-workflow';
import { Lab } from '../../lab/lab';
import { fleetState, LAB_PROPS, mutations } from './lab-fixture';

/** A crash of a handler, as Lambda reports an uncaught exit. */
function crash(): Error {
  const e = new Error('RequestId: lab Error: Runtime exited with error: signal: killed');
  e.name = 'Runtime.ExitError';
  return e;
}

/** Mutating calls other than the rollback execution's own lock and result writes. */
const fleetMutations = (result: Awaited<ReturnType<Lab['runCutover']>>) => mutations(result).filter((m) => !/: (PutItem|DeleteItem|TransactWriteItems)$/.test(m));

// One lab per test file: the handler bundles keep their SDK clients (and endpoint) per process.
let lab: Lab;
beforeAll(async () => { lab = await Lab.start(LAB_PROPS); }, 120_000);
afterAll(async () => { await lab?.stop(); });
beforeEach(async () => { await lab.reset(LAB_PROPS); }, 60_000);

describe('{"action":"rollback"} moves traffic only to the colour a cutover recorded leaving', () => {
  test('after a smoke failure on green whose scale-down failed, a rollback refuses the warm, healthy green and leaves blue untouched', async () => {
    lab.apps.behaviour.green = 'error-status';
    const failed = await lab.runCutover({ version: '2.0.0' }, { crash: (state) => (state === STATE_NAMES.scaleIdleDown ? crash() : undefined) });
    expect(failed.status).toBe('FAILED');
    expect(failed.error).toBe(CutoverErrorName.SMOKE_TEST_FAILED);
    // Green stayed scaled up and healthy: what the rollback must not take for a warm previous colour.
    expect((await lab.group(Colour.GREEN)).instances).toHaveLength(2);

    const result = await lab.runCutover({ action: 'rollback' });

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe(CutoverErrorName.NOTHING_TO_ROLL_BACK);
    expect(result.cause).toContain('no cutover of this fleet has recorded a previous colour');
    expect(result.cause).toContain('deploy it as a normal cutover: start {"version": "..."}');
    expect(result.states).not.toContain(STATE_NAMES.rollbackShift);
    expect(fleetMutations(result)).toEqual([]);
    const state = await fleetState(lab);
    expect(state.production).toEqual({ blue: 100, green: 0 });
    expect(state.blue).toMatchObject({ min: 2, desired: 2 });
    expect(state.blue.instances).toHaveLength(2);
    expect(state.blueRelease.version).toBe('initial');
    expect(state.green.desired).toBe(2);
    expect(state.lock).toBeUndefined();
  });

  test('after a cutover ended right after "Prepare" with green left scaled up (as a stopped execution leaves it), a rollback refuses green', async () => {
    // The lab cannot stop an execution: the cutover crashes after "Prepare" (its cleanup scales green
    // down and releases the lock), then green is scaled up again by hand, as a stopped execution would leave it.
    const stopped = await lab.runCutover({ version: '2.0.0' }, { crash: (state) => (state === STATE_NAMES.checkHealth ? crash() : undefined) });
    expect(stopped.status).toBe('FAILED');
    await lab.setDesired(Colour.GREEN, 2);

    const result = await lab.runCutover({ action: 'rollback' });

    expect(result.error).toBe(CutoverErrorName.NOTHING_TO_ROLL_BACK);
    expect(fleetMutations(result)).toEqual([]);
    expect(await lab.weights()).toEqual({ blue: 100, green: 0 });
  });

  test('after the previous colour was retired, a rollback is refused even once that colour is scaled up again by hand', async () => {
    const cutover = await lab.runCutover({ version: '2.0.0' });
    expect(cutover.status).toBe('SUCCEEDED');
    expect((await lab.group(Colour.BLUE)).desired).toBe(0);
    // Scaled up by hand: healthy again, but no longer the colour the cutover kept warm.
    await lab.setDesired(Colour.BLUE, 2);

    const result = await lab.runCutover({ action: 'rollback' });

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe(CutoverErrorName.NOTHING_TO_ROLL_BACK);
    expect(result.cause).toMatch(/the previous colour \(blue, version initial, image ami-[0-9a-f]+\) is scaled down to zero: it was retired at /);
    expect(result.cause).toContain('{"version": "initial"}');
    expect(fleetMutations(result)).toEqual([]);
    const state = await fleetState(lab);
    expect(state.production).toEqual({ blue: 0, green: 100 });
    expect(state.green.desired).toBe(2);
    expect(state.lock).toBeUndefined();
  });

  test('a rollback is refused when the previous colour\'s version parameter was changed by hand while it was kept warm', async () => {
    let rollback: Awaited<ReturnType<Lab['runCutover']>> | undefined;
    const first = await lab.runCutover({ version: '2.0.0' }, {
      beforeTask: async (state) => {
        if (state !== STATE_NAMES.retire) return;
        await lab.clients.ssm.send(new PutParameterCommand({ Name: lab.config.colours.blue.versionParameterName, Value: 'edited-by-hand', Type: 'String', Overwrite: true }));
        rollback = await lab.runCutover({ action: 'rollback' });
      },
    });

    expect(first.status).toBe('SUCCEEDED');
    expect(rollback?.status).toBe('FAILED');
    expect(rollback?.error).toBe(CutoverErrorName.NOTHING_TO_ROLL_BACK);
    expect(rollback?.cause).toContain('no longer holds the release it was left with: its parameters now say version edited-by-hand');
    expect(rollback?.cause).toContain('{"version": "initial"}');
    expect(fleetMutations(rollback!)).toEqual([]);
    // The refused rollback handed the lock back: the cutover went on and retired blue.
    expect(mutations(rollback!)).toContain(`${STATE_NAMES.releaseAfterFailure}: PutItem`);
    const state = await fleetState(lab);
    expect(state.production).toEqual({ blue: 0, green: 100 });
    expect(state.green.desired).toBe(2);
    expect(state.blue.desired).toBe(0);
    expect(state.lock).toBeUndefined();
  });

  test('a rollback while the previous colour is warm and unchanged still moves traffic back with one call', async () => {
    let rollback: Awaited<ReturnType<Lab['runCutover']>> | undefined;
    await lab.runCutover({ version: '2.0.0' }, {
      beforeTask: async (state) => { if (state === STATE_NAMES.retire) rollback = await lab.runCutover({ action: 'rollback' }); },
    });

    expect(rollback?.status).toBe('SUCCEEDED');
    expect(mutations(rollback!).filter((m) => m.endsWith('ModifyRule'))).toEqual([`${STATE_NAMES.rollbackShift}: ModifyRule`]);
    expect(await lab.weights()).toEqual({ blue: 100, green: 0 });

    // Blue serves again: a second rollback has no colour to go to.
    const again = await lab.runCutover({ action: 'rollback' });
    expect(again.error).toBe(CutoverErrorName.NOTHING_TO_ROLL_BACK);
    expect(fleetMutations(again)).toEqual([]);
    expect(await lab.weights()).toEqual({ blue: 100, green: 0 });
  });
});
