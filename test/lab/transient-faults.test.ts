import { Duration } from 'aws-cdk-lib';
import { CLIENT_CONFIG } from '../../lambda/common/clients';
import { CutoverErrorName } from '../../lib';
import { STATE_NAMES } from '../../lib/cutover-workflow';
import { TRANSIENT_RETRY } from '../../lib/private/contract';
import { ExecutionResult, Lab } from '../../lab/lab';
import { fleetState, LAB_PROPS, mutations } from './lab-fixture';

/**
 * AWS failing inside (500 InternalFailure, 503 ServiceUnavailable) for longer than the SDK
 * client's own attempts: the handler's task fails with the server fault's name, and the state
 * machine's transient retrier runs it again. A burst that ends within the task's retries never
 * rolls a healthy release back; one that outlasts them fails safely.
 */
const SDK_ATTEMPTS = CLIENT_CONFIG.maxAttempts;
/** Two failed invocations (every SDK attempt refused), then the first two attempts of the third. */
const BURST = 2 * SDK_ATTEMPTS + 2;

let lab: Lab;
beforeAll(async () => { lab = await Lab.start(LAB_PROPS); }, 120_000);
afterAll(async () => { await lab?.stop(); });

const timings: string[] = [];
afterAll(() => {
  // eslint-disable-next-line no-console
  if (timings.length) console.log(`Lab timings (waits and retry intervals at 0; the SDK's own backoff is real):\n${timings.join('\n')}`);
});

function record(name: string, result: ExecutionResult, action: string): void {
  timings.push(`  ${name}: ${result.status} in ${result.durationMs} ms, ${result.calls.filter((c) => c.action === action && c.injected).length} injected ${action} faults`);
}

describe('5xx bursts that outlast the SDK client but not the task retries', () => {
  beforeEach(async () => { await lab.reset(LAB_PROPS); }, 60_000);

  test('DescribeAlarms failing during the bake: the cutover succeeds, traffic stays on green', async () => {
    expect(BURST).toBeGreaterThan(SDK_ATTEMPTS);
    expect(BURST).toBeLessThan((1 + TRANSIENT_RETRY.maxAttempts) * SDK_ATTEMPTS);
    const result = await lab.runCutover({ version: '2.0.0' }, {
      beforeTask: (state, n) => { if (state === STATE_NAMES.bake && n === 0) lab.recorder.serverError('monitoring', 'DescribeAlarms', BURST, 'InternalFailure'); },
    });
    record('DescribeAlarms 500 burst in the bake', result, 'DescribeAlarms');

    expect(result.status).toBe('SUCCEEDED');
    expect(result.states).not.toContain(STATE_NAMES.rollBack);
    expect(lab.recorder.injected('DescribeAlarms')).toHaveLength(BURST);
    // Two invocations failed with every SDK attempt refused; the third read the alarms.
    const reads = result.calls.filter((c) => c.stage === STATE_NAMES.bake && c.action === 'DescribeAlarms');
    expect(reads.filter((c) => !c.injected).length).toBeGreaterThanOrEqual(1);
    expect(reads.length).toBe(BURST + reads.filter((c) => !c.injected).length);
    const state = await fleetState(lab);
    expect(state.production).toEqual({ blue: 0, green: 100 });
    expect(state.blue).toMatchObject({ desired: 0 });
    expect(state.lock).toBeUndefined();
  });

  test('UpdateAutoScalingGroup failing while the previous colour is scaled to zero: the cutover succeeds and releases the lock', async () => {
    const result = await lab.runCutover({ version: '2.0.0' }, {
      beforeTask: (state, n) => { if (state === STATE_NAMES.retire && n === 0) lab.recorder.serverError('autoscaling', 'UpdateAutoScalingGroup', BURST, 'ServiceUnavailable'); },
    });
    record('UpdateAutoScalingGroup 503 burst in the retire', result, 'UpdateAutoScalingGroup');

    expect(result.status).toBe('SUCCEEDED');
    expect(result.states).not.toContain(STATE_NAMES.releaseAfterFailure);
    expect(lab.recorder.injected('UpdateAutoScalingGroup')).toHaveLength(BURST);
    // The handler compares before it changes: blue went to zero with one call that got through.
    expect(mutations(result).filter((m) => m === `${STATE_NAMES.retire}: UpdateAutoScalingGroup`)).toHaveLength(1);
    const state = await fleetState(lab);
    expect(state.production).toEqual({ blue: 0, green: 100 });
    expect(state.blue).toMatchObject({ min: 0, desired: 0, instances: [] });
    expect(state.green).toMatchObject({ min: 2, desired: 2 });
    expect(state.lock).toBeUndefined();
  });

  test('ModifyRule failing at the shift: the cutover succeeds with all traffic on green', async () => {
    const result = await lab.runCutover({ version: '2.0.0' }, {
      beforeTask: (state, n) => { if (state === STATE_NAMES.shift(100) && n === 0) lab.recorder.serverError('elasticloadbalancing', 'ModifyRule', BURST, 'InternalFailure'); },
    });
    record('ModifyRule 500 burst at the shift', result, 'ModifyRule');

    expect(result.status).toBe('SUCCEEDED');
    expect(result.states).not.toContain(STATE_NAMES.rollBack);
    expect(lab.recorder.injected('ModifyRule')).toHaveLength(BURST);
    expect(mutations(result).filter((m) => m.startsWith(STATE_NAMES.shift(100)))).toEqual([`${STATE_NAMES.shift(100)}: ModifyRule`]);
    const state = await fleetState(lab);
    expect(state.production).toEqual({ blue: 0, green: 100 });
    expect(state.blue).toMatchObject({ desired: 0 });
    expect(state.lock).toBeUndefined();
  });
});

describe('a 5xx outage that outlasts the task retries', () => {
  const props = { cutover: { ...LAB_PROPS.cutover, bakeTime: Duration.minutes(5) } };
  beforeEach(async () => { await lab.reset(props); }, 60_000);

  test('alarms that cannot be read through every retry move traffic back, as before (fail safe)', async () => {
    const outage = (1 + TRANSIENT_RETRY.maxAttempts) * SDK_ATTEMPTS;
    const result = await lab.runCutover({ version: '2.0.0' }, {
      beforeTask: (state, n) => { if (state === STATE_NAMES.bake && n === 1) lab.recorder.serverError('monitoring', 'DescribeAlarms', outage, 'ServiceUnavailable'); },
    });
    record('DescribeAlarms 503 outage in the bake', result, 'DescribeAlarms');

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe(CutoverErrorName.ROLLED_BACK);
    expect(result.cause).toContain('ServiceUnavailable');
    expect(lab.recorder.injected('DescribeAlarms')).toHaveLength(outage);
    const state = await fleetState(lab);
    expect(state.production).toEqual({ blue: 100, green: 0 });
    expect(state.green).toMatchObject({ desired: 0 });
    expect(state.lock).toBeUndefined();
  });
});
