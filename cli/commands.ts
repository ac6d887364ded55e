import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { DescribeExecutionCommand, DescribeExecutionCommandOutput, GetExecutionHistoryCommand, HistoryEvent, StartExecutionCommand, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { APPROVAL_RECORD_KEY_SUFFIX, COLOURS, CutoverErrorName, IMAGE_ID_PATTERN, LOCK_PARTITION_KEY, LockPhase, RECOVERY_OWNER_PREFIX, VERSION_PATTERN } from '../lib/private/contract';
import { STATE_NAMES } from '../lib/private/stage-names';
import { call, callerIdentity } from './aws';
import { currentStage, Fleet, FleetStatus, ownerExecution, readLock, readStatus } from './fleet';
import { CliError, CliIo, EXIT, sleep, styleFor } from './io';
import { renderStatus } from './render';

const out = (io: CliIo, text: string) => io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
const pollMs = (io: CliIo) => io.pollMs ?? 2000;

/**
 * Asks before a change: says what will happen, then y/N on a terminal; without a terminal only
 * --yes goes on.
 */
export async function confirm(io: CliIo, yes: boolean, what: string): Promise<void> {
  out(io, what);
  if (yes) return;
  if (!io.confirm) throw new CliError('Not confirmed: stdin is not a terminal, so nothing can be asked. Pass --yes to go ahead.');
  if (!(await io.confirm('Go ahead? [y/N] '))) throw new CliError('Cancelled: nothing was changed.');
}

/**
 * The exit code of an execution that ended. 0: SUCCEEDED. 1 (rolled back): FAILED with
 * `RolledBack` (the workflow moved traffic back to the previous colour and scaled the new one to
 * zero), or ABORTED / TIMED_OUT (stopped from outside: the recovery handler gives all traffic to
 * the colour the lock names). 2: any other failure: rejected input (`InvalidInput`), another
 * cutover holding the lock (`CutoverInProgress`), `Superseded`, a colour that never became
 * healthy or failed its smoke tests (`IdleNotHealthy`, `SmokeTestFailed`: traffic never moved),
 * `NothingToRollBack`, `FleetStateConflict`, `RollbackFailed` (traffic may still reach the
 * new colour: act by hand), and `ApprovalRejected` (an operator rejected the release at a pause
 * before traffic moved). Rejected at a step, after traffic moved, the workflow moves it back and
 * ends `RolledBack`: 1. `ApprovalTimedOut` is 1: nobody decided, and the pause's default action
 * rolled the release back.
 */
export function exitCodeFor(status: string | undefined, error: string | undefined): number {
  if (status === 'SUCCEEDED') return EXIT.OK;
  if (status === 'ABORTED' || status === 'TIMED_OUT') return EXIT.ROLLED_BACK;
  if (status === 'FAILED' && (error === CutoverErrorName.ROLLED_BACK || error === CutoverErrorName.APPROVAL_TIMED_OUT)) return EXIT.ROLLED_BACK;
  return EXIT.FAILED;
}

/** The execution holding the fleet's lock, if it is still running. */
async function runningOwner(fleet: Fleet): Promise<{ arn: string; phase: string | null; recovering: boolean } | undefined> {
  const { lock } = await readLock(fleet);
  const arn = ownerExecution(lock?.owner);
  if (!lock || !arn) return undefined;
  if (lock.owner.startsWith(RECOVERY_OWNER_PREFIX)) return { arn, phase: lock.phase, recovering: true };
  const d = await call('states:DescribeExecution', () => fleet.aws.sfn.send(new DescribeExecutionCommand({ executionArn: arn })));
  return d.status === 'RUNNING' ? { arn, phase: lock.phase, recovering: false } : undefined;
}

export interface StartOptions {
  readonly action: 'deploy' | 'rollback';
  readonly version?: string;
  readonly imageId?: string;
  readonly wait: boolean;
  readonly timeoutSeconds?: number;
  readonly yes: boolean;
}

/** deploy and rollback: StartExecution, then with --wait follows it to the end. */
export async function start(fleet: Fleet, io: CliIo, opts: StartOptions): Promise<number> {
  if (opts.action === 'deploy') {
    if (opts.version === undefined && opts.imageId === undefined) throw new CliError('deploy needs --version V or --image AMI (or both): what to release into the idle colour.');
    if (opts.version !== undefined && !VERSION_PATTERN.test(opts.version)) {
      throw new CliError(`--version '${opts.version}' is not a version: use 1 to 128 letters, digits and . _ + - starting with a letter or digit, such as 1.4.2. Nothing was started.`);
    }
    if (opts.imageId !== undefined && !IMAGE_ID_PATTERN.test(opts.imageId)) {
      throw new CliError(`--image '${opts.imageId}' is not an AMI id: use 'ami-' followed by 8 or 17 hex digits, such as ami-0123456789abcdef0. Nothing was started.`);
    }
  }
  const busy = await runningOwner(fleet);
  // A rollback may take over a finished cutover that only keeps its previous colour warm.
  if (busy && !(opts.action === 'rollback' && busy.phase === LockPhase.KEEPING_WARM)) {
    throw new CliError(busy.recovering
      ? `The recovery handler is putting fleet '${fleet.config.fleetId}' back after ${busy.arn} stopped: wait until it is done (cdk-ec2-blue-green status --watch), then try again.`
      : `Execution ${busy.arn} is running on fleet '${fleet.config.fleetId}'${busy.phase ? ` (phase ${busy.phase})` : ''}: wait for it (cdk-ec2-blue-green status --watch) or stop it and roll back (cdk-ec2-blue-green abort).`);
  }
  const startedBy = await callerIdentity(fleet.aws, io);
  const input = opts.action === 'rollback'
    ? { action: 'rollback', startedBy }
    : { ...(opts.version !== undefined ? { version: opts.version } : {}), ...(opts.imageId !== undefined ? { imageId: opts.imageId } : {}), startedBy };
  const release = [opts.version !== undefined ? `version ${opts.version}` : '', opts.imageId !== undefined ? `image ${opts.imageId}` : ''].filter(Boolean).join(' and ');
  await confirm(io, opts.yes, opts.action === 'rollback'
    ? `About to roll fleet '${fleet.config.fleetId}' back: all production traffic moves to the colour the last cutover left, if it is still warm and healthy.`
    : `About to deploy ${release} to fleet '${fleet.config.fleetId}': into the idle colour, then traffic moves to it (rolled back on an alarm).`);
  const started = await call('states:StartExecution', () => fleet.aws.sfn.send(new StartExecutionCommand({ stateMachineArn: fleet.stateMachineArn, input: JSON.stringify(input) })));
  const arn = started.executionArn!;
  out(io, `Started ${arn}`);
  if (!opts.wait) {
    out(io, 'Follow it with: cdk-ec2-blue-green status --watch');
    return EXIT.OK;
  }
  return follow(fleet, io, arn, opts.timeoutSeconds);
}

/**
 * Follows an execution: prints each state the first time it is entered (with the time since the
 * execution started), then how it ended. Returns the exit code (see exitCodeFor), or 3 when
 * `timeoutSeconds` ran out first.
 */
export async function follow(fleet: Fleet, io: CliIo, executionArn: string, timeoutSeconds?: number): Promise<number> {
  const style = styleFor(io);
  const deadline = timeoutSeconds !== undefined ? Date.now() + timeoutSeconds * 1000 : Infinity;
  const printed = new Set<string>();
  let lastId = 0;
  let startedAt: number | undefined;
  let pendingPause: string | undefined;
  for (;;) {
    const fresh = await newEvents(fleet, executionArn, lastId);
    for (const e of fresh) {
      lastId = Math.max(lastId, e.id ?? 0);
      const at = e.timestamp ? e.timestamp.getTime() : Date.now();
      if (e.type === 'ExecutionStarted') startedAt = at;
      const name = e.stateEnteredEventDetails?.name;
      if (!name || printed.has(name)) continue;
      printed.add(name);
      out(io, `${style.dim(`+${(((at - (startedAt ?? at)) / 1000)).toFixed(1).padStart(6)}s`)}  ${name}`);
      if (isPause(name)) pendingPause = name;
      else if (pendingPause && !pauseStates(pendingPause).includes(name)) pendingPause = undefined;
    }
    // The pause is said once the gate's first poll has put it on the lock.
    if (pendingPause && await sayPause(fleet, io, pendingPause)) pendingPause = undefined;
    const d: DescribeExecutionCommandOutput = await call('states:DescribeExecution', () => fleet.aws.sfn.send(new DescribeExecutionCommand({ executionArn })));
    if (d.status !== 'RUNNING') {
      // The states entered between the last read of the history and the end.
      for (const e of await newEvents(fleet, executionArn, lastId)) {
        const name = e.stateEnteredEventDetails?.name;
        if (!name || printed.has(name)) continue;
        printed.add(name);
        const at = e.timestamp ? e.timestamp.getTime() : Date.now();
        out(io, `${style.dim(`+${(((at - (startedAt ?? at)) / 1000)).toFixed(1).padStart(6)}s`)}  ${name}`);
      }
      return ended(fleet, io, d);
    }
    if (Date.now() >= deadline) {
      const stage = await currentStage(fleet, executionArn);
      out(io, style.yellow(`Stopped waiting after ${timeoutSeconds} s: the execution is still RUNNING${stage ? ` (at '${stage}')` : ''} and goes on.`));
      out(io, `Follow it with 'cdk-ec2-blue-green status --watch', or stop it and roll back with 'cdk-ec2-blue-green abort'. ${executionArn}`);
      return EXIT.TIMED_OUT;
    }
    await sleep(Math.min(pollMs(io), Math.max(0, deadline - Date.now())), io.signal);
  }
}

/** Whether a state is one of the approval gate's pauses (before the shift, or at a step's weight). */
const STEP_PAUSE = STATE_NAMES.approval(0).replace(/0%$/, '');
const isPause = (state: string) => state === STATE_NAMES.approval() || (state.startsWith(STEP_PAUSE) && /^\d+%$/.test(state.slice(STEP_PAUSE.length)));

/** A pause's own states: its verdict and its wait, between two polls. */
function pauseStates(pause: string): string[] {
  const weight = pause === STATE_NAMES.approval() ? undefined : Number(pause.slice(STEP_PAUSE.length, -1));
  return [pause, STATE_NAMES.approvalVerdict(weight), STATE_NAMES.waitApproval(weight)];
}

/** While following: a pause the lock shows, and the commands that decide it. Whether it was said. */
async function sayPause(fleet: Fleet, io: CliIo, state: string): Promise<boolean> {
  const { pause } = await readLock(fleet).catch(() => ({ pause: null }));
  if (!pause || pause.state !== state) return false;
  const style = styleFor(io);
  out(io, style.yellow(`          paused until ${pause.until}; then it will ${pause.onTimeout === 'continue' ? 'go on' : 'roll back'}. Decide with: `
    + `cdk-ec2-blue-green approve (or reject) --state-machine ${fleet.stateMachineArn}`));
  return true;
}

/** Events after `afterId`, oldest first (GetExecutionHistory newest first, paged back to `afterId`). */
async function newEvents(fleet: Fleet, executionArn: string, afterId: number): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  let nextToken: string | undefined;
  do {
    const page = await call('states:GetExecutionHistory', () => fleet.aws.sfn.send(new GetExecutionHistoryCommand({ executionArn, reverseOrder: true, maxResults: 100, includeExecutionData: false, nextToken })));
    const batch = page.events ?? [];
    const newer = batch.filter((e) => (e.id ?? 0) > afterId);
    events.push(...newer);
    nextToken = newer.length === batch.length ? page.nextToken : undefined;
  } while (nextToken);
  return events.reverse();
}

/** Prints how an execution ended and where traffic is; returns its exit code. */
async function ended(fleet: Fleet, io: CliIo, d: DescribeExecutionCommandOutput): Promise<number> {
  const style = styleFor(io);
  const code = exitCodeFor(d.status, d.error);
  const word = code === EXIT.OK ? style.green('succeeded') : code === EXIT.ROLLED_BACK ? style.yellow(d.status === 'FAILED' ? 'rolled back' : `stopped (${d.status}) and rolled back`) : style.red(`failed (${d.status})`);
  out(io, `Execution ${d.name} ${word}${d.error ? `: ${d.error}` : ''}`);
  if (d.cause) out(io, `  ${d.cause}`);
  const status = await readStatus(fleet).catch(() => undefined);
  if (status) out(io, `Traffic: ${trafficLine(status)}`);
  return code;
}

function trafficLine(status: FleetStatus): string {
  const w = status.weights.production;
  return `${COLOURS.map((c) => `${c} ${w[c]} %`).join(', ')}${status.live ? ` (live: ${status.live}, version ${status.colours[status.live].release.version})` : ''}`;
}

/** abort: stops the running execution (the recovery handler puts traffic back), then waits for the lock. */
export async function abort(fleet: Fleet, io: CliIo, opts: { yes: boolean; timeoutSeconds?: number }): Promise<number> {
  const { lock } = await readLock(fleet);
  const arn = ownerExecution(lock?.owner);
  if (!lock || !arn) throw new CliError(`No execution is running on fleet '${fleet.config.fleetId}' (its lock is free): nothing to abort.`);
  if (lock.owner.startsWith(RECOVERY_OWNER_PREFIX)) {
    throw new CliError(`The recovery handler is already putting fleet '${fleet.config.fleetId}' back after ${arn} stopped: follow it with cdk-ec2-blue-green status --watch.`);
  }
  const d = await call('states:DescribeExecution', () => fleet.aws.sfn.send(new DescribeExecutionCommand({ executionArn: arn })));
  if (d.status !== 'RUNNING') {
    throw new CliError(`Execution ${arn} holds the lock of fleet '${fleet.config.fleetId}' but is ${d.status}: there is nothing to stop. The next execution takes the lock over and puts the fleet back first.`);
  }
  const stage = await currentStage(fleet, arn);
  await confirm(io, opts.yes, `About to stop execution ${d.name}${stage ? ` (at '${stage}')` : ''} of fleet '${fleet.config.fleetId}'. `
    + `The recovery handler then gives all production traffic to ${lock.restoreTo ?? 'the colour that served before'}, scales the other colour to zero and releases the lock.`);
  const who = await callerIdentity(fleet.aws, io);
  await call('states:StopExecution', () => fleet.aws.sfn.send(new StopExecutionCommand({ executionArn: arn, cause: `Stopped by ${who} with cdk-ec2-blue-green abort` })));
  out(io, `Stopped ${arn}; waiting for the recovery handler to release the lock...`);
  const deadline = Date.now() + (opts.timeoutSeconds ?? 600) * 1000;
  for (;;) {
    const now = (await readLock(fleet)).lock;
    if (!now || (now.owner !== lock.owner && now.owner !== `${RECOVERY_OWNER_PREFIX}${arn}`)) break;
    if (Date.now() >= deadline) {
      out(io, `The lock is still held (${now.owner}, phase ${now.phase ?? '-'}) after ${opts.timeoutSeconds ?? 600} s. The recovery handler may not have run (its event is delivered best effort): the next execution takes the lock over and puts the fleet back first. Check with cdk-ec2-blue-green status.`);
      return EXIT.TIMED_OUT;
    }
    await sleep(pollMs(io), io.signal);
  }
  const status = await readStatus(fleet);
  out(io, `The lock is released. Traffic: ${trafficLine(status)}`);
  if (status.last && status.last.executionArn === arn) out(io, `Result: ${status.last.outcome}${status.last.error ? ` (${status.last.error})` : ''}`);
  return EXIT.OK;
}

/** approve / reject: writes the approval record for the pause the lock shows. */
export async function decide(fleet: Fleet, io: CliIo, decision: 'approve' | 'reject', opts: { yes: boolean }): Promise<number> {
  const { lock, pause } = await readLock(fleet);
  if (!lock || !pause) throw new CliError(`No pause is waiting on fleet '${fleet.config.fleetId}': there is nothing to ${decision}. (cdk-ec2-blue-green status shows what the fleet is doing.)`);
  await confirm(io, opts.yes, decision === 'approve'
    ? `About to approve '${pause.state}' of ${lock.owner.split(':').pop()}: the cutover goes on.`
    : `About to reject '${pause.state}' of ${lock.owner.split(':').pop()}: the cutover rolls back.`);
  const by = await callerIdentity(fleet.aws, io);
  await call('dynamodb:PutItem', () => fleet.aws.dynamoDb.send(new PutItemCommand({
    TableName: fleet.config.lockTableName,
    Item: {
      [LOCK_PARTITION_KEY]: { S: `${fleet.config.fleetId}${APPROVAL_RECORD_KEY_SUFFIX}` },
      executionId: { S: lock.owner },
      pause: { S: pause.state },
      decision: { S: decision },
      by: { S: by },
      at: { S: new Date().toISOString() },
    },
  })));
  out(io, `Recorded: ${decision} by ${by}. The paused execution reads it at its next check.`);
  return EXIT.OK;
}

/** status: one screen, --json for scripts, --watch redraws every poll until Ctrl-C. */
export async function status(fleet: Fleet, io: CliIo, opts: { json: boolean; watch: boolean }): Promise<number> {
  const style = styleFor(io);
  for (;;) {
    const s = await readStatus(fleet);
    if (opts.json) out(io, JSON.stringify(s, null, 2));
    else out(io, `${opts.watch && io.stdout.isTTY ? '\u001b[H\u001b[2J' : ''}${renderStatus(s, style, new Date())}${opts.watch ? style.dim('(every 2 s; Ctrl-C to stop)\n') : ''}`);
    if (!opts.watch || io.signal?.aborted) return EXIT.OK;
    await sleep(pollMs(io), io.signal);
    if (io.signal?.aborted) return EXIT.OK;
  }
}
