import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { Duration } from 'aws-cdk-lib';
import { ApprovalTimeoutAction, CutoverErrorName, TrafficShift } from '../../lib';
import { STATE_NAMES } from '../../lib/cutover-workflow';
import { ApprovalDecision, APPROVAL_RECORD_KEY_SUFFIX, LOCK_PARTITION_KEY, LockPause } from '../../lib/private/contract';
import { CutoverOptions } from '../../lib/cutover-options';
import { Lab } from '../../lab/lab';
import { alarmName, fleetState, LAB_PROPS, mutations } from './lab-fixture';

/**
 * The approval gate end to end: the synthesized pauses run by aws-local-stepfunctions, the
 * approval-gate handler against moto's DynamoDB, an operator's decision written as the approval
 * record between two polls (from the lab's afterTask hook, as `aws dynamodb put-item` would).
 *
 * Timeouts: the lab runs every Wait at 0 s, so a pause polls back to back and its timeout passes
 * in real time. The timeout pauses use 2 seconds, which validation allows for any user (at least
 * 1 second and at least the poll interval, here the lab's 1 s); the pauses that get a decision
 * use 10 minutes, which they never reach. Nothing of validation is relaxed for the lab.
 */
let lab: Lab;
beforeAll(async () => { lab = await Lab.start(LAB_PROPS); }, 120_000);
afterAll(async () => { await lab?.stop(); });

const BEFORE = STATE_NAMES.approval();
const withApproval = (approval: CutoverOptions['approval'], trafficShift?: TrafficShift) => ({
  cutover: { ...LAB_PROPS.cutover, approval, ...(trafficShift ? { trafficShift } : {}) },
});

/** The lock's `pause` attribute, parsed, and its owner. */
async function pauseOnLock(): Promise<{ owner?: string; pause?: LockPause }> {
  const lock = await lab.lock();
  return { owner: lock?.owner?.S, pause: lock?.pause?.S ? JSON.parse(lock.pause.S) as LockPause : undefined };
}

/** Writes the approval record as an operator would (the item the CLI writes). */
async function decide(executionId: string, pause: string, decision: ApprovalDecision | string): Promise<void> {
  await lab.clients.dynamoDb.send(new PutItemCommand({
    TableName: lab.config.lockTableName,
    Item: {
      [LOCK_PARTITION_KEY]: { S: `${lab.config.fleetId}${APPROVAL_RECORD_KEY_SUFFIX}` },
      executionId: { S: executionId },
      pause: { S: pause },
      decision: { S: decision },
      by: { S: 'alice' },
      at: { S: new Date().toISOString() },
    },
  }));
}

/**
 * Runs a cutover that decides `pause` after its first poll: the hook reads the lock (this
 * execution's, with the pause recorded), then writes the record. `seen` gets the lock as the
 * first poll left it.
 */
async function runDeciding(pause: string, decision: ApprovalDecision, options: { alarm?: string } = {}) {
  const seen: Array<{ owner?: string; pause?: LockPause }> = [];
  const result = await lab.runCutover({ version: '2.0.0' }, {
    afterTask: async (state, n) => {
      if (state !== pause || n !== 0) return;
      const lock = await pauseOnLock();
      seen.push(lock);
      if (options.alarm) await lab.setAlarm(options.alarm, 'ALARM');
      else await decide(lock.owner!, pause, decision);
    },
  });
  return { result, seen };
}

describe('a pause before the shift', () => {
  test('approved: the cutover goes on and succeeds; the lock said it was paused, until the pause ended', async () => {
    await lab.reset(withApproval({ timeout: Duration.minutes(10) }));

    const { result, seen } = await runDeciding(BEFORE, 'approve');

    expect(result.status).toBe('SUCCEEDED');
    expect(seen).toHaveLength(1);
    expect(seen[0].owner).toBe(result.executionId);
    expect(seen[0].pause).toMatchObject({ state: BEFORE, onTimeout: 'roll-back' });
    expect(Date.parse(seen[0].pause!.until) - Date.parse(seen[0].pause!.since)).toBe(600_000);
    // Polled until the decision, then the shift: nothing moved while paused.
    const gate = result.states.indexOf(BEFORE);
    expect(result.states.slice(gate, gate + 5)).toEqual([BEFORE, STATE_NAMES.approvalVerdict(), STATE_NAMES.waitApproval(), BEFORE, STATE_NAMES.approvalVerdict()]);
    expect(result.states.indexOf(STATE_NAMES.shift(100))).toBeGreaterThan(gate);
    expect(mutations(result).filter((m) => m.startsWith(BEFORE))).toEqual([`${BEFORE}: UpdateItem`, `${BEFORE}: UpdateItem`]);
    const state = await fleetState(lab);
    expect(state.production).toEqual({ blue: 0, green: 100 });
    expect(state.lock).toBeUndefined();
  });

  test('rejected: ends ApprovalRejected, no traffic moved, the idle colour back at zero', async () => {
    await lab.reset(withApproval({ timeout: Duration.minutes(10) }));

    const { result } = await runDeciding(BEFORE, 'reject');

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe(CutoverErrorName.APPROVAL_REJECTED);
    expect(result.cause).toContain('rejected before the shift by alice');
    expect(result.states).not.toContain(STATE_NAMES.shift(100));
    expect(result.states).toContain(STATE_NAMES.scaleIdleDown);
    const state = await fleetState(lab);
    expect(state.production).toEqual({ blue: 100, green: 0 });
    expect(state.green.desired).toBe(0);
    expect(state.blue.desired).toBe(2);
    expect(state.lock).toBeUndefined();
  });

  test('a record of another execution is not a decision: the pause times out', async () => {
    await lab.reset(withApproval({ timeout: Duration.seconds(2), onTimeout: ApprovalTimeoutAction.CONTINUE }));

    const result = await lab.runCutover({ version: '2.0.0' }, {
      afterTask: async (state, n) => {
        if (state === BEFORE && n === 0) await decide('arn:aws:states:us-east-1:123456789012:execution:other:run-0', BEFORE, 'reject');
      },
    });

    expect(result.status).toBe('SUCCEEDED');
    expect(result.states.filter((s) => s === BEFORE).length).toBeGreaterThan(2);
  });

  test('timed out with CONTINUE: the cutover goes on and succeeds', async () => {
    await lab.reset(withApproval({ timeout: Duration.seconds(2), onTimeout: ApprovalTimeoutAction.CONTINUE }));

    const result = await lab.runCutover({ version: '2.0.0' });

    expect(result.status).toBe('SUCCEEDED');
    const polls = result.timeline.filter((t) => t.state === BEFORE);
    // The last poll is the first at or after the timeout.
    expect(polls[polls.length - 1].at - polls[0].at).toBeGreaterThanOrEqual(1_900);
    const state = await fleetState(lab);
    expect(state.production).toEqual({ blue: 0, green: 100 });
    expect(state.lock).toBeUndefined();
  }, 30_000);

  test('timed out with ROLL_BACK (the default): ends ApprovalTimedOut, traffic on the previous colour, the idle colour at zero', async () => {
    await lab.reset(withApproval({ timeout: Duration.seconds(2) }));

    const result = await lab.runCutover({ version: '2.0.0' });

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe(CutoverErrorName.APPROVAL_TIMED_OUT);
    expect(result.cause).toContain('within 2 seconds');
    const state = await fleetState(lab);
    expect(state.production).toEqual({ blue: 100, green: 0 });
    expect(state.green.desired).toBe(0);
    expect(state.blue.desired).toBe(2);
    expect(state.lock).toBeUndefined();
  }, 30_000);
});

describe('a pause between canary steps', () => {
  const CANARY = TrafficShift.canary({ percent: 10, bake: Duration.seconds(1) });
  const AT_10 = STATE_NAMES.approval(10);

  test('rejected at 10%: traffic 100% back on the previous colour, the new colour at zero, RolledBack', async () => {
    await lab.reset(withApproval({ timeout: Duration.minutes(10), beforeShift: false, betweenSteps: true }, CANARY));

    const { result, seen } = await runDeciding(AT_10, 'reject');

    expect(seen[0].pause).toMatchObject({ state: AT_10 });
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe(CutoverErrorName.ROLLED_BACK);
    expect(result.cause).toContain(CutoverErrorName.APPROVAL_REJECTED);
    expect(result.states).not.toContain(BEFORE);
    expect(result.states).not.toContain(STATE_NAMES.shift(100));
    expect(mutations(result).filter((m) => m.startsWith(STATE_NAMES.rollBack))).toEqual([`${STATE_NAMES.rollBack}: ModifyRule`]);
    const state = await fleetState(lab);
    expect(state.production).toEqual({ blue: 100, green: 0 });
    expect(state.green.desired).toBe(0);
    expect(state.lock).toBeUndefined();
  });

  test('approved at 10%: the rest of the traffic follows', async () => {
    await lab.reset(withApproval({ timeout: Duration.minutes(10), beforeShift: false, betweenSteps: true }, CANARY));

    const { result } = await runDeciding(AT_10, 'approve');

    expect(result.status).toBe('SUCCEEDED');
    expect(result.states.indexOf(STATE_NAMES.shift(100))).toBeGreaterThan(result.states.indexOf(AT_10));
    expect((await fleetState(lab)).production).toEqual({ blue: 0, green: 100 });
  });

  test('an alarm while paused at 10% moves traffic back, as during the step', async () => {
    await lab.reset(withApproval({ timeout: Duration.minutes(10), beforeShift: false, betweenSteps: true }, CANARY));

    const { result } = await runDeciding(AT_10, 'approve', { alarm: alarmName(lab, 'checkout') });

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe(CutoverErrorName.ROLLED_BACK);
    expect(result.cause).toContain(alarmName(lab, 'checkout'));
    const state = await fleetState(lab);
    expect(state.production).toEqual({ blue: 100, green: 0 });
    expect(state.green.desired).toBe(0);
    expect(state.lock).toBeUndefined();
  });
});
