import { AttributeValue, CreateTableCommand, DynamoDBClient, PutItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { Colour, CutoverState, HISTORY_INDEX_NAME, HISTORY_TEXT_LIMITS, HistoryStage, ReleaseHistoryEntry } from '../../lib/private/contract';
import { capText, historyEntry, historyFromState, historyItem, readHistory, stagesText } from '../../lambda/common/history';
import { historyWidget } from '../../lambda/history-widget/history-widget';
import { MotoServer } from '../../lab/moto';
import { BLUE_RELEASE, deployState, EXECUTION_ID } from './fake-aws';

/**
 * An item's size as DynamoDB counts it (Amazon DynamoDB developer guide, "DynamoDB item sizes and
 * formats"): attribute names in UTF-8 bytes plus values: strings in UTF-8 bytes, numbers about one
 * byte per two significant digits plus one, maps and lists 3 bytes plus one per element plus their
 * elements. The limit is 400 KB (developer guide, "Constraints": items).
 */
function itemBytes(item: Record<string, AttributeValue>): number {
  const value = (v: AttributeValue): number => {
    if (v.S !== undefined) return Buffer.byteLength(v.S, 'utf8');
    if (v.N !== undefined) return Math.ceil(v.N.replace(/[^0-9]/g, '').length / 2) + 1;
    if (v.BOOL !== undefined || v.NULL !== undefined) return 1;
    if (v.M !== undefined) return 3 + Object.entries(v.M).reduce((n, [k, x]) => n + Buffer.byteLength(k, 'utf8') + value(x) + 1, 0);
    if (v.L !== undefined) return 3 + v.L.reduce((n, x) => n + value(x) + 1, 0);
    throw new Error(`itemBytes: type of ${JSON.stringify(v)} not counted`);
  };
  return Object.entries(item).reduce((n, [k, v]) => n + Buffer.byteLength(k, 'utf8') + value(v), 0);
}
const DYNAMODB_ITEM_LIMIT = 400 * 1024;

describe('history items: capped text', () => {
  test('capText keeps text within its bytes, cutting whole characters and ending in …', () => {
    expect(capText('short', 10)).toBe('short');
    const cut = capText('é'.repeat(100), 51);
    expect(Buffer.byteLength(cut, 'utf8')).toBeLessThanOrEqual(51);
    expect(cut).toBe(`${'é'.repeat(24)}…`);
  });

  test('stagesText leaves stages out from the middle, keeping the first and the last, and stays valid JSON within its cap', () => {
    const stages = Array.from({ length: 5000 }, (_, i) => ({
      stage: `Watch alarms at ${i % 100}% ${'x'.repeat(20)}`, startedAt: new Date(Date.UTC(2025, 2, 1, 12, 0, i)).toISOString(), endedAt: new Date(Date.UTC(2025, 2, 1, 12, 0, i + 1)).toISOString(),
    }));
    const text = stagesText(stages);
    expect(Buffer.byteLength(text, 'utf8')).toBeLessThanOrEqual(HISTORY_TEXT_LIMITS.stages);
    const parsed = JSON.parse(text) as HistoryStage[];
    expect(parsed[0]).toEqual({ name: stages[0].stage, startedAt: stages[0].startedAt, seconds: 1 });
    expect(parsed[parsed.length - 1].name).toBe(stages[stages.length - 1].stage);
    const marker = parsed.find((s) => s.name.includes('stages left out'))!;
    expect(Number(/(\d+) stages left out/.exec(marker.name)![1])).toBe(stages.length - (parsed.length - 1));
  });

  test('an item of the largest state Step Functions can hand on stays below DynamoDB\'s 400 KB item limit', () => {
    // Step Functions passes at most 256 KB between states; every free text of the state at that size.
    const huge = 'ü'.repeat(256 * 1024);
    const state: CutoverState = deployState({
      input: { version: '1.0.0', note: huge },
      executionId: `${EXECUTION_ID}${'x'.repeat(4000)}`,
      alarm: { name: huge, detectedAt: '2025-03-01T12:05:00.000Z' },
      rollback: { reason: huge, decidedAt: '2025-03-01T12:05:00.000Z', trafficRestoredAt: '2025-03-01T12:05:01.000Z' },
      stages: Array.from({ length: 3000 }, (_, i) => ({ stage: `Stage ${i} ${huge.slice(0, 200)}`, startedAt: '2025-03-01T12:00:00.000Z', endedAt: '2025-03-01T12:00:01.000Z' })),
    });
    const item = historyItem({ ...historyFromState(state, 'rolled-back', 'web', new Date('2025-03-01T12:10:00.000Z'), Colour.BLUE, { error: huge, cause: huge }), startedBy: huge });

    expect(itemBytes(item)).toBeLessThan(DYNAMODB_ITEM_LIMIT);
    expect(Buffer.byteLength(item.cause.S!, 'utf8')).toBeLessThanOrEqual(HISTORY_TEXT_LIMITS.cause);
    expect(Buffer.byteLength(item.input.S!, 'utf8')).toBeLessThanOrEqual(HISTORY_TEXT_LIMITS.input);
    expect(item.rollbackReason.S!.endsWith('…')).toBe(true);
  });
});

describe('readHistory, against moto_server', () => {
  const moto = new MotoServer();
  let dynamoDb: DynamoDBClient;
  const TABLE = 'history-test';

  beforeAll(async () => {
    await moto.start();
    dynamoDb = new DynamoDBClient({ endpoint: moto.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    // The table as the construct declares it (test/construct/cutover-workflow.test.ts checks that template).
    await dynamoDb.send(new CreateTableCommand({
      TableName: TABLE,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' }, { AttributeName: 'historyOf', AttributeType: 'S' }, { AttributeName: 'endedAt', AttributeType: 'S' },
      ],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      GlobalSecondaryIndexes: [{
        IndexName: HISTORY_INDEX_NAME,
        KeySchema: [{ AttributeName: 'historyOf', KeyType: 'HASH' }, { AttributeName: 'endedAt', KeyType: 'RANGE' }],
        Projection: { ProjectionType: 'ALL' },
      }],
    }));
    const put = (item: Record<string, AttributeValue>) => dynamoDb.send(new PutItemCommand({ TableName: TABLE, Item: item }));
    // Five executions of 'web', out of order, two of 'api', and the records that are not history.
    for (const minute of [3, 1, 5, 2, 4]) {
      const state = deployState({
        executionId: `arn:aws:states:us-east-1:123456789012:execution:web-cutover:run-${minute}`,
        input: { version: `1.${minute}.0`, startedBy: 'alice@example.com' },
        targetRelease: { imageId: BLUE_RELEASE.imageId, version: `1.${minute}.0` },
        stages: [{ stage: 'Validate input and take the lock', startedAt: `2025-03-01T12:0${minute}:00.000Z`, endedAt: `2025-03-01T12:0${minute}:01.000Z` }],
      });
      await put(historyItem(historyFromState(state, 'succeeded', 'web', new Date(`2025-03-01T12:0${minute}:30.000Z`), Colour.GREEN, undefined)));
    }
    for (const minute of [6, 7]) {
      await put(historyItem(historyFromState(deployState({ executionId: `arn:aws:states:us-east-1:123456789012:execution:api-cutover:run-${minute}` }), 'failed', 'api',
        new Date(`2025-03-01T12:0${minute}:00.000Z`), Colour.BLUE, { error: 'SmokeTestFailed', cause: 'x' })));
    }
    await put({ pk: { S: 'web' }, owner: { S: EXECUTION_ID } });
    await put({ pk: { S: 'web#last' }, outcome: { S: 'succeeded' }, endedAt: { S: '2025-03-01T12:09:00.000Z' } });
  }, 60_000);
  afterAll(async () => { await moto.stop(); });

  test('returns the fleet\'s executions newest first, only its history items, as many as asked', async () => {
    const all = await readHistory(dynamoDb, TABLE, 'web', 10);
    expect(all.map((e) => e.endedAt)).toEqual(['05', '04', '03', '02', '01'].map((m) => `2025-03-01T12:${m}:30.000Z`));
    expect(all.map((e) => e.releases.green?.version)).toEqual(['1.5.0', '1.4.0', '1.3.0', '1.2.0', '1.1.0']);

    const three = await readHistory(dynamoDb, TABLE, 'web', 3);
    expect(three).toEqual(all.slice(0, 3));
    expect((await readHistory(dynamoDb, TABLE, 'api', 10)).map((e) => e.executionId.split(':').pop())).toEqual(['run-7', 'run-6']);
    expect(await readHistory(dynamoDb, TABLE, 'nobody', 10)).toEqual([]);
  });

  test('reads every field back as it was written', async () => {
    const [latest] = await readHistory(dynamoDb, TABLE, 'web', 1);
    const expected: ReleaseHistoryEntry = {
      fleetId: 'web',
      executionId: 'arn:aws:states:us-east-1:123456789012:execution:web-cutover:run-5',
      action: 'deploy',
      outcome: 'succeeded',
      startedAt: '2025-03-01T12:05:00.000Z',
      endedAt: '2025-03-01T12:05:30.000Z',
      input: '{"version":"1.5.0","startedBy":"alice@example.com"}',
      startedBy: 'alice@example.com',
      from: Colour.BLUE,
      to: Colour.GREEN,
      live: Colour.GREEN,
      releases: { blue: BLUE_RELEASE, green: { imageId: BLUE_RELEASE.imageId, version: '1.5.0' } },
      stages: [{ name: 'Validate input and take the lock', startedAt: '2025-03-01T12:05:00.000Z', seconds: 1 }],
    };
    expect(latest).toEqual(expected);
  });

  test('follows pages until it has as many entries as asked', async () => {
    // Each page cut to one item (as a page ends at 1 MB read): the reader asks again from LastEvaluatedKey.
    const pages: number[] = [];
    const paging = {
      send: async (command: QueryCommand) => {
        const page = await dynamoDb.send(new QueryCommand({ ...command.input, Limit: 1 }));
        pages.push(page.Items?.length ?? 0);
        return page;
      },
    } as unknown as DynamoDBClient;
    const entries = await readHistory(paging, TABLE, 'web', 4);
    expect(entries.map((e) => e.endedAt.slice(11, 16))).toEqual(['12:05', '12:04', '12:03', '12:02']);
    expect(pages).toEqual([1, 1, 1, 1]);
  });

  test('rejects a limit that is not a whole number of 1 or more, naming it', async () => {
    await expect(readHistory(dynamoDb, TABLE, 'web', 0)).rejects.toThrow('readHistory: limit must be a whole number of entries, 1 or more, got 0.');
  });

  describe('the dashboard\'s release history widget', () => {
    test('returns an HTML table of the fleet\'s last executions, newest first, as many as the limit', async () => {
      const html = await historyWidget({ fleetId: 'web', lockTableName: TABLE, limit: 3, widgetContext: {} }, { dynamoDb });
      const rows = html.match(/<tr><td>.*?<\/tr>/g)!;
      expect(rows).toHaveLength(3);
      expect(rows.map((r) => /<td>([^<]*)<\/td>/.exec(r)![1])).toEqual(['2025-03-01T12:05:30Z', '2025-03-01T12:04:30Z', '2025-03-01T12:03:30Z']);
      expect(rows[0]).toContain('<td>deploy</td><td>succeeded</td><td>green</td><td>1.5.0</td>');
      expect(rows[0]).toContain('<td>alice@example.com</td><td>run-5</td>');
      expect(html).toMatch(/^<table><thead><tr><th>Ended \(UTC\)<\/th>/);
      // Ten by default.
      expect((await historyWidget({ fleetId: 'web', lockTableName: TABLE }, { dynamoDb })).match(/<tr><td>/g)).toHaveLength(5);
    });

    test('escapes what the history holds: a cause with markup is shown as text', async () => {
      const state = deployState({ executionId: 'arn:aws:states:us-east-1:123456789012:execution:x:run-9' });
      await dynamoDb.send(new PutItemCommand({ TableName: TABLE, Item: historyItem(historyFromState(state, 'failed', 'xss', new Date('2025-03-02T00:00:00.000Z'), Colour.BLUE, { error: 'SmokeTestFailed', cause: '<script>alert("x")</script> & more' })) }));
      const html = await historyWidget({ fleetId: 'xss', lockTableName: TABLE }, { dynamoDb });
      expect(html).not.toContain('<script>');
      expect(html).toContain('SmokeTestFailed: &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; more');
    });

    test('wrong parameters get a message naming each, without a call', async () => {
      const calls: unknown[] = [];
      const spy = { send: async (c: unknown) => { calls.push(c); return {}; } } as unknown as DynamoDBClient;
      const html = await historyWidget({ fleetId: '<b>', lockTableName: 'x', limit: 500 }, { dynamoDb: spy });
      expect(html).toContain('fleetId must be the fleet&#39;s id');
      expect(html).toContain('lockTableName must be a DynamoDB table name');
      expect(html).toContain('limit must be a whole number from 1 to 50');
      expect(html).not.toContain('<b>');
      expect(calls).toHaveLength(0);
    });

    test('a fleet without history, a missing table, and the describe call each get a message', async () => {
      expect(await historyWidget({ fleetId: 'nobody', lockTableName: TABLE }, { dynamoDb })).toBe('<p>No releases recorded for nobody yet.</p>');
      expect(await historyWidget({ fleetId: 'web', lockTableName: 'no-such-table' }, { dynamoDb })).toMatch(/^<p>Could not read the release history of web from no-such-table: ResourceNotFoundException/);
      expect(await historyWidget({ describe: true }, { dynamoDb })).toContain('## Release history');
    });
  });

  test('historyEntry reads an item with missing or damaged fields without throwing', () => {
    expect(historyEntry({ historyOf: { S: 'web' }, endedAt: { S: 'x' }, stages: { S: 'not json' }, from: { S: 'purple' } })).toEqual({
      fleetId: 'web', executionId: '', action: 'deploy', outcome: 'failed', endedAt: 'x', releases: {}, stages: [],
    });
  });
});
