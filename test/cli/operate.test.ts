import { execFile, spawn } from 'child_process';
import * as path from 'path';
import { CreateStackCommand, ListStackResourcesCommand } from '@aws-sdk/client-cloudformation';
import { GetItemCommand, PutItemCommand, UpdateItemCommand, UpdateTableCommand } from '@aws-sdk/client-dynamodb';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { Duration } from 'aws-cdk-lib';
import { ApprovalTimeoutAction, Colour, TrafficShift } from '../../lib';
import { CutoverOptions } from '../../lib/cutover-options';
import { APPROVAL_RECORD_KEY_SUFFIX, LOCK_PARTITION_KEY } from '../../lib/private/contract';
import { STATE_NAMES } from '../../lib/cutover-workflow';
import { Lab } from '../../lab/lab';
import { OPERATOR_ACCESS_KEY_ID } from '../../lab/recorder';
import { LAB_PROPS } from '../lab/lab-fixture';
import { cliEnv, latch, runCli } from './cli-fixture';
import { operateActions } from '../construct/fleet-fixture';

/**
 * `status`, `abort` and the bin itself against a lab whose fleet shifts traffic as a canary
 * (10 %, then the rest), one lab for the file.
 */
const CANARY = { cutover: { ...LAB_PROPS.cutover, trafficShift: TrafficShift.canary({ percent: 10, bake: Duration.seconds(1) }) } };
const BIN = path.join(__dirname, '..', '..', 'dist', 'cli', 'index.js');

let lab: Lab;

/** The caller's identity as the emulator's STS reports it (what the CLI records as who acted). */
async function callerArn(): Promise<string> {
  const sts = new STSClient({ endpoint: lab.moto.endpoint, region: 'us-east-1', credentials: { accessKeyId: OPERATOR_ACCESS_KEY_ID, secretAccessKey: 'operator' } });
  return (await sts.send(new GetCallerIdentityCommand({}))).Arn!;
}

beforeAll(async () => { lab = await Lab.start(CANARY); }, 120_000);
afterAll(async () => { await lab?.stop(); });

describe('status and abort mid-canary', () => {
  beforeAll(async () => { await lab.reset(CANARY); }, 60_000);

  test('status --json reports the split, both colours, the execution at its stage and the lock; abort ends at 100 % on the previous colour', async () => {
    const hold = latch();
    lab.nextRunHooks = { beforeTask: async (state, n) => { if (state === STATE_NAMES.watch(10) && n === 0) { hold.arrive(); await hold.wait; } } };
    const started = await runCli(lab, ['deploy', '--version', '2.0.0', '--yes']);
    expect(started.code).toBe(0);
    const arn = /Started (\S+)/.exec(started.stdout)![1];
    await hold.reached;
    try {
      await statusThenAbort(arn);
    } finally {
      hold.open();
    }
  });

  async function statusThenAbort(arn: string): Promise<void> {
    const { code, stdout } = await runCli(lab, ['status', '--json']);
    expect(code).toBe(0);
    const status = JSON.parse(stdout);
    const lock = (await lab.lock())!;
    expect(status).toMatchObject({
      fleetId: lab.config.fleetId,
      stateMachineArn: lab.stateMachineArn(),
      switch: 'listener-rule',
      live: null,
      weights: { production: await lab.weights('production'), test: await lab.weights('test') },
      lock: { owner: arn, phase: lock.phase.S, restoreTo: lock.restoreTo.S, expiresAt: new Date(Number(lock.expiresAt.N) * 1000).toISOString() },
      execution: { executionArn: arn, status: 'RUNNING', stage: STATE_NAMES.watch(10), startedBy: await callerArn() },
      pause: null,
      alarmsInAlarm: [],
    });
    expect(status.weights.production).toEqual({ blue: 90, green: 10 });
    for (const c of [Colour.BLUE, Colour.GREEN]) {
      const g = await lab.group(c);
      expect(status.colours[c]).toMatchObject({ desired: g.desired, min: g.min, max: g.max, inService: g.instances.length, release: await lab.release(c) });
      expect(status.colours[c].healthy).toBeLessThanOrEqual(g.instances.length);
    }
    expect(status.colours.blue.healthy).toBe(status.colours.blue.inService);

    const aborted = await runCli(lab, ['abort', '--yes']);
    expect(aborted.stderr).toBe('');
    expect(aborted.code).toBe(0);
    expect(aborted.stdout).toContain(`About to stop execution ${arn.split(':').pop()} (at '${STATE_NAMES.watch(10)}')`);
    expect(aborted.stdout).toContain('The lock is released. Traffic: blue 100 %, green 0 % (live: blue, version initial)');
    expect(await lab.weights()).toEqual({ blue: 100, green: 0 });
    expect(await lab.lock()).toBeUndefined();
    expect((await lab.group(Colour.GREEN)).desired).toBe(0);
    expect((await lab.execution(arn).done!).status).toBe('ABORTED');

    const after = JSON.parse((await runCli(lab, ['status', '--json'])).stdout);
    expect(after).toMatchObject({ live: 'blue', lock: null, execution: null, last: { executionArn: arn, outcome: 'stopped' } });
  }

  test('abort with nothing running says so and exits 2', async () => {
    const { code, stderr } = await runCli(lab, ['abort', '--yes']);
    expect(code).toBe(2);
    expect(stderr).toContain(`No execution is running on fleet '${lab.config.fleetId}' (its lock is free): nothing to abort.`);
  });

  test('usage errors name the option and the fix', async () => {
    const timeout = await runCli(lab, ['deploy', '--version', '2.0.0', '--timeout', '5', '--yes']);
    expect(timeout.code).toBe(2);
    expect(timeout.stderr).toContain('--timeout bounds the wait: pass it with --wait');
    const limit = await runCli(lab, ['history', '--limit', 'ten']);
    expect(limit.code).toBe(2);
    expect(limit.stderr).toContain("--limit 'ten' is not a count: use a whole number from 1 to 1000.");
    const unknown = await runCli(lab, ['promote']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("Unknown command 'promote': use one of deploy, rollback, abort, status, approve, reject, history");
    const both = await runCli(lab, ['status', '--stack', 'BlueGreenExample', '--state-machine', lab.stateMachineArn()]);
    expect(both.stderr).toContain('Pass either --state-machine or --stack (with --fleet), not both.');
    expect(await lab.lock()).toBeUndefined();
  });

  test('approve with no pause waiting says so and exits 2', async () => {
    const { code, stderr } = await runCli(lab, ['approve', '--yes']);
    expect(code).toBe(2);
    expect(stderr).toContain(`No pause is waiting on fleet '${lab.config.fleetId}'`);
  });
});

describe('finding the fleet by its stack', () => {
  test('--stack (and --fleet) find the cutover state machine in the stack, in moto\'s CloudFormation', async () => {
    // The lab runs the workflow itself, so its stack in moto has no state machine: a stack of its
    // own holds one, in moto's Step Functions, with the lab's definition (the fleet's resources).
    const stateMachineId = Object.keys(lab.template.Resources).find((id) => lab.template.Resources[id].Type === 'AWS::StepFunctions::StateMachine')!;
    await lab.clients.cfn.send(new CreateStackCommand({
      StackName: 'OpsLookup',
      TemplateBody: JSON.stringify({ Resources: { [stateMachineId]: { Type: 'AWS::StepFunctions::StateMachine', Properties: { DefinitionString: JSON.stringify(lab.definition), RoleArn: 'arn:aws:iam::123456789012:role/lab-states' } } } }),
    }));
    const listed = (await lab.clients.cfn.send(new ListStackResourcesCommand({ StackName: 'OpsLookup' }))).StackResourceSummaries!;
    const arn = listed.find((r) => r.LogicalResourceId === stateMachineId)!.PhysicalResourceId!;
    expect(arn).toMatch(/:stateMachine:/);

    const { BLUE_GREEN_STATE_MACHINE: _sm, ...env } = cliEnv(lab);
    const only = await runCli(lab, ['status', '--json', '--stack', 'OpsLookup'], { env });
    expect(only.stderr).toBe('');
    expect(JSON.parse(only.stdout)).toMatchObject({ stateMachineArn: arn, fleetId: lab.config.fleetId, weights: { production: await lab.weights() } });
    const named = await runCli(lab, ['status', '--json', '--stack', 'OpsLookup', '--fleet', 'Web'], { env });
    expect(JSON.parse(named.stdout).stateMachineArn).toBe(arn);

    const other = await runCli(lab, ['status', '--stack', 'OpsLookup', '--fleet', 'Api'], { env });
    expect(other.code).toBe(2);
    expect(other.stderr).toContain("Stack OpsLookup has no fleet 'Api': use one of Web.");
    const none = await runCli(lab, ['status', '--stack', 'BlueGreenExample'], { env });
    expect(none.stderr).toContain('Stack BlueGreenExample has no BlueGreenFleet cutover state machine');
    const gone = await runCli(lab, ['status', '--stack', 'NoSuchStack'], { env });
    expect(gone.code).toBe(2);
    expect(gone.stderr).toContain('Stack NoSuchStack does not exist in us-east-1');
  });
});

describe('the bin', () => {
  const env = () => ({ PATH: process.env.PATH!, HOME: process.env.HOME ?? '/tmp', ...cliEnv(lab) });

  test('runs as a child process: status --json exits 0, an unknown option exits 2 with the usage', async () => {
    const run = (args: string[]) => new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [BIN, ...args], { env: env() }, (error, stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stdout, stderr }));
    });
    const ok = await run(['status', '--json']);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout).weights.production).toEqual(await lab.weights());

    const bad = await run(['deploy', '--versoin', '2.0.0']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("Unknown option '--versoin'");
    expect(bad.stderr).toContain('Usage: cdk-ec2-blue-green deploy');
  });

  test('says what to do without credentials, and for a state machine that does not exist', async () => {
    const run = (args: string[], extra: Record<string, string>) => new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile(process.execPath, [BIN, ...args], { env: { ...env(), ...extra } }, (error, _stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stderr }));
    });
    // No keys, no profile files, no instance metadata: the SDK's default chain finds nothing.
    const { AWS_ACCESS_KEY_ID: _k, AWS_SECRET_ACCESS_KEY: _s, ...noKeys } = cliEnv(lab);
    const bare = await new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile(process.execPath, [BIN, 'status'], { env: { PATH: process.env.PATH!, HOME: '/nonexistent', AWS_EC2_METADATA_DISABLED: 'true', ...noKeys } }, (error, _stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stderr }));
    });
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain('Error: No AWS credentials');
    expect(bare.stderr).toContain('Set AWS_PROFILE');

    const missing = await run(['status', '--state-machine', `${lab.stateMachineArn()}Gone`], {});
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`State machine ${lab.stateMachineArn()}Gone does not exist in account 123456789012, region us-east-1: check the ARN`);
  });

  test('deploy in a terminal asks y/N, and an answer other than y changes nothing', async () => {
    const child = spawn('script', ['-qefc', `exec ${process.execPath} ${BIN} deploy --version 2.0.0`, '/dev/null'], { env: { ...env(), TERM: 'xterm' }, stdio: ['pipe', 'pipe', 'pipe'] });
    let screen = '';
    child.stdout.on('data', (d) => { screen += d.toString('utf8'); });
    const exited = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? -1)));
    const deadline = Date.now() + 20_000;
    while (!screen.includes('Go ahead? [y/N]') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    child.stdin.write('n\r');
    const code = await exited;

    expect(screen).toContain("About to deploy version 2.0.0 to fleet '");
    expect(code).toBe(2);
    expect(screen).toContain('Cancelled: nothing was changed.');
    expect(await lab.lock()).toBeUndefined();
  }, 60_000);

  test('status --watch in a terminal: a coloured screen redrawn until Ctrl-C', async () => {
    // util-linux script(1) runs the bin on a pseudo-terminal: stdout is a TTY, and Ctrl-C typed
    // into it reaches the bin as SIGINT. -e: script exits with the bin's exit code; exec: the
    // shell script(1) starts the command with becomes the bin (a shell left waiting would die of
    // the SIGINT too, and script would report that).
    const child = spawn('script', ['-qefc', `exec ${process.execPath} ${BIN} status --watch`, '/dev/null'], { env: { ...env(), TERM: 'xterm' }, stdio: ['pipe', 'pipe', 'pipe'] });
    let screen = '';
    child.stdout.on('data', (d) => { screen += d.toString('utf8'); });
    const exited = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? -1)));
    const clears = () => screen.split('\u001b[H\u001b[2J').length - 1;
    const deadline = Date.now() + 20_000;
    while (clears() < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    child.stdin.write('\u0003');
    const code = await exited;

    expect(clears()).toBeGreaterThanOrEqual(2);
    expect(code).toBe(0);
    // eslint-disable-next-line no-control-regex
    const text = screen.split('\u001b[H\u001b[2J').pop()!.replace(/\u001b\[[0-9;]*m/g, '').replace(/\r/g, '');
    expect(text).toContain(`Fleet ${lab.config.fleetId}  (listener rule)`);
    expect(text).toMatch(/Traffic +production +blue +100 % +green +0 % +live: blue/);
    expect(text).toMatch(/blue \* +2 +2 +2 +initial +ami-/);
    expect(text).toContain('Lock       free');
    expect(text).toContain('(every 2 s; Ctrl-C to stop)');
    // Colour on a terminal: the live colour's name in blue.
    expect(screen).toContain('\u001b[34mblue\u001b[0m');
  }, 60_000);
});

/** The canary fleet with the approval gate's pauses. */
const gated = (approval: CutoverOptions['approval']) => ({ ...CANARY, cutover: { ...CANARY.cutover, approval } });

/**
 * `deploy --wait` as a pipeline runs it, held before the pause's second poll (the first one set
 * the pause on the lock), so a decision written now is what that poll reads.
 */
async function deployHeldAtPause(pause: string, version: string) {
  const hold = latch();
  lab.nextRunHooks = { beforeTask: async (state, n) => { if (state === pause && n === 1) { hold.arrive(); await hold.wait; } } };
  const waiting = runCli(lab, ['deploy', '--version', version, '--yes', '--wait']);
  await hold.reached;
  return { hold, waiting };
}

describe('approve and reject at the approval gate (the real gate, its pauses polled on the record the CLI writes)', () => {
  test('a pause before the shift approved: status shows it, approve records the caller, deploy --wait exits 0 with traffic on the new colour', async () => {
    await lab.reset(gated({ timeout: Duration.minutes(10) }));
    const pause = STATE_NAMES.approval();
    const { hold, waiting } = await deployHeldAtPause(pause, '2.0.0');
    try {
      const lock = (await lab.lock())!;
      const onLock = JSON.parse(lock.pause!.S!);
      expect(onLock).toMatchObject({ state: pause, onTimeout: 'roll-back' });
      expect((await runCli(lab, ['status'])).stdout).toContain(`Pause      waiting at '${pause}' since ${onLock.since}; at ${onLock.until} it will roll back`);
      expect(JSON.parse((await runCli(lab, ['status', '--json'])).stdout).pause).toEqual(onLock);
      // Nothing moved while paused.
      expect(await lab.weights()).toEqual({ blue: 100, green: 0 });

      const approved = await runCli(lab, ['approve', '--yes']);
      expect(approved.code).toBe(0);
      expect(approved.stdout).toContain(`About to approve '${pause}' of ${lock.owner!.S!.split(':').pop()}: the cutover goes on.`);
      const record = (await lab.clients.dynamoDb.send(new GetItemCommand({ TableName: lab.config.lockTableName, Key: { [LOCK_PARTITION_KEY]: { S: `${lab.config.fleetId}${APPROVAL_RECORD_KEY_SUFFIX}` } } }))).Item!;
      expect(record).toMatchObject({ executionId: { S: lock.owner!.S! }, pause: { S: pause }, decision: { S: 'approve' }, by: { S: await callerArn() } });
    } finally {
      hold.open();
    }
    const { code, stdout } = await waiting;
    expect(code).toBe(0);
    expect(stdout).toContain(`  ${pause}\n`);
    expect(stdout).toContain(`paused until`);
    expect(stdout).toContain(`then it will roll back. Decide with: cdk-ec2-blue-green approve (or reject) --state-machine ${lab.stateMachineArn()}`);
    expect(stdout).toMatch(/Execution \S+ succeeded/);
    expect(await lab.weights()).toEqual({ blue: 0, green: 100 });
  });

  // Rejected before the shift nothing moved: the execution fails ApprovalRejected (2). Rejected at a
  // step, traffic had moved: the workflow moves it back and fails RolledBack (1), the cause naming the rejection.
  test.each([
    ['before the shift', { timeout: Duration.minutes(10) }, STATE_NAMES.approval(), { blue: 100, green: 0 }, 2, /Execution \S+ failed \(FAILED\): ApprovalRejected/],
    ['at the canary step', { timeout: Duration.minutes(10), beforeShift: false, betweenSteps: true }, STATE_NAMES.approval(10), { blue: 90, green: 10 }, 1, /Execution \S+ rolled back: RolledBack\n +ApprovalRejected after traffic moved/],
  ])('a pause %s rejected: deploy --wait exits as the workflow ended, all traffic back on the previous colour', async (_where, approval, pause, whilePaused, exit, ended) => {
    await lab.reset(gated(approval));
    const { hold, waiting } = await deployHeldAtPause(pause, '2.0.0');
    try {
      expect(await lab.weights()).toEqual(whilePaused);
      const rejected = await runCli(lab, ['reject', '--yes']);
      expect(rejected.code).toBe(0);
      expect(rejected.stdout).toContain(`About to reject '${pause}'`);
    } finally {
      hold.open();
    }
    const { code, stdout } = await waiting;
    expect(code).toBe(exit);
    expect(stdout).toMatch(ended);
    expect(stdout).toContain('Traffic: blue 100 %, green 0 % (live: blue, version initial)');
    expect(await lab.weights()).toEqual({ blue: 100, green: 0 });
    expect((await lab.group(Colour.GREEN)).desired).toBe(0);
    expect(await lab.lock()).toBeUndefined();
  });

  // The lab runs every Wait at 0 s, so the pause polls back to back and 2 s pass in real time; 2 s is
  // a timeout validation allows any user (at least 1 s and at least the poll interval).
  test.each([
    [ApprovalTimeoutAction.CONTINUE, 0, { blue: 0, green: 100 }],
    [ApprovalTimeoutAction.ROLL_BACK, 1, { blue: 100, green: 0 }],
  ])('a pause nobody decides, onTimeout %s: deploy --wait exits %i', async (onTimeout, exit, weights) => {
    await lab.reset(gated({ timeout: Duration.seconds(2), onTimeout }));
    const { code, stdout } = await runCli(lab, ['deploy', '--version', '2.0.0', '--yes', '--wait']);
    expect(code).toBe(exit);
    if (exit === 1) expect(stdout).toMatch(/Execution \S+ rolled back: ApprovalTimedOut/);
    expect(await lab.weights()).toEqual(weights);
    expect(await lab.lock()).toBeUndefined();
  });
});

describe('history after three releases', () => {
  test('deploy 2.0.0, 2.1.0 rolled back by an alarm in the bake, 2.2.0: history lists them newest first with who, outcome, reason and times', async () => {
    await lab.reset(CANARY);
    expect((await runCli(lab, ['deploy', '--version', '2.0.0', '--yes', '--wait'])).code).toBe(0);
    // 2.1.0 goes to blue; blue's 5XX alarm fires in the bake.
    const alarm = lab.config.colours.blue.alarmNames.find((n) => n.includes('ServerErrors'))!;
    lab.nextRunHooks = { beforeTask: async (state, n) => { if (state === STATE_NAMES.bake && n === 0) await lab.setAlarm(alarm, 'ALARM'); } };
    const rolledBack = await runCli(lab, ['deploy', '--version', '2.1.0', '--yes', '--wait']);
    await lab.setAlarm(alarm, 'OK');
    expect(rolledBack.code).toBe(1);
    expect((await runCli(lab, ['deploy', '--version', '2.2.0', '--yes', '--wait'])).code).toBe(0);

    const json = await runCli(lab, ['history', '--json']);
    expect(json.code).toBe(0);
    const entries = JSON.parse(json.stdout);
    const who = await callerArn();
    expect(entries.map((e: any) => [e.action, e.outcome, e.to, e.releases[e.to]?.version, e.startedBy])).toEqual([
      ['deploy', 'succeeded', 'blue', '2.2.0', who],
      ['deploy', 'rolled-back', 'blue', '2.1.0', who],
      ['deploy', 'succeeded', 'green', '2.0.0', who],
    ]);
    expect(entries[1].rollbackReason).toContain(alarm);
    expect(entries[1].error).toBe('RolledBack');
    expect(entries[1].timeToDetectSeconds).toEqual(expect.any(Number));
    expect(entries[1].timeToRevertSeconds).toEqual(expect.any(Number));
    expect(entries[0].timeToDetectSeconds).toBeUndefined();
    expect(entries.map((e: any) => Date.parse(e.endedAt))).toEqual([...entries.map((e: any) => Date.parse(e.endedAt))].sort((a, b) => b - a));

    const limited = JSON.parse((await runCli(lab, ['history', '--json', '--limit', '1'])).stdout);
    expect(limited.map((e: any) => e.releases[e.to].version)).toEqual(['2.2.0']);

    const table = (await runCli(lab, ['history'])).stdout.trim().split('\n');
    expect(table[0]).toMatch(/^ended +action +outcome +to +release +detect +revert +execution +started by$/);
    expect(table[1]).toMatch(new RegExp(`^\\S+Z +deploy +succeeded +blue +2\\.2\\.0 +- +- +\\S+ +${who.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));
    expect(table[2]).toMatch(/^\S+Z +deploy +rolled-back +blue +2\.1\.0 +\d+ s +\d+ s +/);
    // The reason under the rolled-back row.
    expect(table[3]).toContain(alarm);
    expect(table[4]).toMatch(/deploy +succeeded +green +2\.0\.0/);
  });
});

describe('permissions', () => {
  // Runs last in this file: every call the CLI made above (status, abort, approve, reject, history,
  // deploy --wait, --stack) as the recorder saw it.
  test('every AWS action the CLI called in this file is one fleet.grantOperate grants (sts:GetCallerIdentity needs none)', () => {
    const prefix: Record<string, string> = { monitoring: 'cloudwatch' };
    const called = [...new Set(lab.recorder.operatorCalls.map((c) => `${prefix[c.service] ?? c.service}:${c.action}`))].sort();
    // "No permissions are required to perform this operation" (AWS STS API reference, GetCallerIdentity).
    const needed = called.filter((a) => a !== 'sts:GetCallerIdentity');
    expect(needed).toEqual(expect.arrayContaining(['states:StartExecution', 'states:StopExecution', 'dynamodb:PutItem', 'dynamodb:Query', 'cloudformation:ListStackResources']));
    const granted = new Set(operateActions());
    expect(needed.filter((a) => !granted.has(a))).toEqual([]);
  });
});
