import { DescribeExecutionCommand, DescribeStateMachineCommand, GetExecutionHistoryCommand, ListExecutionsCommand, SFNClient, StartExecutionCommand, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { CutoverErrorName } from '../../lib';
import { STATE_NAMES } from '../../lib/cutover-workflow';
import { Lab } from '../../lab/lab';
import { OPERATOR_ACCESS_KEY_ID } from '../../lab/recorder';
import { alarmName, fleetState, LAB_PROPS } from '../lab/lab-fixture';
import { latch, runCli } from './cli-fixture';

/**
 * `deploy` and `rollback` against the lab: StartExecution and the execution's history through the
 * lab's Step Functions API, everything else in moto. One lab for the file, reset between tests.
 */
let lab: Lab;
let sfn: SFNClient;
beforeAll(async () => {
  lab = await Lab.start(LAB_PROPS);
  sfn = new SFNClient({ endpoint: lab.recorder.endpoint, region: 'us-east-1', credentials: { accessKeyId: OPERATOR_ACCESS_KEY_ID, secretAccessKey: 'operator' } });
}, 120_000);
afterAll(async () => { await lab?.stop(); });
beforeEach(async () => { await lab.reset(LAB_PROPS); }, 60_000);

/** The caller's identity as the emulator's STS reports it (what the CLI records as startedBy). */
async function caller(): Promise<string> {
  const sts = new STSClient({ endpoint: lab.moto.endpoint, region: 'us-east-1', credentials: { accessKeyId: OPERATOR_ACCESS_KEY_ID, secretAccessKey: 'operator' } });
  return (await sts.send(new GetCallerIdentityCommand({}))).Arn!;
}

describe("the lab's Step Functions API", () => {
  // Shapes and error types from the Step Functions API reference (StartExecution,
  // DescribeExecution, GetExecutionHistory: "By default, the results are returned in ascending
  // order of the timeStamp of the events. Use the reverseOrder parameter to get the latest events
  // first"; StopExecution; ListExecutions; DescribeStateMachine).
  test('starts a run in the background, reports it, pages its history, stops it and lists it', async () => {
    const hold = latch();
    lab.nextRunHooks = { beforeTask: async (state) => { if (state === STATE_NAMES.prepare) { hold.arrive(); await hold.wait; } } };
    const input = '{"version":"2.0.0"}';
    const started = await sfn.send(new StartExecutionCommand({ stateMachineArn: lab.stateMachineArn(), name: 'api-run', input }));
    expect(started.executionArn).toBe(`${lab.stateMachineArn().replace(':stateMachine:', ':execution:')}:api-run`);
    expect(started.startDate).toBeInstanceOf(Date);
    await hold.reached;

    const running = await sfn.send(new DescribeExecutionCommand({ executionArn: started.executionArn }));
    expect(running).toMatchObject({ status: 'RUNNING', name: 'api-run', input, stateMachineArn: lab.stateMachineArn() });
    expect(running.stopDate).toBeUndefined();
    // Same name and input while running: idempotent; another input: the name is taken.
    expect((await sfn.send(new StartExecutionCommand({ stateMachineArn: lab.stateMachineArn(), name: 'api-run', input }))).executionArn).toBe(started.executionArn);
    await expect(sfn.send(new StartExecutionCommand({ stateMachineArn: lab.stateMachineArn(), name: 'api-run', input: '{}' }))).rejects.toMatchObject({ name: 'ExecutionAlreadyExists' });

    const all = (await sfn.send(new GetExecutionHistoryCommand({ executionArn: started.executionArn }))).events!;
    expect(all[0]).toMatchObject({ type: 'ExecutionStarted', id: 1, executionStartedEventDetails: { input } });
    const entered = all.filter((e) => e.stateEnteredEventDetails).map((e) => [e.type, e.stateEnteredEventDetails!.name]);
    expect(entered.slice(0, 2)).toEqual([['TaskStateEntered', STATE_NAMES.start], ['ChoiceStateEntered', STATE_NAMES.tookOver]]);
    expect(entered[entered.length - 1]).toEqual(['TaskStateEntered', STATE_NAMES.prepare]);
    expect(all.find((e) => e.type === 'TaskStateExited')?.stateExitedEventDetails?.name).toBe(STATE_NAMES.start);
    const page1 = await sfn.send(new GetExecutionHistoryCommand({ executionArn: started.executionArn, maxResults: 2 }));
    expect(page1.events!.map((e) => e.id)).toEqual([1, 2]);
    const page2 = await sfn.send(new GetExecutionHistoryCommand({ executionArn: started.executionArn, maxResults: 2, nextToken: page1.nextToken }));
    expect(page2.events!.map((e) => e.id)).toEqual([3, 4]);
    const newest = await sfn.send(new GetExecutionHistoryCommand({ executionArn: started.executionArn, maxResults: 1, reverseOrder: true }));
    expect(newest.events![0].id).toBe(all.length);

    const stopped = await sfn.send(new StopExecutionCommand({ executionArn: started.executionArn, cause: 'stopped by the test' }));
    expect(stopped.stopDate).toBeInstanceOf(Date);
    hold.open();
    const result = await lab.execution(started.executionArn!).done!;
    expect(result.status).toBe('ABORTED');
    // The status change event went to the recovery rule: it released the lock.
    expect(result.statusEvent?.invocations.map((i) => i.error)).toEqual([undefined]);
    expect(await lab.lock()).toBeUndefined();
    const ended = await sfn.send(new DescribeExecutionCommand({ executionArn: started.executionArn }));
    expect(ended).toMatchObject({ status: 'ABORTED', cause: 'stopped by the test' });
    expect(ended.stopDate).toBeInstanceOf(Date);
    const history = (await sfn.send(new GetExecutionHistoryCommand({ executionArn: started.executionArn }))).events!;
    expect(history[history.length - 1]).toMatchObject({ type: 'ExecutionAborted', executionAbortedEventDetails: { cause: 'stopped by the test' } });

    const aborted = await sfn.send(new ListExecutionsCommand({ stateMachineArn: lab.stateMachineArn(), statusFilter: 'ABORTED' }));
    expect(aborted.executions!.map((e) => e.executionArn)).toContain(started.executionArn);
    expect((await sfn.send(new ListExecutionsCommand({ stateMachineArn: lab.stateMachineArn(), statusFilter: 'RUNNING' }))).executions).toEqual([]);
  });

  test('answers unknown executions and state machines, and bad ARNs, with the reference error types', async () => {
    const arn = lab.stateMachineArn();
    await expect(sfn.send(new DescribeExecutionCommand({ executionArn: `${arn.replace(':stateMachine:', ':execution:')}:nope` }))).rejects.toMatchObject({ name: 'ExecutionDoesNotExist' });
    await expect(sfn.send(new DescribeExecutionCommand({ executionArn: 'not-an-arn' }))).rejects.toMatchObject({ name: 'InvalidArn' });
    await expect(sfn.send(new StartExecutionCommand({ stateMachineArn: `${arn}-other` }))).rejects.toMatchObject({ name: 'StateMachineDoesNotExist' });
    await expect(sfn.send(new StartExecutionCommand({ stateMachineArn: arn, input: '{not json' }))).rejects.toMatchObject({ name: 'InvalidExecutionInput' });
    const described = await sfn.send(new DescribeStateMachineCommand({ stateMachineArn: arn }));
    expect(JSON.parse(described.definition!)).toEqual(lab.definition);
    expect(described.name).toBe(arn.split(':').pop());
    expect(described.roleArn).toMatch(/^arn:aws:iam::\d{12}:role\//);
  });
});

describe('deploy --wait', () => {
  test('exits 0 when the cutover succeeds, printing each stage once, with who started it', async () => {
    const { code, stdout, stderr } = await runCli(lab, ['deploy', '--version', '2.0.0', '--wait', '--yes']);

    expect(stderr).toBe('');
    expect(code).toBe(0);
    const lines = stdout.split('\n');
    for (const stage of [STATE_NAMES.start, STATE_NAMES.prepare, STATE_NAMES.shift(100), STATE_NAMES.bake, STATE_NAMES.release, STATE_NAMES.succeeded]) {
      expect(lines.filter((l) => l.endsWith(`  ${stage}`))).toHaveLength(1);
    }
    expect(stdout).toMatch(/Execution \S+ succeeded/);
    expect(stdout).toContain('Traffic: blue 0 %, green 100 % (live: green, version 2.0.0)');
    const state = await fleetState(lab);
    expect(state.production).toEqual({ blue: 0, green: 100 });
    expect(state.greenRelease.version).toBe('2.0.0');
    expect(state.lock).toBeUndefined();
    const arn = /Started (\S+)/.exec(stdout)![1];
    expect(JSON.parse(lab.execution(arn).input)).toEqual({ version: '2.0.0', startedBy: await caller() });
  });

  test('exits 1 when an alarm rolls the cutover back during the bake', async () => {
    const alarm = alarmName(lab, 'green-5xx');
    lab.nextRunHooks = { beforeTask: async (state, n) => { if (state === STATE_NAMES.bake && n === 0) await lab.setAlarm(alarm, 'ALARM'); } };
    const { code, stdout } = await runCli(lab, ['deploy', '--version', '2.0.0', '--wait', '--yes']);

    expect(code).toBe(1);
    expect(stdout).toMatch(new RegExp(`rolled back: ${CutoverErrorName.ROLLED_BACK}`));
    expect(stdout).toContain(`  ${STATE_NAMES.rollBack}`);
    expect(stdout).toContain('Traffic: blue 100 %, green 0 % (live: blue, version initial)');
    expect((await fleetState(lab)).production).toEqual({ blue: 100, green: 0 });
  });

  test('exits 2 for input the workflow would reject, before starting anything', async () => {
    const { code, stderr } = await runCli(lab, ['deploy', '--version', '1.0 beta', '--wait', '--yes']);

    expect(code).toBe(2);
    expect(stderr).toContain("--version '1.0 beta' is not a version");
    expect(stderr).toContain('Nothing was started.');
    expect((await sfn.send(new ListExecutionsCommand({ stateMachineArn: lab.stateMachineArn() }))).executions!.filter((e) => e.status === 'RUNNING')).toEqual([]);
  });

  test('exits 2 when the execution fails: a rollback with nothing to roll back to', async () => {
    const { code, stdout } = await runCli(lab, ['rollback', '--wait', '--yes']);

    expect(code).toBe(2);
    expect(stdout).toContain(`failed (FAILED): ${CutoverErrorName.NOTHING_TO_ROLL_BACK}`);
    expect((await fleetState(lab)).production).toEqual({ blue: 100, green: 0 });
  });

  test('exits 3 when the wait runs out, and the execution goes on; another deploy meanwhile is refused, naming it', async () => {
    const hold = latch();
    lab.nextRunHooks = { beforeTask: async (state) => { if (state === STATE_NAMES.prepare) { hold.arrive(); await hold.wait; } } };
    const waited = await runCli(lab, ['deploy', '--version', '2.0.0', '--wait', '--timeout', '1', '--yes']);

    expect(waited.code).toBe(3);
    expect(waited.stdout).toContain(`Stopped waiting after 1 s: the execution is still RUNNING (at '${STATE_NAMES.prepare}') and goes on.`);
    const arn = /Started (\S+)/.exec(waited.stdout)![1];
    const second = await runCli(lab, ['deploy', '--version', '3.0.0', '--yes']);
    expect(second.code).toBe(2);
    expect(second.stderr).toContain(`Execution ${arn} is running`);
    expect(second.stderr).toContain('cdk-ec2-blue-green abort');

    hold.open();
    expect((await lab.execution(arn).done!).status).toBe('SUCCEEDED');
    expect((await fleetState(lab)).production).toEqual({ blue: 0, green: 100 });
  });

  test('refuses to start without --yes when there is no terminal to ask on', async () => {
    const { code, stdout, stderr } = await runCli(lab, ['deploy', '--version', '2.0.0']);

    expect(code).toBe(2);
    expect(stdout).toContain("About to deploy version 2.0.0 to fleet");
    expect(stderr).toContain('Pass --yes to go ahead.');
    expect(await lab.lock()).toBeUndefined();
  });
});
