import { failureReason, readHistory, releaseLabel } from '../lambda/common/history';
import { HISTORY_INDEX_NAME, ReleaseHistoryEntry } from '../lib/private/contract';
import { translateAwsError } from './aws';
import { Fleet } from './fleet';
import { CliError, CliIo, EXIT, styleFor } from './io';

const out = (io: CliIo, text: string) => io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);

/** Seconds as `42 s` or `3 m 05 s`; `-` when not measured. */
function duration(seconds: number | undefined): string {
  if (seconds === undefined) return '-';
  const s = Math.round(seconds);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} m ${String(s % 60).padStart(2, '0')} s`;
}

/**
 * history: the fleet's last releases, newest first, as the release history keeps them (the lock
 * table's History index, read by readHistory, the reader the library's own code uses).
 */
export async function history(fleet: Fleet, io: CliIo, opts: { limit: number; json: boolean }): Promise<number> {
  let entries: ReleaseHistoryEntry[];
  try {
    entries = await readHistory(fleet.aws.dynamoDb, fleet.config.lockTableName, fleet.config.fleetId, opts.limit);
  } catch (e) {
    if ((e as Error).name === 'ValidationException' && /index/i.test((e as Error).message)) {
      throw new CliError(`The lock table ${fleet.config.lockTableName} has no '${HISTORY_INDEX_NAME}' index: this fleet was deployed by a version of the library without release history. Upgrade the library and redeploy the stack.`);
    }
    throw translateAwsError(e, 'dynamodb:Query');
  }
  if (opts.json) {
    out(io, JSON.stringify(entries, null, 2));
    return EXIT.OK;
  }
  if (!entries.length) {
    out(io, `No releases recorded for fleet '${fleet.config.fleetId}' yet.`);
    return EXIT.OK;
  }
  const style = styleFor(io);
  const paint = (outcome: string) => (outcome === 'succeeded' ? style.green : outcome === 'rolled-back' || outcome === 'stopped' ? style.yellow : style.red)(outcome.padEnd(13));
  out(io, style.dim(`${'ended'.padEnd(22)}${'action'.padEnd(10)}${'outcome'.padEnd(13)}${'to'.padEnd(7)}${'release'.padEnd(14)}${'detect'.padEnd(10)}${'revert'.padEnd(10)}${'execution'.padEnd(38)}started by`));
  for (const e of entries) {
    out(io, `${e.endedAt.replace(/\.\d{3}Z$/, 'Z').padEnd(22)}${e.action.padEnd(10)}${paint(e.outcome)}${(e.to ?? '').padEnd(7)}${releaseLabel(e).padEnd(14)}`
      + `${duration(e.timeToDetectSeconds).padEnd(10)}${duration(e.timeToRevertSeconds).padEnd(10)}${e.executionId.split(':').pop()!.padEnd(38)}${e.startedBy ?? ''}`);
    const why = failureReason(e);
    if (why) out(io, style.dim(`  why: ${why.length > 200 ? `${why.slice(0, 199)}…` : why}`));
  }
  return EXIT.OK;
}
