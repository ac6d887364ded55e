import { GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { PutParameterCommand } from '@aws-sdk/client-ssm';
import { Duration } from 'aws-cdk-lib';
import { ExampleStackProps } from '../../bin/example-stack';
import { CLIENT_CONFIG } from '../../lambda/common/clients';
import { Colour, CutoverErrorName, TrafficShift } from '../../lib';
import { STATE_NAMES } from '../../lib/cutover-workflow';
import { LOCK_PARTITION_KEY, otherColour, RESULT_RECORD_KEY_SUFFIX, ROLLBACK_TRANSIENT_RETRY, TRANSIENT_ERRORS, TRANSIENT_RETRY } from '../../lib/private/contract';
import { ExecutionResult, Lab } from '../../lab/lab';
import { alarmName, fleetState, LAB_PROPS, mutations } from './lab-fixture';

/**
 * The fault matrix: one row per fault, the one place that says, for each, how the execution
 * ends, where the fleet is left and what the next execution does. Every row asserts at the end:
 *
 * - production weights: 100 % on a colour that passed health and smoke checks or was live
 *   before, 0 on the other;
 * - both colours' capacity (min, desired) and in-service instances: the colour not serving is at
 *   zero unless the row says why not (`idle.why`);
 * - both colours' release parameters;
 * - no lock left (nothing waits for a lease);
 * - then one follow-up execution: a deploy that succeeds and moves traffic to the other colour,
 *   or a refusal that changes nothing in the fleet.
 *
 * Calls the IAM gate denied fail the row (the fixture checks after every test; each row also
 * checks between its execution and the follow-up, so a denial is pinned on the right one).
 */

/** The SDK client's own attempts per call: a burst longer than that fails the invocation. */
const SDK_ATTEMPTS = CLIENT_CONFIG.maxAttempts;
/** Two invocations failed (every SDK attempt refused), then the first two attempts of the third: within the task's transient retries. */
const BURST = 2 * SDK_ATTEMPTS + 2;

/** A Lambda function that ran out of time, as Lambda reports it. */
function timedOut(): Error {
  const e = new Error('RequestId: lab Error: Task timed out after 60.00 seconds');
  e.name = 'Sandbox.Timedout';
  return e;
}

/** A handler crash (not a transient error: not retried, except by "Move traffic back"). */
function crash(): Error {
  const e = new Error('RequestId: lab Error: Runtime exited with error: signal: killed');
  e.name = 'Runtime.ExitError';
  return e;
}

/** Where a row leaves the fleet. */
interface End {
  /** The colour with 100 % of production traffic (min 2, desired 2, 2 instances in service). */
  readonly live: Colour;
  /** What each colour's version parameter holds (image ids never change in these rows). */
  readonly versions: Record<Colour, string>;
  /** The other colour when it is not at zero, and why. Absent: min 0, desired 0, no instances. */
  readonly idle?: { readonly min: number; readonly desired: number; readonly instances: number; readonly why: string };
}

/** The one execution after the row's. */
type FollowUp =
  /** `{"version": <deploy>}` SUCCEEDS: all traffic on the other colour, the colour it left at zero, no lock. */
  | { readonly deploy: string; readonly first?: { readonly what: string; readonly run: (lab: Lab) => Promise<void> } }
  /** `input` FAILS with `error` (cause containing `cause`), and changes nothing but the lock table's own items. */
  | { readonly refused: unknown; readonly error: CutoverErrorName; readonly cause: string };

interface Row {
  readonly name: string;
  /** Runs the faulty execution (the lab is fresh, or as the previous row of the group left it: see the group). */
  readonly run: (lab: Lab) => Promise<ExecutionResult>;
  readonly status: ExecutionResult['status'];
  readonly error?: CutoverErrorName;
  /** Texts the cause must contain. */
  readonly cause?: Array<string | RegExp | ((lab: Lab) => string)>;
  /** What else the row checks about its execution (retries, calls). */
  readonly check?: (result: ExecutionResult, lab: Lab) => void | Promise<void>;
  readonly end: End;
  readonly followUp: FollowUp;
}

const GREEN_2: End = { live: Colour.GREEN, versions: { blue: 'initial', green: '2.0.0' } };
const BLUE_UNTOUCHED: End = { live: Colour.BLUE, versions: { blue: 'initial', green: 'initial' } };
const BLUE_BACK: End = { live: Colour.BLUE, versions: { blue: 'initial', green: '2.0.0' } };
const NEXT_RELEASE: FollowUp = { deploy: '3.0.0' };
/** The follow-up of a row that must leave nothing behind: no lock (else CutoverInProgress) and no colour to go back to. */
const ROLLBACK_REFUSED: FollowUp = { refused: { action: 'rollback' }, error: CutoverErrorName.NOTHING_TO_ROLL_BACK, cause: 'no cutover of this fleet has recorded a previous colour' };

/** Mutating calls other than the lock table's own items (the lock, the last result). */
const fleetMutations = (result: ExecutionResult) => mutations(result).filter((m) => !/: (PutItem|UpdateItem|DeleteItem|TransactWriteItems)$/.test(m));
/** Successful mutating calls of one action in one state. */
const mutationsAt = (result: ExecutionResult, state: string, action: string) => mutations(result).filter((m) => m === `${state}: ${action}`);

/** A deploy of 2.0.0 with a BURST of `code` answers to `action` starting just before the first run of `state`. */
function burstAt(state: string, service: string, action: string, code: 'InternalFailure' | 'ServiceUnavailable'): Row['run'] {
  return (lab) => lab.runCutover({ version: '2.0.0' }, {
    beforeTask: (s, n) => { if (s === state && n === 0) lab.recorder.serverError(service, action, BURST, code); },
  });
}

/** The burst was served in full and nothing moved back or failed; the third try got through with exactly `writes` successful call(s) of `action` in `state`. */
function burstAbsorbed(state: string, action: string, writes: number): Row['check'] {
  return (result, lab) => {
    expect(lab.recorder.injected(action)).toHaveLength(BURST);
    expect(result.states).not.toContain(STATE_NAMES.rollBack);
    expect(result.states).not.toContain(STATE_NAMES.releaseAfterFailure);
    if (writes > 0) expect(mutationsAt(result, state, action)).toHaveLength(writes);
  };
}

/** An alarm of the new colour firing at the first bake poll: what makes the rows below move traffic back. */
const alarmInBake = (lab: Lab) => async (state: string, n: number) => {
  if (state === STATE_NAMES.bake && n === 0) await lab.setAlarm(alarmName(lab, 'green-5xx'), 'ALARM');
};

/** Invocations of "Move traffic back" in the execution last run with {@link revertTimingOut}. */
let revertInvocations = 0;
/** Fails "Move traffic back" with Sandbox.Timedout on its first `times` invocations (n counts them), counting them all. */
function revertTimingOut(times: number) {
  revertInvocations = 0;
  return (state: string, n: number) => {
    if (state !== STATE_NAMES.rollBack) return undefined;
    revertInvocations = n + 1;
    return n < times ? timedOut() : undefined;
  };
}

/**
 * The retrier Step Functions uses for `error` on `state` (the first whose ErrorEquals matches
 * it), which must be the transient one with `budget`'s attempts.
 */
function expectRetried(lab: Lab, state: string, error: string, budget: { maxAttempts: number }): void {
  expect(TRANSIENT_ERRORS).toContain(error);
  const retriers: Array<{ ErrorEquals: string[]; MaxAttempts: number }> = lab.definition.States[state].Retry;
  const first = retriers.find((r) => r.ErrorEquals.includes(error) || r.ErrorEquals.includes('States.ALL'));
  expect(first).toMatchObject({ ErrorEquals: expect.arrayContaining([error]), MaxAttempts: budget.maxAttempts });
}

/**
 * What the recovery handler did with the execution's status change event: it ran once, recovered
 * the fleet as `report` says, and its first mutating call was the one that restored traffic (or,
 * when traffic was already in place, it changed no weight at all).
 */
function expectRecovered(result: ExecutionResult, report: { live: Colour; trafficMoved: boolean; scaledToZero: Colour[] }): void {
  const invocations = result.statusEvent?.invocations ?? [];
  expect(invocations.map((i) => i.error ?? i.output?.outcome)).toEqual(['recovered']);
  expect(invocations[0].output.report).toMatchObject(report);
  const mutating = invocations[0].calls.filter((c) => c.mutating && !c.injected && !c.denied).map((c) => c.action);
  if (report.trafficMoved) expect(mutating[0]).toBe('ModifyRule');
  else expect(mutating).not.toContain('ModifyRule');
  expect(mutating.filter((a) => a === 'ModifyRule')).toHaveLength(report.trafficMoved ? 1 : 0);
}

/** Deploys 2.0.0 and stops the execution from outside before `state` runs its task for the (n+1)th time. */
function stoppedAt(state: string, n: number, as: 'ABORTED' | 'TIMED_OUT', statusEvents = true): Row['run'] {
  return (lab) => lab.runCutover({ version: '2.0.0' }, { stop: (s, k) => (s === state && k === n ? as : undefined), statusEvents });
}

/** Settings with a 10 % canary held for two polls, so an execution can be stopped with traffic split. */
const CANARY_PROPS: ExampleStackProps = {
  cutover: { ...LAB_PROPS.cutover, trafficShift: TrafficShift.canary({ percent: 10, bake: Duration.seconds(2) }) },
};

// ---------------------------------------------------------------------------------------------
// The rows.
// ---------------------------------------------------------------------------------------------

/** AWS failing inside (5xx) for longer than the SDK client's attempts but within the task's retries. */
const BURSTS: Row[] = [
  {
    name: 'Prepare: UpdateAutoScalingGroup 503 burst after the parameters were written',
    run: burstAt(STATE_NAMES.prepare, 'autoscaling', 'UpdateAutoScalingGroup', 'ServiceUnavailable'),
    status: 'SUCCEEDED',
    check: (result, lab) => {
      burstAbsorbed(STATE_NAMES.prepare, 'UpdateAutoScalingGroup', 1)!(result, lab);
      // The retried invocations found the parameters written: the version was put once.
      expect(mutationsAt(result, STATE_NAMES.prepare, 'PutParameter')).toHaveLength(1);
    },
    end: GREEN_2,
    followUp: NEXT_RELEASE,
  },
  {
    name: 'the shift: ModifyRule 500 burst',
    run: burstAt(STATE_NAMES.shift(100), 'elasticloadbalancing', 'ModifyRule', 'InternalFailure'),
    status: 'SUCCEEDED',
    check: burstAbsorbed(STATE_NAMES.shift(100), 'ModifyRule', 1),
    end: GREEN_2,
    followUp: NEXT_RELEASE,
  },
  {
    name: 'the bake: DescribeAlarms 500 burst (a blip never rolls a healthy release back)',
    run: burstAt(STATE_NAMES.bake, 'monitoring', 'DescribeAlarms', 'InternalFailure'),
    status: 'SUCCEEDED',
    check: burstAbsorbed(STATE_NAMES.bake, 'DescribeAlarms', 0),
    end: GREEN_2,
    followUp: NEXT_RELEASE,
  },
  {
    name: 'the retire: UpdateAutoScalingGroup 503 burst in "Scale the previous colour to zero"',
    run: burstAt(STATE_NAMES.retire, 'autoscaling', 'UpdateAutoScalingGroup', 'ServiceUnavailable'),
    status: 'SUCCEEDED',
    check: burstAbsorbed(STATE_NAMES.retire, 'UpdateAutoScalingGroup', 1),
    end: GREEN_2,
    followUp: NEXT_RELEASE,
  },
  {
    // The release-lock handler describes a lock it cannot delete instead of failing its task, so
    // the task's retrier never sees this burst: the handler tries the delete again itself
    // (LOCK_DELETE_RETRY, as many tries as the task's transient retrier would make).
    name: 'the lock release: DeleteItem 500 burst in "Release the lock"',
    run: burstAt(STATE_NAMES.release, 'dynamodb', 'DeleteItem', 'InternalFailure'),
    status: 'SUCCEEDED',
    check: burstAbsorbed(STATE_NAMES.release, 'DeleteItem', 1),
    end: GREEN_2,
    followUp: NEXT_RELEASE,
  },
];

/** The shift's function timing out: the task is retried (Sandbox.Timedout is transient), and the shift handler is idempotent. */
const TIMED_OUT_SHIFT: Row[] = [
  {
    name: 'the shift times out before its call',
    run: (lab) => lab.runCutover({ version: '2.0.0' }, { crash: (s, n) => (s === STATE_NAMES.shift(100) && n === 0 ? timedOut() : undefined) }),
    status: 'SUCCEEDED',
    check: (result, lab) => {
      expectRetried(lab, STATE_NAMES.shift(100), 'Sandbox.Timedout', TRANSIENT_RETRY);
      expect(result.states).not.toContain(STATE_NAMES.rollBack);
      expect(mutationsAt(result, STATE_NAMES.shift(100), 'ModifyRule')).toHaveLength(1);
    },
    end: GREEN_2,
    followUp: NEXT_RELEASE,
  },
  {
    name: 'the shift times out after its call (ModifyRule done, the task reported timed out)',
    run: (lab) => lab.runCutover({ version: '2.0.0' }, {
      afterTask: (s, n) => { if (s === STATE_NAMES.shift(100) && n === 0) throw timedOut(); },
    }),
    status: 'SUCCEEDED',
    check: (result, lab) => {
      expectRetried(lab, STATE_NAMES.shift(100), 'Sandbox.Timedout', TRANSIENT_RETRY);
      expect(result.states).not.toContain(STATE_NAMES.rollBack);
      // The retry found the rule already at green 100: one ModifyRule in all.
      expect(mutationsAt(result, STATE_NAMES.shift(100), 'ModifyRule')).toHaveLength(1);
    },
    end: GREEN_2,
    followUp: NEXT_RELEASE,
  },
];

/** "Move traffic back" timing out, after an alarm of the new colour during the bake. */
const ROLLBACK_TIMEOUTS: Row[] = [
  {
    name: 'moving traffic back times out once',
    run: (lab) => lab.runCutover({ version: '2.0.0' }, { beforeTask: alarmInBake(lab), crash: revertTimingOut(1) }),
    status: 'FAILED',
    error: CutoverErrorName.ROLLED_BACK,
    cause: [(lab) => alarmName(lab, 'green-5xx'), /traffic back on blue/, 'green scaled to zero'],
    check: (result, lab) => {
      expectRetried(lab, STATE_NAMES.rollBack, 'Sandbox.Timedout', ROLLBACK_TRANSIENT_RETRY);
      expect(revertInvocations).toBe(2);
      expect(mutationsAt(result, STATE_NAMES.rollBack, 'ModifyRule')).toHaveLength(1);
    },
    end: BLUE_BACK,
    followUp: { deploy: '3.0.0', first: { what: 'green\'s 5XX alarm back to OK (green serves nothing any more)', run: (lab) => lab.setAlarm(alarmName(lab, 'green-5xx'), 'OK') } },
  },
  {
    // The revert never ran, so the execution ends RollbackFailed and keeps the lock; when it ends,
    // the recovery handler (EventBridge rule on the execution's FAILED status) moves all traffic
    // back to blue with one call, scales green to zero and releases the lock.
    name: 'moving traffic back times out every time: RollbackFailed, then the recovery handler moves traffic back',
    run: (lab) => lab.runCutover({ version: '2.0.0' }, { beforeTask: alarmInBake(lab), crash: revertTimingOut(Infinity) }),
    status: 'FAILED',
    error: CutoverErrorName.ROLLBACK_FAILED,
    cause: [
      (lab) => alarmName(lab, 'green-5xx'),
      'moving traffic back to blue failed (Sandbox.Timedout',
      'The recovery handler tries once more when this execution ends: it moves all traffic back to blue',
    ],
    check: (result) => {
      // The transient retrier's budget, then the catch: the any-error retrier after it adds nothing.
      expect(revertInvocations).toBe(1 + ROLLBACK_TRANSIENT_RETRY.maxAttempts);
      expect(result.states).not.toContain(STATE_NAMES.scaleFailedDown);
      expect(fleetMutations(result).filter((m) => m.startsWith(STATE_NAMES.rollBack))).toEqual([]);
      expectRecovered(result, { live: Colour.BLUE, trafficMoved: true, scaledToZero: [Colour.GREEN] });
    },
    end: BLUE_BACK,
    followUp: { deploy: '3.0.0', first: { what: 'green\'s 5XX alarm back to OK (green serves nothing any more)', run: (lab) => lab.setAlarm(alarmName(lab, 'green-5xx'), 'OK') } },
  },
];

/** The new colour failing in a way no alarm sees. */
const NEW_COLOUR_STOPPED: Row[] = [
  {
    name: 'the new colour\'s instances stopped during the bake: RolledBack (NewColourUnhealthy)',
    run: (lab) => lab.runCutover({ version: '2.0.0' }, {
      beforeTask: async (s, n) => { if (s === STATE_NAMES.bake && n === 0) await lab.stopInstances(Colour.GREEN); },
    }),
    status: 'FAILED',
    error: CutoverErrorName.ROLLED_BACK,
    cause: [CutoverErrorName.NEW_COLOUR_UNHEALTHY, /0 of 2 instances healthy in the green target group/, /traffic back on blue/, 'green scaled to zero'],
    check: (result) => {
      expect(result.states).not.toContain(STATE_NAMES.retire);
      expect(mutationsAt(result, STATE_NAMES.rollBack, 'ModifyRule')).toHaveLength(1);
    },
    end: BLUE_BACK,
    followUp: NEXT_RELEASE,
  },
];

/** A smoke failure whose clean-up failed, then `{"action":"rollback"}` (the follow-up). */
const SMOKE_THEN_ROLLBACK: Row[] = [
  {
    name: 'green answers 500 to the smoke tests, then scaling it back to zero fails',
    run: (lab) => {
      lab.apps.behaviour.green = 'error-status';
      return lab.runCutover({ version: '2.0.0' }, { crash: (s) => (s === STATE_NAMES.scaleIdleDown ? crash() : undefined) });
    },
    status: 'FAILED',
    error: CutoverErrorName.SMOKE_TEST_FAILED,
    cause: [/expected status 200, got 500/, 'Then scaling green to zero failed', 'scale it down by hand'],
    check: (result) => {
      expect(result.states).not.toContain(STATE_NAMES.shift(100));
    },
    end: {
      live: Colour.BLUE,
      versions: { blue: 'initial', green: '2.0.0' },
      idle: { min: 2, desired: 2, instances: 2, why: 'the scale-down failed; the cause says to scale green down by hand' },
    },
    // The warm, healthy green never passed the smoke tests: a rollback must not take it.
    followUp: ROLLBACK_REFUSED,
  },
];

/** Inputs rejected before any AWS call. None changes anything, so the group shares one fresh lab. */
const BAD_INPUTS: Array<[string, unknown, string]> = [
  ['null', null, 'the input null is not a JSON object'],
  ['a string', 'x', 'is not a JSON object'],
  ['an array', [], 'the input [] is not a JSON object'],
  ['an unknown field', { colour: 'green' }, "unknown field 'colour'"],
  ['a malformed image id', { imageId: 'ami-123' }, "imageId 'ami-123' is not an AMI id"],
  ['a version with shell characters', { version: '1.0;curl x|sh' }, "version '1.0;curl x|sh' is not a version"],
  ['a rollback with a version', { action: 'rollback', version: '2.0.0' }, "action 'rollback' takes no version"],
];
const INPUTS: Row[] = BAD_INPUTS.map(([name, input, cause]) => ({
  name: `input ${name}: InvalidInput, no AWS call`,
  run: (lab) => lab.runCutover(input),
  status: 'FAILED',
  error: CutoverErrorName.INVALID_INPUT,
  cause: [cause],
  check: (result) => {
    expect(result.states).toEqual([STATE_NAMES.start, STATE_NAMES.rejected]);
    expect(result.calls).toEqual([]);
  },
  end: BLUE_UNTOUCHED,
  followUp: ROLLBACK_REFUSED,
}));

const SHELL_VERSION = '1.0;curl x|sh';
const TAMPERED: Row[] = [
  {
    name: '{} while the live colour\'s version parameter holds a shell command: FleetStateConflict, only the lock written',
    run: async (lab) => {
      await lab.clients.ssm.send(new PutParameterCommand({ Name: lab.config.colours.blue.versionParameterName, Value: SHELL_VERSION, Type: 'String', Overwrite: true }));
      return lab.runCutover({});
    },
    status: 'FAILED',
    error: CutoverErrorName.FLEET_STATE_CONFLICT,
    cause: [(lab) => `${lab.config.colours.blue.versionParameterName} holds "${SHELL_VERSION}", which is not a version`, 'put-parameter'],
    check: (result) => {
      expect(fleetMutations(result)).toEqual([]);
      expect(result.states).not.toContain(STATE_NAMES.prepare);
    },
    // The parameter is the row's own edit: the workflow neither copied nor changed it.
    end: { live: Colour.BLUE, versions: { blue: SHELL_VERSION, green: 'initial' } },
    // An explicit version copies nothing from blue, and is refused all the same until the parameter is put back.
    followUp: { refused: { version: '3.0.0' }, error: CutoverErrorName.FLEET_STATE_CONFLICT, cause: `holds "${SHELL_VERSION}"` },
  },
];

/**
 * Stopped from outside (the console's Stop button: ABORTED; the state machine's timeout:
 * TIMED_OUT). The recovery handler, invoked by the EventBridge rule on the status change, gives
 * all traffic to the colour the lock names (blue: live when the cutover began), scales green to
 * zero and releases the lock. "Stop execution" is a stop and roll back.
 */
const STOPPED_FROM_OUTSIDE: Row[] = [
  {
    name: 'stopped right after "Prepare": green scaled back to zero, blue untouched',
    run: stoppedAt(STATE_NAMES.checkHealth, 0, 'ABORTED'),
    status: 'ABORTED',
    check: (result) => expectRecovered(result, { live: Colour.BLUE, trafficMoved: false, scaledToZero: [Colour.GREEN] }),
    end: BLUE_BACK,
    followUp: NEXT_RELEASE,
  },
  {
    name: 'timed out during the health wait: green scaled back to zero, blue untouched',
    // Green's instances stopped after "Prepare": the first health check waits, the second never runs.
    run: (lab) => lab.runCutover({ version: '2.0.0' }, {
      afterTask: async (s) => { if (s === STATE_NAMES.prepare) await lab.stopInstances(Colour.GREEN); },
      stop: (s, k) => (s === STATE_NAMES.checkHealth && k === 1 ? 'TIMED_OUT' : undefined),
    }),
    status: 'TIMED_OUT',
    check: (result) => {
      expect(result.states).toContain(STATE_NAMES.waitHealth);
      expectRecovered(result, { live: Colour.BLUE, trafficMoved: false, scaledToZero: [Colour.GREEN] });
    },
    end: BLUE_BACK,
    followUp: NEXT_RELEASE,
  },
  {
    name: 'stopped during the bake: all traffic back on blue with one call, green to zero',
    run: stoppedAt(STATE_NAMES.bake, 0, 'ABORTED'),
    status: 'ABORTED',
    check: (result) => expectRecovered(result, { live: Colour.BLUE, trafficMoved: true, scaledToZero: [Colour.GREEN] }),
    end: BLUE_BACK,
    followUp: NEXT_RELEASE,
  },
  {
    name: 'stopped during the warm wait: all traffic back on the warm blue, green to zero, nothing left to roll back to',
    run: stoppedAt(STATE_NAMES.retire, 0, 'ABORTED'),
    status: 'ABORTED',
    check: (result) => {
      expect(result.states).toContain(STATE_NAMES.waitWarm);
      expectRecovered(result, { live: Colour.BLUE, trafficMoved: true, scaledToZero: [Colour.GREEN] });
    },
    end: BLUE_BACK,
    // The record of the colour traffic left is retired: blue serves, green is at zero.
    followUp: { refused: { action: 'rollback' }, error: CutoverErrorName.NOTHING_TO_ROLL_BACK, cause: 'already serves all traffic' },
  },
];

/** Stopped with traffic split by a 10 % canary (its own lab settings). */
const STOPPED_MID_CANARY: Row[] = [
  {
    name: 'stopped mid-canary (blue 90, green 10): all traffic back on blue with one call, green to zero',
    run: stoppedAt(STATE_NAMES.watch(10), 1, 'ABORTED'),
    status: 'ABORTED',
    check: (result) => {
      expect(result.states).toContain(STATE_NAMES.shift(10));
      expect(result.states).not.toContain(STATE_NAMES.shift(100));
      expect(result.statusEvent?.invocations[0].output.report.weightsBefore).toEqual({ blue: 90, green: 10 });
      expectRecovered(result, { live: Colour.BLUE, trafficMoved: true, scaledToZero: [Colour.GREEN] });
    },
    end: BLUE_BACK,
    followUp: NEXT_RELEASE,
  },
  {
    // Step Functions delivers status change events best effort: with the event lost, the split and
    // the lock stay until the next execution starts. It asks Step Functions whether the lock's
    // owner still runs (DescribeExecution: ABORTED), takes the lock over at once and recovers the
    // fleet before it goes on. No waiting for the lease.
    name: 'stopped mid-canary and the status event lost: the next start takes the lock over, recovers, and deploys',
    run: async (lab) => {
      const stopped = await stoppedAt(STATE_NAMES.watch(10), 1, 'ABORTED', false)(lab);
      expect(stopped.status).toBe('ABORTED');
      expect(await lab.weights()).toEqual({ blue: 90, green: 10 });
      expect((await lab.lock())?.owner?.S).toBe(stopped.executionId);
      return lab.runCutover({ version: '2.0.0' });
    },
    status: 'SUCCEEDED',
    check: (result) => {
      expect(result.states.slice(0, 4)).toEqual([STATE_NAMES.start, STATE_NAMES.tookOver, STATE_NAMES.recover, STATE_NAMES.findLive]);
      // Traffic back on blue with one call, then the release deployed afresh.
      expect(mutations(result).filter((m) => m.startsWith(STATE_NAMES.recover)).filter((m) => m.endsWith('ModifyRule'))).toEqual([`${STATE_NAMES.recover}: ModifyRule`]);
      expect(result.calls.some((c) => c.stage === STATE_NAMES.start && c.action === 'DescribeExecution')).toBe(true);
    },
    end: GREEN_2,
    followUp: NEXT_RELEASE,
  },
];

/** A second execution takes over a lock whose lease expired while the first still runs. */
let second: ExecutionResult | undefined;
const LOCK_TAKEN_OVER: Row[] = [
  {
    name: 'an expired lock taken over during the first execution\'s bake: the second recovers and deploys, the first ends Superseded',
    run: (lab) => {
      second = undefined;
      return lab.runCutover({ version: '2.0.0' }, {
        beforeTask: async (s, n) => {
          if (s !== STATE_NAMES.bake || n !== 0) return;
          // The lease ran out (as after a lease shorter than the execution): the lock expired an hour ago.
          await lab.clients.dynamoDb.send(new UpdateItemCommand({
            TableName: lab.config.lockTableName,
            Key: { [LOCK_PARTITION_KEY]: { S: lab.config.fleetId } },
            UpdateExpression: 'SET expiresAt = :past',
            ExpressionAttributeValues: { ':past': { N: String(Math.floor(Date.now() / 1000) - 3600) } },
          }));
          second = await lab.runCutover({ version: '3.0.0' });
        },
      });
    },
    status: 'FAILED',
    error: CutoverErrorName.SUPERSEDED,
    cause: ['is no longer held by this execution', 'did not keep the previous colour warm'],
    check: (first, lab) => {
      expect(second?.status).toBe('SUCCEEDED');
      // The second found the first's shift to green, put all traffic back on blue, then released into green.
      expect(second!.states).toContain(STATE_NAMES.recover);
      expect(second!.output).toMatchObject({ live: 'green', previous: 'blue', liveRelease: { version: '3.0.0' } });
      // The first changed nothing after the take-over and wrote no result: the last result is the second's.
      expect(first.states).not.toContain(STATE_NAMES.retire);
      return lastResultIs(lab, second!.executionId);
    },
    end: { live: Colour.GREEN, versions: { blue: 'initial', green: '3.0.0' } },
    followUp: { deploy: '4.0.0' },
  },
];

/** Checks the fleet's last-result record names `executionId`. */
async function lastResultIs(lab: Lab, executionId: string): Promise<void> {
  const item = (await lab.clients.dynamoDb.send(new GetItemCommand({
    TableName: lab.config.lockTableName, Key: { [LOCK_PARTITION_KEY]: { S: `${lab.config.fleetId}${RESULT_RECORD_KEY_SUFFIX}` } },
  }))).Item;
  expect(item?.executionId?.S).toBe(executionId);
  expect(item?.outcome?.S).toBe('succeeded');
}

// ---------------------------------------------------------------------------------------------
// Running a row.
// ---------------------------------------------------------------------------------------------

let lab: Lab;
beforeAll(async () => { lab = await Lab.start(LAB_PROPS); }, 120_000);
afterAll(async () => { await lab?.stop(); });

const timings: string[] = [];
afterAll(() => {
  // eslint-disable-next-line no-console
  if (timings.length) console.log(`Fault matrix (waits and retry intervals at 0; the SDK's own backoff is real):\n${timings.join('\n')}`);
});

/** Asserts the fleet as `end` describes it; returns the state read. */
async function expectEnd(end: End, image: string) {
  const state = await fleetState(lab);
  const idle = otherColour(end.live);
  expect(state.production).toEqual({ [end.live]: 100, [idle]: 0 });
  expect(state[end.live]).toMatchObject({ min: 2, desired: 2 });
  expect(state[end.live].instances).toHaveLength(2);
  const idleEnd = end.idle ?? { min: 0, desired: 0, instances: 0 };
  expect(state[idle]).toMatchObject({ min: idleEnd.min, desired: idleEnd.desired });
  expect(state[idle].instances).toHaveLength(idleEnd.instances);
  expect(state.blueRelease).toEqual({ imageId: image, version: end.versions.blue });
  expect(state.greenRelease).toEqual({ imageId: image, version: end.versions.green });
  expect(state.lock).toBeUndefined();
  return state;
}

async function runRow(row: Row): Promise<void> {
  const image = (await lab.release(Colour.BLUE)).imageId;
  const result = await row.run(lab);
  timings.push(`  ${row.name}: ${result.status}${result.error ? ` ${result.error}` : ''} in ${result.durationMs} ms`);

  // The cause is in the comparison so that a mismatch shows it.
  expect({ status: result.status, error: result.error, cause: result.cause })
    .toEqual({ status: row.status, error: row.error, cause: row.status === 'SUCCEEDED' ? undefined : expect.any(String) });
  for (const c of row.cause ?? []) {
    const text = typeof c === 'function' ? c(lab) : c;
    if (typeof text === 'string') expect(result.cause).toContain(text);
    else expect(result.cause).toMatch(text);
  }
  if (row.status === 'SUCCEEDED') expect(result.output.live).toBe(row.end.live);
  await row.check?.(result, lab);
  const before = await expectEnd(row.end, image);
  lab.assertNoDenials();

  // The follow-up execution.
  const follow = row.followUp;
  if ('deploy' in follow) {
    if (follow.first) await follow.first.run(lab);
    const next = await lab.runCutover({ version: follow.deploy });
    expect({ status: next.status, error: next.error, cause: next.cause }).toEqual({ status: 'SUCCEEDED', error: undefined, cause: undefined });
    const to = otherColour(row.end.live);
    expect(next.output.live).toBe(to);
    await expectEnd({ live: to, versions: { ...row.end.versions, [to]: follow.deploy } }, image);
  } else {
    const next = await lab.runCutover(follow.refused);
    expect({ status: next.status, error: next.error, cause: next.cause }).toEqual({ status: 'FAILED', error: follow.error, cause: expect.stringContaining(follow.cause) });
    expect(fleetMutations(next)).toEqual([]);
    expect(await fleetState(lab)).toEqual(before);
  }
}

describe('fault matrix: every row ends with all traffic on a checked colour, the other at zero (or as documented) and no lock', () => {
  const groups: Array<[string, Row[], ExampleStackProps?]> = [
    ['5xx bursts past the SDK client, within the task retries: SUCCEEDED', BURSTS],
    ['a timed-out shift: retried, SUCCEEDED', TIMED_OUT_SHIFT],
    ['moving traffic back timing out', ROLLBACK_TIMEOUTS],
    ['the new colour failing where no alarm looks', NEW_COLOUR_STOPPED],
    ['a smoke failure, a failed scale-down, then {"action":"rollback"}', SMOKE_THEN_ROLLBACK],
    ['a tampered release parameter', TAMPERED],
    ['an execution stopped from outside: the recovery handler restores the fleet', STOPPED_FROM_OUTSIDE],
    ['an execution stopped mid-canary', STOPPED_MID_CANARY, CANARY_PROPS],
    ['an expired lock taken over while the first execution still runs', LOCK_TAKEN_OVER],
  ];
  for (const [group, rows, props] of groups) {
    describe(group, () => {
      beforeEach(async () => { await lab.reset(props ?? LAB_PROPS); }, 60_000);
      for (const row of rows) test(row.name, () => runRow(row));
    });
  }

  describe('bad inputs: InvalidInput before any AWS call', () => {
    // No row of this group changes the fleet (each checks it and its follow-up does too): one fresh lab for all.
    beforeAll(async () => { await lab.reset(LAB_PROPS); }, 60_000);
    for (const row of INPUTS) test(row.name, () => runRow(row));
  });
});
