import { Colour, CutoverErrorName } from '../../lib';
import { STATE_NAMES } from '../../lib/cutover-workflow';
import { ReleaseHistoryEntry } from '../../lib/private/contract';
import { readHistory } from '../../lambda/common/history';
import { Lab } from '../../lab/lab';
import { alarmName, LAB_PROPS } from './lab-fixture';

// One lab per test file: the handler bundles keep their SDK clients (and endpoint) per process.
let lab: Lab;
beforeAll(async () => { lab = await Lab.start(LAB_PROPS); }, 120_000);
afterAll(async () => { await lab?.stop(); });

const history = (limit = 10) => readHistory(lab.clients.dynamoDb, lab.config.lockTableName, lab.config.fleetId, limit);
const stageNames = (entry: ReleaseHistoryEntry) => entry.stages.map((s) => s.name);

describe('the release history, kept by the workflow in the lock table', () => {
  beforeAll(async () => { await lab.reset(LAB_PROPS); }, 60_000);

  test('a success, a rollback by an alarm during the bake and a failed smoke test: three entries, newest first, saying what happened', async () => {
    const ok = await lab.runCutover({ version: '2.0.0', startedBy: 'alice@example.com' });
    expect(ok.status).toBe('SUCCEEDED');

    // Green serves now; the next cutover deploys to blue. The fleet's own alarm fires at the first bake poll.
    const checkout = alarmName(lab, 'checkout');
    const rolledBack = await lab.runCutover({ version: '3.0.0', startedBy: 'bob' }, {
      beforeTask: async (state, n) => { if (state === STATE_NAMES.bake && n === 0) await lab.setAlarm(checkout, 'ALARM'); },
    });
    expect(rolledBack).toMatchObject({ status: 'FAILED', error: CutoverErrorName.ROLLED_BACK });
    await lab.setAlarm(checkout, 'OK');

    lab.apps.behaviour.blue = 'error-status';
    const failed = await lab.runCutover({ version: '4.0.0' });
    expect(failed).toMatchObject({ status: 'FAILED', error: CutoverErrorName.SMOKE_TEST_FAILED });
    lab.apps.behaviour.blue = 'ok';

    const entries = await history(10);

    expect(entries.map((e) => [e.executionId, e.outcome])).toEqual([
      [failed.executionId, 'failed'], [rolledBack.executionId, 'rolled-back'], [ok.executionId, 'succeeded'],
    ]);
    const [third, second, first] = entries;
    for (const e of entries) {
      expect(e.fleetId).toBe(lab.config.fleetId);
      expect(e.action).toBe('deploy');
      expect(Date.parse(e.startedAt!)).toBeLessThanOrEqual(Date.parse(e.endedAt));
      expect(e.stages[0].name).toBe(STATE_NAMES.start);
      for (const s of e.stages) expect(s.seconds).toBeGreaterThanOrEqual(0);
    }
    expect(Date.parse(first.endedAt)).toBeLessThan(Date.parse(second.startedAt!));
    expect(Date.parse(second.endedAt)).toBeLessThan(Date.parse(third.startedAt!));

    // The success: blue to green, both releases, who started it, no failure.
    expect(first).toMatchObject({
      from: Colour.BLUE, to: Colour.GREEN, live: Colour.GREEN, startedBy: 'alice@example.com',
      input: JSON.stringify({ version: '2.0.0', startedBy: 'alice@example.com' }),
    });
    expect(first.releases.green?.version).toBe('2.0.0');
    expect(first.releases.blue?.version).toBe('initial');
    for (const absent of ['error', 'cause', 'rollbackReason', 'alarm', 'timeToDetectSeconds', 'timeToRevertSeconds'] as const) expect(first[absent]).toBeUndefined();
    expect(stageNames(first)).toEqual(expect.arrayContaining([STATE_NAMES.prepare, STATE_NAMES.smoke, STATE_NAMES.shift(100), STATE_NAMES.bake, STATE_NAMES.retire]));

    // The rollback: green to blue, moved back to green because of the checkout alarm, with its timings.
    expect(second).toMatchObject({
      from: Colour.GREEN, to: Colour.BLUE, live: Colour.GREEN, startedBy: 'bob', error: CutoverErrorName.ROLLED_BACK,
      rollbackReason: checkout, alarm: checkout,
    });
    expect(second.releases.blue?.version).toBe('3.0.0');
    expect(second.releases.green?.version).toBe('2.0.0');
    expect(second.cause).toBe(rolledBack.cause);
    expect(second.timeToRevertSeconds).toBeGreaterThanOrEqual(0);
    expect(second.timeToDetectSeconds).toBeGreaterThanOrEqual(0);
    expect(stageNames(second)).toEqual(expect.arrayContaining([STATE_NAMES.shift(100), STATE_NAMES.bake, STATE_NAMES.rollBack, STATE_NAMES.scaleFailedDown]));

    // The failed smoke test: no traffic moved, the idle colour scaled back, the error and cause as the execution reported them.
    expect(third).toMatchObject({ from: Colour.GREEN, to: Colour.BLUE, live: Colour.GREEN, error: CutoverErrorName.SMOKE_TEST_FAILED, cause: failed.cause });
    expect(third.startedBy).toBeUndefined();
    expect(third.rollbackReason).toBeUndefined();
    expect(third.timeToRevertSeconds).toBeUndefined();
    // A task that fails records no timing of its own (its handler threw): the stages are those that ended.
    expect(stageNames(third)).toEqual([STATE_NAMES.start, STATE_NAMES.findLive, STATE_NAMES.prepare, STATE_NAMES.checkHealth, STATE_NAMES.scaleIdleDown]);
    expect(stageNames(third)).not.toContain(STATE_NAMES.shift(100));

    // A smaller limit: the newest ones.
    expect((await history(2)).map((e) => e.executionId)).toEqual([failed.executionId, rolledBack.executionId]);
  }, 240_000);

  test('an execution stopped from outside is recorded by the recovery handler as stopped, newest first', async () => {
    const stopped = await lab.runCutover({ version: '5.0.0', startedBy: 'carol' }, { stop: (state) => (state === STATE_NAMES.bake ? 'ABORTED' : undefined) });
    expect(stopped.status).toBe('ABORTED');

    const [latest, ...older] = await history(10);

    expect(older).toHaveLength(3);
    expect(latest).toMatchObject({
      executionId: stopped.executionId, outcome: 'stopped', error: 'ABORTED', startedBy: 'carol', live: Colour.GREEN, from: Colour.GREEN, to: Colour.BLUE,
      input: JSON.stringify({ version: '5.0.0', startedBy: 'carol' }), stages: [],
    });
    expect(latest.cause).toContain('The recovery handler restored the fleet');
    expect(Date.parse(latest.startedAt!)).toBeLessThanOrEqual(Date.parse(latest.endedAt));
  }, 240_000);
});
