import { parseArgs, ParseArgsConfig } from 'util';
import { abort, decide, start, status } from './commands';
import { history } from './history';
import { findFleet } from './fleet';
import { CliError, CliIo, EXIT } from './io';

const FLEET_HELP = `Finding the fleet:
  --state-machine ARN   the fleet's cutover state machine (or set BLUE_GREEN_STATE_MACHINE)
  --stack NAME          or the stack the fleet is in (CloudFormation, in AWS_REGION) ...
  --fleet ID            ... and the fleet's construct id (needed when the stack has several)
AWS credentials come from the usual places (AWS_PROFILE, SSO, environment); the region is the
state machine's.`;

const EXIT_HELP = `Exit codes: 0 done (succeeded), 1 rolled back, 2 failed or rejected (or the command
could not run), 3 the wait ran out (the execution goes on).`;

interface Command {
  readonly summary: string;
  readonly usage: string;
  readonly details: string;
  readonly options: NonNullable<ParseArgsConfig['options']>;
  readonly run: (values: Record<string, any>, io: CliIo) => Promise<number>;
}

const common = {
  'state-machine': { type: 'string' },
  'stack': { type: 'string' },
  'fleet': { type: 'string' },
  'help': { type: 'boolean', short: 'h' },
} as const;

function where(v: Record<string, any>): { stateMachine?: string; stack?: string; fleet?: string } {
  return { stateMachine: v['state-machine'], stack: v.stack, fleet: v.fleet };
}

/** --timeout of deploy and rollback: only with --wait (the wait it bounds). */
function waitTimeout(v: Record<string, any>): number | undefined {
  if (v.timeout !== undefined && !v.wait) throw new CliError('--timeout bounds the wait: pass it with --wait (without --wait the command returns once the execution started).');
  return seconds(v.timeout, '--timeout');
}

function seconds(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new CliError(`${flag} '${value}' is not a number of seconds: use a positive number, such as ${flag} 600.`);
  return n;
}

const COMMANDS: Record<string, Command> = {
  deploy: {
    summary: 'release a version or an image into the idle colour and move traffic to it',
    usage: 'cdk-ec2-blue-green deploy (--version V | --image AMI) [--wait [--timeout SECONDS]] [--yes]',
    details: `Starts the cutover workflow with {"version": V} and/or {"imageId": AMI} and "startedBy" (your
identity from STS, else $USER). Refuses while another execution runs (it names it; stop it with abort).
  --version V        the application version to release (1.4.2)
  --image AMI        the machine image to release (ami-0123456789abcdef0)
  --wait             follow the execution stage by stage until it ends; the exit code says how
  --timeout SECONDS  with --wait: stop waiting after this long (exit 3; the execution goes on)
  --yes              do not ask for confirmation (needed when stdin is not a terminal)`,
    options: { ...common, version: { type: 'string' }, image: { type: 'string' }, wait: { type: 'boolean' }, timeout: { type: 'string' }, yes: { type: 'boolean', short: 'y' } },
    run: async (v, io) => start(await findFleet(io, where(v)), io, { action: 'deploy', version: v.version, imageId: v.image, wait: !!v.wait, timeoutSeconds: waitTimeout(v), yes: !!v.yes }),
  },
  rollback: {
    summary: 'move all traffic back to the colour the last cutover left (while it is warm)',
    usage: 'cdk-ec2-blue-green rollback [--wait [--timeout SECONDS]] [--yes]',
    details: `Starts the cutover workflow with {"action": "rollback"}: only to the colour the last cutover
recorded leaving, still holding its release and healthy; otherwise it fails with NothingToRollBack.
  --wait, --timeout, --yes   as for deploy`,
    options: { ...common, wait: { type: 'boolean' }, timeout: { type: 'string' }, yes: { type: 'boolean', short: 'y' } },
    run: async (v, io) => start(await findFleet(io, where(v)), io, { action: 'rollback', wait: !!v.wait, timeoutSeconds: waitTimeout(v), yes: !!v.yes }),
  },
  abort: {
    summary: 'stop the running execution: traffic goes back to the colour that served before',
    usage: 'cdk-ec2-blue-green abort [--timeout SECONDS] [--yes]',
    details: `Stops the execution that holds the fleet's lock (StopExecution, as the console's Stop). The
recovery handler then gives all production traffic to the colour the lock names, scales the other to
zero and releases the lock; abort waits for that (default 600 s) and says where traffic is.
  --timeout SECONDS  how long to wait for the lock to be released (exit 3 when it is not)
  --yes              do not ask for confirmation`,
    options: { ...common, timeout: { type: 'string' }, yes: { type: 'boolean', short: 'y' } },
    run: async (v, io) => abort(await findFleet(io, where(v)), io, { yes: !!v.yes, timeoutSeconds: seconds(v.timeout, '--timeout') }),
  },
  status: {
    summary: 'show traffic, both colours, the running execution, the lock, pause and alarms',
    usage: 'cdk-ec2-blue-green status [--watch] [--json]',
    details: `  --watch   redraw every 2 s until Ctrl-C
  --json    print the status as JSON (fields in the README, "Operating a fleet")`,
    options: { ...common, watch: { type: 'boolean', short: 'w' }, json: { type: 'boolean' } },
    run: async (v, io) => status(await findFleet(io, where(v)), io, { watch: !!v.watch, json: !!v.json }),
  },
  approve: {
    summary: 'let a paused cutover go on',
    usage: 'cdk-ec2-blue-green approve [--yes]',
    details: `Writes the approval record for the pause the fleet's lock shows (the cutover's approval gate).
Fails with "no pause is waiting" when there is none.`,
    options: { ...common, yes: { type: 'boolean', short: 'y' } },
    run: async (v, io) => decide(await findFleet(io, where(v)), io, 'approve', { yes: !!v.yes }),
  },
  reject: {
    summary: 'roll a paused cutover back',
    usage: 'cdk-ec2-blue-green reject [--yes]',
    details: 'Writes a rejection for the pause the fleet\'s lock shows: the cutover rolls back.',
    options: { ...common, yes: { type: 'boolean', short: 'y' } },
    run: async (v, io) => decide(await findFleet(io, where(v)), io, 'reject', { yes: !!v.yes }),
  },
  history: {
    summary: 'list the fleet\'s last releases, newest first',
    usage: 'cdk-ec2-blue-green history [--limit N] [--json]',
    details: `  --limit N   how many (default 10)
  --json      print the entries as JSON`,
    options: { ...common, limit: { type: 'string' }, json: { type: 'boolean' } },
    run: async (v, io) => {
      const limit = v.limit === undefined ? 10 : Number(v.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new CliError(`--limit '${v.limit}' is not a count: use a whole number from 1 to 1000.`);
      return history(await findFleet(io, where(v)), io, { limit, json: !!v.json });
    },
  },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  return `cdk-ec2-blue-green: operate a BlueGreenFleet's cutovers.

Usage: cdk-ec2-blue-green <command> [options]   (cdk-ec2-blue-green <command> --help for more)

Commands:
${Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`).join('\n')}

${FLEET_HELP}

${EXIT_HELP}
`;
}

/** Runs the CLI with `argv` (without node and the script); returns the exit code. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(usage());
    return name ? EXIT.OK : EXIT.FAILED;
  }
  const command = COMMANDS[name];
  if (!command) {
    io.stderr.write(`Unknown command '${name}': use one of ${Object.keys(COMMANDS).join(', ')} (cdk-ec2-blue-green --help).\n`);
    return EXIT.FAILED;
  }
  let values: Record<string, any>;
  try {
    ({ values } = parseArgs({ args: [...rest], options: command.options, strict: true, allowPositionals: false }));
  } catch (e) {
    io.stderr.write(`${(e as Error).message.replace(/\. To specify.*$/s, '.')}\nUsage: ${command.usage} (see cdk-ec2-blue-green ${name} --help)\n`);
    return EXIT.FAILED;
  }
  if (values.help) {
    io.stdout.write(`${command.summary}\n\nUsage: ${command.usage}\n\n${command.details}\n\n${FLEET_HELP}\n\n${EXIT_HELP}\n`);
    return EXIT.OK;
  }
  try {
    return await command.run(values, io);
  } catch (e) {
    if (e instanceof CliError) {
      io.stderr.write(`Error: ${e.message}\n`);
      return e.exitCode;
    }
    io.stderr.write(`Error: ${(e as Error)?.stack ?? String(e)}\n`);
    return EXIT.FAILED;
  }
}
