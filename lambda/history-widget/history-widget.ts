import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { failureReason, readHistory, releaseLabel } from '../common/history';
import { ReleaseHistoryEntry } from '../../lib/private/contract';

/**
 * The release history on a fleet's CloudWatch dashboard: a custom widget (CloudWatch user guide,
 * "Details about custom widgets": the dashboard invokes the function with the widget's parameters
 * and a `widgetContext`, and shows the HTML the function returns; a call with `describe: true`
 * asks for the widget's documentation, returned as markdown).
 */
export interface HistoryWidgetEvent {
  /** The widget's parameters (`params` of the dashboard's custom widget). */
  readonly fleetId?: unknown;
  readonly lockTableName?: unknown;
  readonly limit?: unknown;
  readonly describe?: boolean;
  readonly widgetContext?: unknown;
}

export interface HistoryWidgetDeps {
  readonly dynamoDb: DynamoDBClient;
}

/** DynamoDB table names: 3 to 255 of a-z, A-Z, 0-9, `_`, `-`, `.` (DynamoDB developer guide, "Naming rules"). */
const TABLE_NAME = /^[A-Za-z0-9_.-]{3,255}$/;
/** A fleet id as the fleet gives it (Names.uniqueId: letters and digits, at most 255). */
const FLEET_ID = /^[A-Za-z0-9_.:/-]{1,255}$/;
export const HISTORY_WIDGET_DEFAULT_LIMIT = 10;
export const HISTORY_WIDGET_MAX_LIMIT = 50;

export const HISTORY_WIDGET_DOCS = [
  '## Release history',
  'The last executions of a blue/green fleet, newest first, from the `History` index of its lock table.',
  '',
  'Parameters: `fleetId` and `lockTableName` (set by the fleet), `limit` (1 to 50, default 10).',
].join('\n');

/** Text made safe inside HTML. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]!));
}

const seconds = (s: number | undefined) => (s === undefined ? '' : `${Math.round(s)} s`);

function row(e: ReleaseHistoryEntry): string {
  const why = failureReason(e);
  const cells = [
    e.endedAt.replace(/\.\d{3}Z$/, 'Z'), e.action, e.outcome, e.to ?? e.live ?? '', releaseLabel(e),
    seconds(e.timeToDetectSeconds), seconds(e.timeToRevertSeconds), e.startedBy ?? '', e.executionId.split(':').pop() ?? '',
    why.length > 300 ? `${why.slice(0, 299)}…` : why,
  ];
  return `<tr>${cells.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`;
}

/** The widget's HTML: a table of the fleet's last releases, or a message saying what is wrong. */
export async function historyWidget(event: HistoryWidgetEvent, deps: HistoryWidgetDeps): Promise<string> {
  if (event?.describe) return HISTORY_WIDGET_DOCS;
  const { fleetId, lockTableName } = event ?? {};
  const limit = event?.limit ?? HISTORY_WIDGET_DEFAULT_LIMIT;
  const problems = [
    typeof fleetId === 'string' && FLEET_ID.test(fleetId) ? undefined : 'fleetId must be the fleet\'s id (1 to 255 letters, digits and _ . : / -)',
    typeof lockTableName === 'string' && TABLE_NAME.test(lockTableName) ? undefined : 'lockTableName must be a DynamoDB table name (3 to 255 letters, digits and _ . -)',
    Number.isInteger(limit) && (limit as number) >= 1 && (limit as number) <= HISTORY_WIDGET_MAX_LIMIT ? undefined : `limit must be a whole number from 1 to ${HISTORY_WIDGET_MAX_LIMIT}`,
  ].filter((p): p is string => p !== undefined);
  if (problems.length) {
    return `<p>The release history widget's parameters are wrong: ${problems.map(escapeHtml).join('; ')}. Fix the widget's parameters (the fleet sets them; redeploy the stack).</p>`;
  }
  let entries: ReleaseHistoryEntry[];
  try {
    entries = await readHistory(deps.dynamoDb, lockTableName as string, fleetId as string, limit as number);
  } catch (e) {
    return `<p>Could not read the release history of ${escapeHtml(fleetId as string)} from ${escapeHtml(lockTableName as string)}: ${escapeHtml(`${(e as Error).name}: ${(e as Error).message}`)}</p>`;
  }
  if (!entries.length) return `<p>No releases recorded for ${escapeHtml(fleetId as string)} yet.</p>`;
  const head = ['Ended (UTC)', 'Action', 'Outcome', 'To', 'Release', 'Detect', 'Revert', 'Started by', 'Execution', 'Why'];
  return `<table><thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>${entries.map(row).join('')}</tbody></table>`;
}
