import { UpdateAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import { PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import {
  AttributeValue, ConditionalCheckFailedException, DeleteItemCommand, GetItemCommand, PutItemCommand, TransactWriteItemsCommand, UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { ModifyRuleCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { ChangeResourceRecordSetsCommand } from '@aws-sdk/client-route-53';
import { Colour, CutoverState, ExecutionStoppedEvent, FleetConfig, TakenOverLock } from '../../lib/private/contract';
import { handler } from '../../lambda/recover';
import { RECOVERY_LEASE_SECONDS, recoverStoppedExecution, recoverTakenOver } from '../../lambda/recover/recover';
import { clock, DNS_FLEET, EXECUTION_ID, FakeAws, FLEET, OTHER_EXECUTION_ID, target } from './fake-aws';

const aws = new FakeAws();
const time = clock('2025-03-01T12:40:00.000Z');
const clients = (fake = aws) => ({
  dynamoDb: fake.dynamoDb, elbv2: fake.elbv2, autoScaling: fake.autoScaling, route53: fake.route53, now: time.now,
  sleep: async (ms: number) => time.advance(ms / 1000),
});
const RECOVERY_OWNER = `recovery:${EXECUTION_ID}`;

/** The event the EventBridge rule's input transformer builds for EXECUTION_ID. */
const stopped = (overrides: Partial<ExecutionStoppedEvent> = {}): ExecutionStoppedEvent => ({
  kind: 'execution-status', fleetId: 'web', lockTableName: 'web-cutover-lock', executionArn: EXECUTION_ID, status: 'ABORTED', ...overrides,
});

/** The lock item as the start handler writes it and find-live completes it. */
function lockOf(owner: string, opts: { restoreTo?: Colour; config?: FleetConfig | null; phase?: string } = {}): Record<string, AttributeValue> {
  const config = opts.config === undefined ? FLEET : opts.config;
  return {
    pk: { S: 'web' },
    owner: { S: owner },
    phase: { S: opts.phase ?? 'Cutover' },
    acquiredAt: { S: '2025-03-01T12:00:00.000Z' },
    expiresAt: { N: String(Date.parse('2025-03-01T14:00:00.000Z') / 1000) },
    ...(config ? { config: { S: JSON.stringify(config) } } : {}),
    ...(opts.restoreTo ? { restoreTo: { S: opts.restoreTo } } : {}),
  };
}

/**
 * DynamoDB writes of the lock table as the recovery handler makes them: conditions of `a = :v`
 * terms joined by AND or OR, SET updates, conditional deletes, puts. The model is `aws.items`.
 */
function modelTableWrites(fake: FakeAws): void {
  type Input = {
    Key?: Record<string, AttributeValue>; Item?: Record<string, AttributeValue>; UpdateExpression?: string; ConditionExpression?: string;
    ExpressionAttributeNames?: Record<string, string>; ExpressionAttributeValues?: Record<string, AttributeValue>; ReturnValuesOnConditionCheckFailure?: string;
  };
  const attr = (input: Input, name: string) => (name.startsWith('#') ? input.ExpressionAttributeNames![name] : name);
  const holds = (input: Input, item: Record<string, AttributeValue> | undefined) => {
    const cond = input.ConditionExpression;
    if (!cond) return true;
    if (cond.includes(' AND ') && cond.includes(' OR ')) throw new Error(`test model: condition '${cond}' is not modelled`);
    const terms = cond.split(/ AND | OR /).map((term) => {
      const m = term.trim().match(/^(#?\w+) = (:\w+)$/);
      if (!m) throw new Error(`test model: condition term '${term}' is not modelled`);
      return item !== undefined && JSON.stringify(item[attr(input, m[1])]) === JSON.stringify(input.ExpressionAttributeValues![m[2]]);
    });
    return cond.includes(' OR ') ? terms.some(Boolean) : terms.every(Boolean);
  };
  const failed = (input: Input, item: Record<string, AttributeValue> | undefined) => new ConditionalCheckFailedException({
    message: 'The conditional request failed', $metadata: {},
    Item: input.ReturnValuesOnConditionCheckFailure === 'ALL_OLD' && item ? structuredClone(item) : undefined,
  });
  fake.dynamoMock.on(UpdateItemCommand).callsFake(async (input: Input) => {
    const key = input.Key!.pk.S!;
    const item = fake.items.get(key);
    if (!holds(input, item)) throw failed(input, item);
    const next = structuredClone(item ?? { pk: { S: key } });
    const set = input.UpdateExpression!.replace(/^SET /, '');
    for (const [, name, value] of set.matchAll(/(#?\w+) = (:\w+)/g)) next[attr(input, name)] = input.ExpressionAttributeValues![value];
    fake.items.set(key, next);
    return {};
  });
  fake.dynamoMock.on(PutItemCommand).callsFake(async (input: Input) => {
    const key = input.Item!.pk.S!;
    if (!holds(input, fake.items.get(key))) throw failed(input, fake.items.get(key));
    fake.items.set(key, structuredClone(input.Item!));
    return {};
  });
  fake.dynamoMock.on(TransactWriteItemsCommand).callsFake(async (input: { TransactItems: Array<{ Put?: Input }> }) => {
    // The recovery handler's transaction: unconditional puts (the result record and the history item).
    for (const t of input.TransactItems) {
      if (!t.Put || t.Put.ConditionExpression) throw new Error('test model: only unconditional puts are modelled in a transaction');
    }
    for (const t of input.TransactItems) fake.items.set(t.Put!.Item!.pk.S!, structuredClone(t.Put!.Item!));
    return {};
  });
  fake.dynamoMock.on(DeleteItemCommand).callsFake(async (input: Input) => {
    const key = input.Key!.pk.S!;
    if (!holds(input, fake.items.get(key))) throw failed(input, fake.items.get(key));
    fake.items.delete(key);
    return {};
  });
}

/** Green started by the stopped cutover: 2 instances, InService and healthy. */
function greenUp(fake = aws): void {
  fake.setGroup(Colour.GREEN, { min: 2, max: 4, desired: 2 }, ['i-0g1', 'i-0g2']);
}

/** Every mutating call the handler made, in order. */
function mutatingCalls(fake = aws): string[] {
  const calls = [
    ...fake.elbv2Mock.commandCalls(ModifyRuleCommand).map((c) => ({ c, name: 'ModifyRule' })),
    ...fake.route53Mock.commandCalls(ChangeResourceRecordSetsCommand).map((c) => ({ c, name: 'ChangeResourceRecordSets' })),
    ...fake.asgMock.commandCalls(UpdateAutoScalingGroupCommand).map((c) => ({ c, name: `UpdateAutoScalingGroup ${c.args[0].input.AutoScalingGroupName}` })),
    ...fake.dynamoMock.commandCalls(UpdateItemCommand).map((c) => ({ c, name: `UpdateItem ${c.args[0].input.Key!.pk.S}` })),
    ...fake.dynamoMock.commandCalls(PutItemCommand).map((c) => ({ c, name: `PutItem ${c.args[0].input.Item!.pk.S}` })),
    ...fake.dynamoMock.commandCalls(DeleteItemCommand).map((c) => ({ c, name: `DeleteItem ${c.args[0].input.Key!.pk.S}` })),
    ...fake.dynamoMock.commandCalls(TransactWriteItemsCommand).map((c) => ({ c, name: 'TransactWriteItems' })),
  ];
  return calls.sort((a, b) => (a.c.calledBefore(b.c) ? -1 : 1)).map((x) => x.name);
}

beforeEach(() => {
  aws.reset();
  modelTableWrites(aws);
});

describe('recover, from the EventBridge rule', () => {
  it('puts a cutover stopped mid-canary back on blue: one ModifyRule, green to zero, #previous retired, a stopped result, the lock deleted', async () => {
    aws.setWeights(FLEET.productionRuleArn, 90, 10);
    greenUp();
    aws.items.set('web', lockOf(EXECUTION_ID, { restoreTo: Colour.BLUE }));
    // The record of the colour an earlier cutover left, not retired: no rollback is left to go to it.
    aws.setPreviousRecord({ colour: Colour.GREEN });

    const out = await recoverStoppedExecution(stopped(), clients());

    expect(aws.elbv2Mock).toHaveReceivedCommandTimes(ModifyRuleCommand, 1);
    expect(aws.weights(FLEET.productionRuleArn)).toEqual({ blue: 100, green: 0 });
    expect(aws.group(Colour.GREEN)).toMatchObject({ min: 0, desired: 0 });
    expect(aws.group(Colour.BLUE)).toMatchObject({ min: 2, desired: 2 });
    expect(aws.items.get('web#previous')).toMatchObject({ retired: { BOOL: true }, retiredAt: { S: '2025-03-01T12:40:00.000Z' } });
    expect(aws.items.has('web')).toBe(false);
    const result = aws.items.get('web#last')!;
    expect(result).toMatchObject({
      outcome: { S: 'stopped' }, executionId: { S: EXECUTION_ID }, status: { S: 'ABORTED' }, live: { S: 'blue' },
      endedAt: { S: '2025-03-01T12:40:00.000Z' }, recoveredAt: { S: '2025-03-01T12:40:00.000Z' },
    });
    expect(result.cause.S).toBe(
      `Execution ${EXECUTION_ID} ended ABORTED still holding the lock. The recovery handler restored the fleet: ` +
      'all traffic was moved to blue, green scaled to zero, the lock released.',
    );
    expect(out).toEqual({
      outcome: 'recovered',
      report: {
        executionId: EXECUTION_ID, status: 'ABORTED', live: Colour.BLUE, trafficMoved: true,
        weightsBefore: { blue: 90, green: 10 }, scaledToZero: [Colour.GREEN],
      },
    });
  });

  it('publishes the TrafficWeight metric (100/0 on blue) once it restored traffic', async () => {
    aws.setWeights(FLEET.productionRuleArn, 90, 10);
    greenUp();
    aws.items.set('web', lockOf(EXECUTION_ID, { restoreTo: Colour.BLUE }));

    await recoverStoppedExecution(stopped(), { ...clients(), metrics: aws.cloudWatch });

    expect(aws.cloudWatchMock).toHaveReceivedCommandTimes(PutMetricDataCommand, 1);
    expect(aws.cloudWatchMock).toHaveReceivedCommandWith(PutMetricDataCommand, {
      Namespace: 'BlueGreenFleet',
      MetricData: [
        { MetricName: 'TrafficWeight', Dimensions: [{ Name: 'Fleet', Value: 'web' }, { Name: 'Colour', Value: 'blue' }], Value: 100, Unit: 'Percent' },
        { MetricName: 'TrafficWeight', Dimensions: [{ Name: 'Fleet', Value: 'web' }, { Name: 'Colour', Value: 'green' }], Value: 0, Unit: 'Percent' },
      ],
    });
    expect(aws.elbv2Mock.commandCalls(ModifyRuleCommand)[0].calledBefore(aws.cloudWatchMock.commandCalls(PutMetricDataCommand)[0])).toBe(true);
  });

  it('recovers all the same when the TrafficWeight metric cannot be published', async () => {
    aws.setWeights(FLEET.productionRuleArn, 90, 10);
    greenUp();
    aws.items.set('web', lockOf(EXECUTION_ID, { restoreTo: Colour.BLUE }));
    aws.cloudWatchMock.on(PutMetricDataCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'Throttling' }));

    const out = await recoverStoppedExecution(stopped(), { ...clients(), metrics: aws.cloudWatch });

    expect(out).toMatchObject({ outcome: 'recovered', report: { live: Colour.BLUE, trafficMoved: true } });
    expect(aws.items.has('web')).toBe(false);
  });

  it('moves traffic before it writes anything, then claims the lock, scales down, retires, records and releases, in that order', async () => {
    aws.setWeights(FLEET.productionRuleArn, 90, 10);
    greenUp();
    aws.items.set('web', lockOf(EXECUTION_ID, { restoreTo: Colour.BLUE }));
    aws.setPreviousRecord({ colour: Colour.GREEN });

    await recoverStoppedExecution(stopped(), clients());

    expect(mutatingCalls()).toEqual([
      'ModifyRule', 'UpdateItem web', 'UpdateAutoScalingGroup web-green', 'UpdateItem web#previous', 'TransactWriteItems', 'DeleteItem web',
    ]);
    // The lock read is strongly consistent and comes first.
    expect(aws.dynamoMock.commandCalls(GetItemCommand)[0].calledBefore(aws.elbv2Mock.commandCalls(ModifyRuleCommand)[0])).toBe(true);
    expect(aws.dynamoMock).toHaveReceivedCommandWith(GetItemCommand, { TableName: 'web-cutover-lock', Key: { pk: { S: 'web' } }, ConsistentRead: true });
  });

  it('claims the lock as recovery:<arn> with a short lease, only from the stopped execution or its own earlier claim', async () => {
    aws.setWeights(FLEET.productionRuleArn, 90, 10);
    greenUp();
    aws.items.set('web', lockOf(EXECUTION_ID, { restoreTo: Colour.BLUE }));

    await recoverStoppedExecution(stopped({ status: 'TIMED_OUT' }), clients());

    expect(aws.dynamoMock).toHaveReceivedCommandWith(UpdateItemCommand, {
      TableName: 'web-cutover-lock',
      Key: { pk: { S: 'web' } },
      UpdateExpression: 'SET #owner = :rec, phase = :recovering, #exp = :exp, #from = :stopped',
      ConditionExpression: '#owner = :stopped OR #owner = :rec',
      ExpressionAttributeNames: { '#owner': 'owner', '#exp': 'expiresAt', '#from': 'recoveringFrom' },
      ExpressionAttributeValues: {
        ':rec': { S: RECOVERY_OWNER },
        ':stopped': { S: EXECUTION_ID },
        ':recovering': { S: 'Recovering' },
        ':exp': { N: String(Date.parse('2025-03-01T12:40:00.000Z') / 1000 + RECOVERY_LEASE_SECONDS) },
      },
    });
    expect(aws.dynamoMock).toHaveReceivedCommandWith(DeleteItemCommand, {
      TableName: 'web-cutover-lock', Key: { pk: { S: 'web' } }, ConditionExpression: '#owner = :rec', ExpressionAttributeValues: { ':rec': { S: RECOVERY_OWNER } },
    });
    expect(aws.items.get('web#last')).toMatchObject({ status: { S: 'TIMED_OUT' } });
  });

  it('makes nothing but the lock read when the execution does not hold the lock', async () => {
    aws.setWeights(FLEET.productionRuleArn, 90, 10);
    greenUp();
    const theirs = lockOf(OTHER_EXECUTION_ID, { restoreTo: Colour.BLUE });
    aws.items.set('web', theirs);

    const out = await recoverStoppedExecution(stopped(), clients());

    expect(out).toEqual({ outcome: 'nothing', reason: `the lock is held by ${OTHER_EXECUTION_ID}` });
    expect(aws.dynamoMock.calls()).toHaveLength(1);
    expect(aws.dynamoMock).toHaveReceivedCommandTimes(GetItemCommand, 1);
    expect(aws.elbv2Mock.calls()).toHaveLength(0);
    expect(aws.asgMock.calls()).toHaveLength(0);
    expect(aws.items.get('web')).toEqual(theirs);
    expect(aws.weights(FLEET.productionRuleArn)).toEqual({ blue: 90, green: 10 });
  });

  it('makes nothing but the lock read when no one holds the lock (the execution released it on its own paths)', async () => {
    aws.items.delete('web');

    const out = await recoverStoppedExecution(stopped({ status: 'FAILED' }), clients());

    expect(out).toEqual({ outcome: 'nothing', reason: 'the lock is not held' });
    expect(aws.dynamoMock.calls()).toHaveLength(1);
    expect(aws.elbv2Mock.calls()).toHaveLength(0);
    expect(aws.asgMock.calls()).toHaveLength(0);
    expect(aws.items.has('web#last')).toBe(false);
  });

  it('makes no ModifyRule call when all traffic is already on restoreTo, and still scales the other colour down', async () => {
    // Stopped while green was being prepared.
    greenUp();
    aws.items.set('web', lockOf(EXECUTION_ID, { restoreTo: Colour.BLUE }));

    const out = await recoverStoppedExecution(stopped(), clients());

    expect(aws.elbv2Mock).toHaveReceivedCommandTimes(ModifyRuleCommand, 0);
    expect(aws.group(Colour.GREEN)).toMatchObject({ min: 0, desired: 0 });
    expect(out.report).toMatchObject({ live: Colour.BLUE, trafficMoved: false, weightsBefore: { blue: 100, green: 0 }, scaledToZero: [Colour.GREEN] });
    expect(aws.items.get('web#last')!.cause.S).toContain('all traffic was already on blue, green scaled to zero');
    expect(aws.items.has('web')).toBe(false);
  });

  it('gives all traffic to the other colour when restoreTo no longer serves and the other colour has traffic and serves', async () => {
    aws.setWeights(FLEET.productionRuleArn, 90, 10);
    greenUp();
    aws.setTargets(Colour.BLUE, [target('i-0b1', 'unhealthy', 'Target.FailedHealthChecks'), target('i-0b2', 'unhealthy', 'Target.FailedHealthChecks')]);
    aws.items.set('web', lockOf(EXECUTION_ID, { restoreTo: Colour.BLUE }));

    const out = await recoverStoppedExecution(stopped(), clients());

    expect(aws.elbv2Mock).toHaveReceivedCommandTimes(ModifyRuleCommand, 1);
    expect(aws.weights(FLEET.productionRuleArn)).toEqual({ blue: 0, green: 100 });
    expect(aws.group(Colour.BLUE)).toMatchObject({ min: 0, desired: 0 });
    expect(aws.group(Colour.GREEN)).toMatchObject({ min: 2, desired: 2 });
    expect(out.report).toMatchObject({ live: Colour.GREEN, trafficMoved: true, scaledToZero: [Colour.BLUE] });
    expect(out.report!.problem).toBeUndefined();
    expect(aws.items.get('web#last')).toMatchObject({ live: { S: 'green' } });
    expect(aws.items.has('web')).toBe(false);
  });

  it('leaves all traffic on the other colour when it has all of it and restoreTo no longer serves, and scales restoreTo down', async () => {
    // A rollback execution recorded green (the warm previous colour) as restoreTo and was stopped
    // before its move; green broke meanwhile. Blue still has all traffic and serves.
    greenUp();
    aws.setTargets(Colour.GREEN, [target('i-0g1', 'unhealthy', 'Target.FailedHealthChecks'), target('i-0g2', 'unhealthy', 'Target.FailedHealthChecks')]);
    aws.items.set('web', lockOf(EXECUTION_ID, { restoreTo: Colour.GREEN, phase: 'RollingBack' }));

    const out = await recoverStoppedExecution(stopped(), clients());

    expect(aws.elbv2Mock).toHaveReceivedCommandTimes(ModifyRuleCommand, 0);
    expect(aws.weights(FLEET.productionRuleArn)).toEqual({ blue: 100, green: 0 });
    expect(aws.group(Colour.GREEN)).toMatchObject({ min: 0, desired: 0 });
    expect(out.report).toMatchObject({ live: Colour.BLUE, trafficMoved: false, scaledToZero: [Colour.GREEN] });
    expect(out.report!.problem).toBeUndefined();
    expect(aws.items.has('web')).toBe(false);
  });

  it('changes no traffic and scales nothing when neither colour serves, releases the lock, and the result names the problem', async () => {
    aws.setWeights(FLEET.productionRuleArn, 90, 10);
    greenUp();
    aws.setTargets(Colour.BLUE, [target('i-0b1', 'unhealthy', 'Target.FailedHealthChecks'), target('i-0b2', 'unhealthy', 'Target.FailedHealthChecks')]);
    aws.setTargets(Colour.GREEN, [target('i-0g1', 'unused', 'Target.InvalidState'), target('i-0g2', 'healthy')]);
    aws.items.set('web', lockOf(EXECUTION_ID, { restoreTo: Colour.BLUE }));
    aws.setPreviousRecord({ colour: Colour.GREEN });

    const out = await recoverStoppedExecution(stopped(), clients());

    expect(aws.elbv2Mock).toHaveReceivedCommandTimes(ModifyRuleCommand, 0);
    expect(aws.weights(FLEET.productionRuleArn)).toEqual({ blue: 90, green: 10 });
    expect(aws.asgMock).toHaveReceivedCommandTimes(UpdateAutoScalingGroupCommand, 0);
    // Nothing serves all traffic, so nothing is retired either.
    expect(aws.items.get('web#previous')).toMatchObject({ retired: { BOOL: false } });
    expect(aws.items.has('web')).toBe(false);
    expect(out.outcome).toBe('recovered');
    expect(out.report).toMatchObject({ trafficMoved: false, scaledToZero: [], weightsBefore: { blue: 90, green: 10 } });
    expect(out.report!.live).toBeUndefined();
    const cause = aws.items.get('web#last')!.cause.S!;
    expect(cause).toBe(
      `Execution ${EXECUTION_ID} ended ABORTED still holding the lock. The recovery handler changed nothing: no colour to give all traffic to serves: ` +
      '0 of 2 instances healthy in the blue target group (i-0b1: unhealthy Target.FailedHealthChecks, i-0b2: unhealthy Target.FailedHealthChecks); 2 InService in the Auto Scaling group; ' +
      '1 of 2 instances healthy in the green target group (i-0g1: unused Target.InvalidState); 2 InService in the Auto Scaling group. ' +
      'Traffic was left as it is (blue 90%, green 10%). Repair one colour and set the production rule by hand.',
    );
    expect(aws.items.get('web#last')!.live).toBeUndefined();
  });

  it('reports a split it cannot resolve when the stopped execution recorded no colour to restore', async () => {
    aws.setWeights(FLEET.productionRuleArn, 50, 50);
    greenUp();
    aws.items.set('web', lockOf(EXECUTION_ID));

    const out = await recoverStoppedExecution(stopped(), clients());

    expect(aws.elbv2Mock).toHaveReceivedCommandTimes(ModifyRuleCommand, 0);
    expect(aws.asgMock).toHaveReceivedCommandTimes(UpdateAutoScalingGroupCommand, 0);
    expect(out.report!.problem).toBe('the production rule split traffic (blue 50%, green 50%) and the stopped execution recorded no colour to restore');
    expect(aws.items.has('web')).toBe(false);
  });

  it('continues a recovery an earlier attempt claimed (recovery:<arn>), and finishes it', async () => {
    // The first attempt moved traffic and claimed the lock, then failed before the scale-down.
    greenUp();
    aws.items.set('web', { ...lockOf(RECOVERY_OWNER, { restoreTo: Colour.BLUE, phase: 'Recovering' }), recoveringFrom: { S: EXECUTION_ID } });

    const out = await recoverStoppedExecution(stopped(), clients());

    expect(out).toMatchObject({ outcome: 'recovered', report: { live: Colour.BLUE, trafficMoved: false, scaledToZero: [Colour.GREEN] } });
    expect(aws.elbv2Mock).toHaveReceivedCommandTimes(ModifyRuleCommand, 0);
    expect(aws.group(Colour.GREEN)).toMatchObject({ min: 0, desired: 0 });
    expect(aws.items.get('web#last')).toMatchObject({ outcome: { S: 'stopped' }, executionId: { S: EXECUTION_ID } });
    expect(aws.items.has('web')).toBe(false);
  });

  it('stops before any scale-down when a new execution takes the lock over between the read and the claim', async () => {
    aws.setWeights(FLEET.productionRuleArn, 90, 10);
    greenUp();
    aws.items.set('web', lockOf(EXECUTION_ID, { restoreTo: Colour.BLUE }));
    aws.setPreviousRecord({ colour: Colour.GREEN });
    // The read answers the stopped execution; right after it a new execution takes the lock over.
    const taken = lockOf(OTHER_EXECUTION_ID);
    aws.dynamoMock.on(GetItemCommand, { Key: { pk: { S: 'web' } } }).callsFake(() => {
      const item = structuredClone(aws.items.get('web'));
      aws.items.set('web', taken);
      return { Item: item };
    });

    const out = await recoverStoppedExecution(stopped(), clients());

    expect(out).toEqual({ outcome: 'nothing', reason: 'another execution took the lock over' });
    expect(aws.asgMock).toHaveReceivedCommandTimes(UpdateAutoScalingGroupCommand, 0);
    expect(aws.group(Colour.GREEN)).toMatchObject({ min: 2, desired: 2 });
    expect(aws.dynamoMock).toHaveReceivedCommandTimes(PutItemCommand, 0);
    expect(aws.dynamoMock).toHaveReceivedCommandTimes(DeleteItemCommand, 0);
    expect(aws.dynamoMock).toHaveReceivedCommandTimes(UpdateItemCommand, 1);
    expect(aws.items.get('web')).toEqual(taken);
    expect(aws.items.get('web#previous')).toMatchObject({ retired: { BOOL: false } });
  });

  it('does nothing when the lock carries no fleet configuration', async () => {
    aws.setWeights(FLEET.productionRuleArn, 90, 10);
    greenUp();
    const held = lockOf(EXECUTION_ID, { restoreTo: Colour.BLUE, config: null });
    aws.items.set('web', held);

    const out = await recoverStoppedExecution(stopped(), clients());

    expect(out).toEqual({ outcome: 'nothing', reason: 'the lock carries no fleet configuration' });
    expect(aws.dynamoMock.calls()).toHaveLength(1);
    expect(aws.elbv2Mock.calls()).toHaveLength(0);
    expect(aws.asgMock.calls()).toHaveLength(0);
    expect(aws.items.get('web')).toEqual(held);
  });

  it('retires an unretired #previous record only, and goes on when there is none', async () => {
    greenUp();
    aws.items.set('web', lockOf(EXECUTION_ID, { restoreTo: Colour.BLUE }));
    aws.setPreviousRecord({ colour: Colour.GREEN, retired: true });
    const before = structuredClone(aws.items.get('web#previous'));

    await recoverStoppedExecution(stopped(), clients());

    expect(aws.items.get('web#previous')).toEqual(before);
    expect(aws.dynamoMock).toHaveReceivedCommandWith(UpdateItemCommand, { Key: { pk: { S: 'web#previous' } }, ConditionExpression: 'retired = :false' });

    aws.reset();
    modelTableWrites(aws);
    greenUp();
    aws.items.set('web', lockOf(EXECUTION_ID, { restoreTo: Colour.BLUE }));

    const out = await recoverStoppedExecution(stopped(), clients());

    expect(out.outcome).toBe('recovered');
    expect(aws.items.has('web#previous')).toBe(false);
    expect(aws.items.has('web')).toBe(false);
  });

  it('releases the lock even when the result record cannot be written', async () => {
    greenUp();
    aws.items.set('web', lockOf(EXECUTION_ID, { restoreTo: Colour.BLUE }));
    aws.dynamoMock.on(TransactWriteItemsCommand).rejects(Object.assign(new Error('We currently do not have sufficient capacity'), { name: 'InternalServerError' }));

    const out = await recoverStoppedExecution(stopped(), clients());

    expect(out.outcome).toBe('recovered');
    expect(aws.items.has('web')).toBe(false);
  });

  it('records the stop in the release history, in the transaction of the result record: what the lock kept of the execution', async () => {
    aws.setWeights(FLEET.productionRuleArn, 90, 10);
    greenUp();
    aws.items.set('web', {
      ...lockOf(EXECUTION_ID, { restoreTo: Colour.BLUE }),
      input: { S: '{"version":"2.0.0","startedBy":"alice@example.com"}' }, startedBy: { S: 'alice@example.com' },
    });

    await recoverStoppedExecution(stopped(), clients());

    const [transaction] = aws.dynamoMock.commandCalls(TransactWriteItemsCommand);
    expect(transaction.args[0].input.TransactItems!.map((t) => t.Put!.Item!.pk.S)).toEqual(['web#last', `web#history#2025-03-01T12:40:00.000Z#${EXECUTION_ID.split(':').pop()}`]);
    const history = aws.items.get(`web#history#2025-03-01T12:40:00.000Z#${EXECUTION_ID.split(':').pop()}`)!;
    expect(history).toEqual({
      pk: { S: `web#history#2025-03-01T12:40:00.000Z#${EXECUTION_ID.split(':').pop()}` },
      historyOf: { S: 'web' },
      endedAt: { S: '2025-03-01T12:40:00.000Z' },
      startedAt: { S: '2025-03-01T12:00:00.000Z' },
      executionId: { S: EXECUTION_ID },
      action: { S: 'deploy' },
      outcome: { S: 'stopped' },
      input: { S: '{"version":"2.0.0","startedBy":"alice@example.com"}' },
      startedBy: { S: 'alice@example.com' },
      from: { S: 'blue' },
      to: { S: 'green' },
      live: { S: 'blue' },
      releases: { M: {} },
      error: { S: 'ABORTED' },
      cause: aws.items.get('web#last')!.cause,
      stages: { S: '[]' },
    });
  });

  it('writes no second history item on a retry, nor for an execution whose own release-lock recorded its history (moving traffic back failed)', async () => {
    for (const [outcome, writes] of [['stopped', 0], ['rolled-back', 1]] as const) {
      aws.reset();
      modelTableWrites(aws);
      greenUp();
      aws.items.set('web', lockOf(EXECUTION_ID, { restoreTo: Colour.BLUE }));
      aws.items.set('web#last', { pk: { S: 'web#last' }, executionId: { S: EXECUTION_ID }, outcome: { S: outcome } });

      const out = await recoverStoppedExecution(stopped(), clients());

      expect(out.outcome).toBe('recovered');
      expect(aws.dynamoMock).toHaveReceivedCommandTimes(TransactWriteItemsCommand, 0);
      expect(aws.dynamoMock).toHaveReceivedCommandTimes(PutItemCommand, writes);
      expect([...aws.items.keys()].filter((k) => k.includes('#history#'))).toEqual([]);
      expect(aws.items.get('web#last')!.outcome.S).toBe('stopped');
      expect(aws.items.has('web')).toBe(false);
    }
  });

  describe('with Route 53 switching', () => {
    const dns = new FakeAws(DNS_FLEET);

    beforeEach(() => {
      dns.reset();
      modelTableWrites(dns);
    });

    it('moves the records back with one change and scales nothing down', async () => {
      dns.setRecordWeights(90, 10);
      greenUp(dns);
      dns.items.set('web', lockOf(EXECUTION_ID, { restoreTo: Colour.BLUE, config: DNS_FLEET }));
      dns.setPreviousRecord({ colour: Colour.GREEN });

      const out = await recoverStoppedExecution(stopped(), clients(dns));

      expect(dns.route53Mock).toHaveReceivedCommandTimes(ChangeResourceRecordSetsCommand, 1);
      expect(dns.recordWeights()).toEqual({ blue: 100, green: 0 });
      expect(dns.elbv2Mock).toHaveReceivedCommandTimes(ModifyRuleCommand, 0);
      expect(dns.asgMock).toHaveReceivedCommandTimes(UpdateAutoScalingGroupCommand, 0);
      expect(dns.group(Colour.GREEN)).toMatchObject({ min: 2, desired: 2 });
      expect(out.report).toMatchObject({ live: Colour.BLUE, trafficMoved: true, scaledToZero: [] });
      expect(dns.items.get('web#last')!.cause.S).toContain('all traffic was moved to blue, the other colour left running (Route 53: resolvers may still hold its address)');
      expect(dns.items.get('web#previous')).toMatchObject({ retired: { BOOL: true } });
      expect(dns.items.has('web')).toBe(false);
      expect(mutatingCalls(dns)[0]).toBe('ChangeResourceRecordSets');
    });
  });
});

describe('recover, the workflow task after the start handler took a lock over', () => {
  const takenOver = (overrides: Partial<TakenOverLock> = {}): TakenOverLock => ({
    owner: OTHER_EXECUTION_ID, ownerStatus: 'ABORTED', phase: 'Cutover', restoreTo: Colour.BLUE, ...overrides,
  });
  const afterStart = (lock: TakenOverLock = takenOver()): CutoverState => ({
    input: {}, executionId: EXECUTION_ID, action: 'deploy', release: {}, config: FLEET, takenOver: lock,
    stages: [{ stage: 'Validate input and take the lock', startedAt: '2025-03-01T12:40:00.000Z', endedAt: '2025-03-01T12:40:00.000Z' }],
  });
  const deps = () => ({ ...clients(), config: FLEET });

  it('throws Superseded and changes nothing when the lock is no longer this execution\'s', async () => {
    aws.setWeights(FLEET.productionRuleArn, 90, 10);
    greenUp();
    aws.items.set('web', lockOf(OTHER_EXECUTION_ID.replace('run-0', 'run-2')));

    await expect(recoverTakenOver(afterStart(), deps())).rejects.toMatchObject({
      name: 'Superseded', message: expect.stringContaining('holds the lock of fleet \'web\' now (phase Cutover), so this execution did not recover the fleet'),
    });
    expect(mutatingCalls()).toEqual([]);
    expect(aws.elbv2Mock.calls()).toHaveLength(0);
    expect(aws.weights(FLEET.productionRuleArn)).toEqual({ blue: 90, green: 10 });
  });

  it('gives all traffic back to restoreTo, scales the other colour down and retires #previous, then goes on holding the lock', async () => {
    aws.setWeights(FLEET.productionRuleArn, 90, 10);
    greenUp();
    aws.setPreviousRecord({ colour: Colour.GREEN });
    const mine = structuredClone(aws.items.get('web'));

    const out = await recoverTakenOver(afterStart(), deps());

    expect(aws.elbv2Mock).toHaveReceivedCommandTimes(ModifyRuleCommand, 1);
    expect(aws.weights(FLEET.productionRuleArn)).toEqual({ blue: 100, green: 0 });
    expect(aws.group(Colour.GREEN)).toMatchObject({ min: 0, desired: 0 });
    expect(aws.items.get('web#previous')).toMatchObject({ retired: { BOOL: true } });
    expect(mutatingCalls()).toEqual(['ModifyRule', 'UpdateAutoScalingGroup web-green', 'UpdateItem web#previous']);
    // The lock stays this execution's, and the result is the workflow's to write.
    expect(aws.items.get('web')).toEqual(mine);
    expect(aws.items.has('web#last')).toBe(false);
    expect(out.recovered).toEqual({
      executionId: OTHER_EXECUTION_ID, status: 'ABORTED', live: Colour.BLUE, trafficMoved: true,
      weightsBefore: { blue: 90, green: 10 }, scaledToZero: [Colour.GREEN],
    });
    expect(out.stages?.map((s) => s.stage)).toEqual(['Validate input and take the lock', 'Recover the stopped execution']);
    expect(out.takenOver).toEqual(takenOver());
  });

  it('reads the lock (strongly consistent) before it moves anything', async () => {
    aws.setWeights(FLEET.productionRuleArn, 90, 10);
    greenUp();

    await recoverTakenOver(afterStart(), deps());

    const [read] = aws.dynamoMock.commandCalls(GetItemCommand, { Key: { pk: { S: 'web' } } });
    expect(read.args[0].input.ConsistentRead).toBe(true);
    expect(read.calledBefore(aws.elbv2Mock.commandCalls(ModifyRuleCommand)[0])).toBe(true);
  });

  it('makes no ModifyRule call when traffic is already on restoreTo (a retried task)', async () => {
    aws.setWeights(FLEET.productionRuleArn, 0, 100);
    greenUp();

    const out = await recoverTakenOver(afterStart(takenOver({ restoreTo: Colour.GREEN, phase: 'Retiring' })), deps());

    expect(aws.elbv2Mock).toHaveReceivedCommandTimes(ModifyRuleCommand, 0);
    expect(aws.group(Colour.BLUE)).toMatchObject({ min: 0, desired: 0 });
    expect(out.recovered).toMatchObject({ live: Colour.GREEN, trafficMoved: false, scaledToZero: [Colour.BLUE] });
  });

  it('throws FleetStateConflict and changes nothing when no colour can take all traffic', async () => {
    aws.setWeights(FLEET.productionRuleArn, 90, 10);
    greenUp();
    aws.setTargets(Colour.BLUE, [target('i-0b1', 'unhealthy', 'Target.FailedHealthChecks'), target('i-0b2', 'unhealthy', 'Target.FailedHealthChecks')]);
    aws.setTargets(Colour.GREEN, [target('i-0g1', 'unhealthy', 'Target.FailedHealthChecks'), target('i-0g2', 'healthy')]);
    aws.setPreviousRecord({ colour: Colour.GREEN });

    const error = await recoverTakenOver(afterStart(), deps()).catch((e: Error) => e);

    expect(error).toMatchObject({ name: 'FleetStateConflict' });
    expect((error as Error).message).toMatch(new RegExp(`^Took the lock over from execution ${OTHER_EXECUTION_ID} \\(ABORTED\\), but no colour to give all traffic to serves: `));
    expect((error as Error).message).toContain('Traffic was left as it is (blue 90%, green 10%)');
    expect(mutatingCalls()).toEqual([]);
    expect(aws.weights(FLEET.productionRuleArn)).toEqual({ blue: 90, green: 10 });
    expect(aws.items.get('web#previous')).toMatchObject({ retired: { BOOL: false } });
  });

  it('refuses a state without takenOver before any call', async () => {
    const { takenOver: _, ...state } = afterStart();

    await expect(recoverTakenOver(state, deps())).rejects.toThrow(TypeError);
    expect(aws.dynamoMock.calls()).toHaveLength(0);
  });
});

describe('recover handler entry point', () => {
  it('takes the EventBridge path for an execution-status event and the workflow path otherwise', async () => {
    aws.items.set('web', lockOf(OTHER_EXECUTION_ID));

    await expect(handler(stopped())).resolves.toEqual({ outcome: 'nothing', reason: `the lock is held by ${OTHER_EXECUTION_ID}` });
    // The workflow path reads the fleet configuration from the state.
    await expect(handler({ input: {}, executionId: EXECUTION_ID, takenOver: { owner: OTHER_EXECUTION_ID, ownerStatus: 'ABORTED' } }))
      .rejects.toMatchObject({ name: 'FleetConfigError' });
  });
});
