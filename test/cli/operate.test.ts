import { execFile, spawn } from 'child_process';
import * as path from 'path';
import { CreateStackCommand, ListStackResourcesCommand } from '@aws-sdk/client-cloudformation';
import { GetItemCommand, PutItemCommand, UpdateItemCommand, UpdateTableCommand } from '@aws-sdk/client-dynamodb';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { Duration } from 'aws-cdk-lib';
import { Colour, TrafficShift } from '../../lib';
import { LOCK_PARTITION_KEY } from '../../lib/private/contract';
import { STATE_NAMES } from '../../lib/cutover-workflow';
import { Lab } from '../../lab/lab';
import { OPERATOR_ACCESS_KEY_ID } from '../../lab/recorder';
import { LAB_PROPS } from '../lab/lab-fixture';
import { cliEnv, latch, runCli } from './cli-fixture';

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

describe('approve and reject', () => {
  beforeAll(async () => { await lab.reset(CANARY); }, 60_000);

  test('write the approval record for the pause the lock shows (contract of the approval gate)', async () => {
    const hold = latch();
    lab.nextRunHooks = { beforeTask: async (state) => { if (state === STATE_NAMES.prepare) { hold.arrive(); await hold.wait; } } };
    const arn = /Started (\S+)/.exec((await runCli(lab, ['deploy', '--version', '2.0.0', '--yes'])).stdout)![1];
    await hold.reached;
    try {
      // A paused handler sets `pause` on the lock item (JSON text: state, since, until, onTimeout).
      const pause = { state: 'Approve the release', since: '2026-01-01T10:00:00.000Z', until: '2026-01-01T11:00:00.000Z', onTimeout: 'roll-back' };
      await lab.clients.dynamoDb.send(new UpdateItemCommand({
        TableName: lab.config.lockTableName,
        Key: { [LOCK_PARTITION_KEY]: { S: lab.config.fleetId } },
        UpdateExpression: 'SET #p = :p',
        ExpressionAttributeNames: { '#p': 'pause' },
        ExpressionAttributeValues: { ':p': { S: JSON.stringify(pause) } },
      }));
      const screen = await runCli(lab, ['status']);
      expect(screen.stdout).toContain("Pause      waiting at 'Approve the release' since 2026-01-01T10:00:00.000Z; at 2026-01-01T11:00:00.000Z it will roll back");
      expect(JSON.parse((await runCli(lab, ['status', '--json'])).stdout).pause).toEqual(pause);

      const key = { [LOCK_PARTITION_KEY]: { S: `${lab.config.fleetId}#approval` } };
      const approved = await runCli(lab, ['approve', '--yes']);
      expect(approved.code).toBe(0);
      const record = (await lab.clients.dynamoDb.send(new GetItemCommand({ TableName: lab.config.lockTableName, Key: key }))).Item!;
      expect(record).toMatchObject({ executionId: { S: arn }, pause: { S: pause.state }, decision: { S: 'approve' }, by: { S: await callerArn() } });
      expect(Date.parse(record.at.S!)).toBeGreaterThan(Date.now() - 60_000);

      const rejected = await runCli(lab, ['reject', '--yes']);
      expect(rejected.code).toBe(0);
      expect((await lab.clients.dynamoDb.send(new GetItemCommand({ TableName: lab.config.lockTableName, Key: key }))).Item!.decision).toEqual({ S: 'reject' });
    } finally {
      hold.open();
    }
    await lab.execution(arn).done;
  });
});

describe('history', () => {
  test('lists the History index newest first, as the history records it (contract of the release history)', async () => {
    const table = lab.config.lockTableName;
    // The index the release history adds to the lock table (partition historyOf, sort endedAt).
    await lab.clients.dynamoDb.send(new UpdateTableCommand({
      TableName: table,
      AttributeDefinitions: [{ AttributeName: 'historyOf', AttributeType: 'S' }, { AttributeName: 'endedAt', AttributeType: 'S' }],
      GlobalSecondaryIndexUpdates: [{ Create: { IndexName: 'History', KeySchema: [{ AttributeName: 'historyOf', KeyType: 'HASH' }, { AttributeName: 'endedAt', KeyType: 'RANGE' }], Projection: { ProjectionType: 'ALL' } } }],
    })).catch((e) => { if (!/already exists/i.test(e.message)) throw e; });
    const fleetId = lab.config.fleetId;
    const entry = (n: number, outcome: string, version: string) => {
      const endedAt = `2026-01-0${n}T10:00:00.000Z`;
      return {
        [LOCK_PARTITION_KEY]: { S: `${fleetId}#history#${endedAt}#run-${n}` },
        historyOf: { S: fleetId }, endedAt: { S: endedAt }, startedAt: { S: `2026-01-0${n}T09:50:00.000Z` },
        executionId: { S: `arn:aws:states:us-east-1:123456789012:execution:sm:run-${n}` }, action: { S: 'deploy' }, outcome: { S: outcome },
        input: { S: JSON.stringify({ version }) }, from: { S: 'blue' }, to: { S: 'green' }, live: { S: outcome === 'succeeded' ? 'green' : 'blue' },
        releases: { M: { green: { M: { imageId: { S: 'ami-12345678' }, version: { S: version } } }, blue: { M: { imageId: { S: 'ami-12345678' }, version: { S: 'initial' } } } } },
        stages: { S: '[]' }, startedBy: { S: `ops-${n}` },
      };
    };
    for (const [n, outcome, version] of [[1, 'succeeded', '1.0.0'], [2, 'rolled-back', '1.1.0'], [3, 'succeeded', '1.2.0']] as const) {
      await lab.clients.dynamoDb.send(new PutItemCommand({ TableName: table, Item: entry(n, outcome, version) }));
    }

    const json = await runCli(lab, ['history', '--limit', '2', '--json']);
    expect(json.code).toBe(0);
    const entries = JSON.parse(json.stdout);
    expect(entries.map((e: any) => [e.endedAt, e.outcome, e.startedBy])).toEqual([['2026-01-03T10:00:00.000Z', 'succeeded', 'ops-3'], ['2026-01-02T10:00:00.000Z', 'rolled-back', 'ops-2']]);
    expect(entries[0].releases.green).toEqual({ imageId: 'ami-12345678', version: '1.2.0' });

    const table2 = await runCli(lab, ['history']);
    const rows = table2.stdout.trim().split('\n').slice(1);
    expect(rows).toHaveLength(3);
    expect(rows[1]).toMatch(/^2026-01-02T10:00:00Z +deploy +rolled-back +blue +initial +run-2 +ops-2$/);
  });
});
