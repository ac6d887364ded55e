import { QueryCommand } from '@aws-sdk/client-dynamodb';
import { translateAwsError } from './aws';
import { Fleet } from './fleet';
import { CliError, CliIo, EXIT, styleFor } from './io';

/**
 * The release history, read the way lambda/common/history.ts `readHistory` reads it (that module
 * comes with the release history; until then the CLI queries the index itself): the lock table's
 * `History` index (HISTORY_INDEX_NAME; partition key `historyOf` = fleet id, sort key `endedAt`),
 * newest first.
 */
export const HISTORY_INDEX_NAME = 'History';

const out = (io: CliIo, text: string) => io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);

/** One release of the fleet's history (the History index; see lambda/common/history.ts). */
export interface HistoryEntry {
  readonly endedAt: string;
  readonly startedAt?: string;
  readonly executionId: string;
  readonly action?: string;
  readonly outcome?: string;
  readonly from?: string;
  readonly to?: string;
  readonly live?: string;
  readonly releases?: Record<string, { imageId?: string; version?: string }>;
  readonly error?: string;
  readonly cause?: string;
  readonly startedBy?: string;
}

/** history: the fleet's last releases, newest first (a Query on the lock table's History index). */
export async function history(fleet: Fleet, io: CliIo, opts: { limit: number; json: boolean }): Promise<number> {
  let items;
  try {
    items = (await fleet.aws.dynamoDb.send(new QueryCommand({
      TableName: fleet.config.lockTableName,
      IndexName: HISTORY_INDEX_NAME,
      KeyConditionExpression: '#of = :fleet',
      ExpressionAttributeNames: { '#of': 'historyOf' },
      ExpressionAttributeValues: { ':fleet': { S: fleet.config.fleetId } },
      ScanIndexForward: false,
      Limit: opts.limit,
    }))).Items ?? [];
  } catch (e) {
    if ((e as Error).name === 'ValidationException' && /index/i.test((e as Error).message)) {
      throw new CliError(`The lock table ${fleet.config.lockTableName} has no '${HISTORY_INDEX_NAME}' index: this fleet was deployed by a version of the library without release history. Upgrade the library and redeploy the stack.`);
    }
    throw translateAwsError(e, 'dynamodb:Query');
  }
  const entries: HistoryEntry[] = items.map((i) => ({
    endedAt: i.endedAt?.S ?? '',
    ...(i.startedAt?.S ? { startedAt: i.startedAt.S } : {}),
    executionId: i.executionId?.S ?? '',
    ...(i.action?.S ? { action: i.action.S } : {}),
    ...(i.outcome?.S ? { outcome: i.outcome.S } : {}),
    ...(i.from?.S ? { from: i.from.S } : {}),
    ...(i.to?.S ? { to: i.to.S } : {}),
    ...(i.live?.S ? { live: i.live.S } : {}),
    ...(i.releases?.M ? { releases: Object.fromEntries(Object.entries(i.releases.M).map(([c, v]) => [c, { imageId: v.M?.imageId?.S, version: v.M?.version?.S }])) } : {}),
    ...(i.error?.S ? { error: i.error.S } : {}),
    ...(i.cause?.S ? { cause: i.cause.S } : {}),
    ...(i.startedBy?.S ? { startedBy: i.startedBy.S } : {}),
  }));
  if (opts.json) {
    out(io, JSON.stringify(entries, null, 2));
    return EXIT.OK;
  }
  if (!entries.length) {
    out(io, `No releases recorded for fleet '${fleet.config.fleetId}' yet.`);
    return EXIT.OK;
  }
  const style = styleFor(io);
  out(io, style.dim(`${'ended'.padEnd(22)}${'action'.padEnd(10)}${'outcome'.padEnd(13)}${'live'.padEnd(7)}${'version'.padEnd(14)}${'execution'.padEnd(38)}started by`));
  for (const e of entries) {
    const live = e.live ?? e.to ?? '';
    const version = (live && e.releases?.[live]?.version) || '';
    out(io, `${e.endedAt.replace(/\.\d{3}Z$/, 'Z').padEnd(22)}${(e.action ?? '').padEnd(10)}${(e.outcome ?? '').padEnd(13)}${live.padEnd(7)}${version.padEnd(14)}${e.executionId.split(':').pop()!.padEnd(38)}${e.startedBy ?? ''}`);
  }
  return EXIT.OK;
}
