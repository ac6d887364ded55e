import { DescribeRulesCommand, ModifyRuleCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { rollBack } from '../../lambda/roll-back/roll-back';
import { clock, deployState, FakeAws, FLEET, throttling } from './fake-aws';

const aws = new FakeAws();
let time = clock();
const deps = () => ({ elbv2: aws.elbv2, dynamoDb: aws.dynamoDb, config: FLEET, now: time.now });

beforeEach(() => {
  aws.reset();
  time = clock('2025-03-01T12:05:00.000Z');
  aws.setWeights(FLEET.productionRuleArn, 0, 100);
});

describe('roll-back', () => {
  it('rolls back traffic with one ModifyRule call and records the alarm as the reason', async () => {
    const state = deployState({ trafficMoved: true, targetWeight: 100, alarm: { name: 'web-green-5xx', detectedAt: '2025-03-01T12:04:59.000Z' } });

    // Clock readings: stage start, before ModifyRule, after it, traffic restored, stage end.
    const readings = ['12:05:00.000', '12:05:00.010', '12:05:00.095', '12:05:00.095', '12:05:00.100'].map((t) => new Date(`2025-03-01T${t}Z`));
    const out = await rollBack(state, { ...deps(), now: () => readings.shift()! });

    expect(aws.elbv2Mock).toHaveReceivedCommandTimes(ModifyRuleCommand, 1);
    expect(aws.weights(FLEET.productionRuleArn)).toEqual({ blue: 100, green: 0 });
    expect(out.rollback).toEqual({
      reason: 'web-green-5xx',
      decidedAt: '2025-03-01T12:04:59.000Z',
      trafficRestoredAt: '2025-03-01T12:05:00.095Z',
      revertCallMs: 85,
    });
    expect(out.targetWeight).toBe(0);
    expect(out.stages?.map((s) => s.stage)).toEqual(['Move traffic back']);
  });

  it('records a caught error as the reason, reading the message out of a Lambda error cause', async () => {
    const cause = JSON.stringify({ errorType: 'Error', errorMessage: 'Task timed out after 60 s', trace: ['at x'] });
    const state = deployState({ trafficMoved: true, error: { Error: 'States.Timeout', Cause: cause } });

    const out = await rollBack(state, deps());

    expect(out.rollback).toMatchObject({ reason: 'States.Timeout: Task timed out after 60 s', decidedAt: '2025-03-01T12:05:00.000Z' });
  });

  it('makes no call when traffic is already back (a retried task)', async () => {
    aws.setWeights(FLEET.productionRuleArn, 100, 0);

    const out = await rollBack(deployState({ trafficMoved: true, alarm: { name: 'web-green-5xx', detectedAt: '2025-03-01T12:04:59.000Z' } }), deps());

    expect(aws.elbv2Mock).toHaveReceivedCommandTimes(ModifyRuleCommand, 0);
    expect(out.rollback).not.toHaveProperty('revertCallMs');
    expect(out.rollback.trafficRestoredAt).toBe('2025-03-01T12:05:00.000Z');
  });

  it('moves back from a canary split', async () => {
    aws.setWeights(FLEET.productionRuleArn, 90, 10);

    await rollBack(deployState({ trafficMoved: true, targetWeight: 10 }), deps());

    expect(aws.weights(FLEET.productionRuleArn)).toEqual({ blue: 100, green: 0 });
  });

  it('leaves the test rule alone', async () => {
    await rollBack(deployState({ trafficMoved: true }), deps());

    expect(aws.elbv2Mock).toHaveReceivedCommandWith(DescribeRulesCommand, { RuleArns: [FLEET.productionRuleArn] });
    expect(aws.elbv2Mock).not.toHaveReceivedCommandWith(DescribeRulesCommand, { RuleArns: [FLEET.testRuleArn] });
    expect(aws.weights(FLEET.testRuleArn)).toEqual({ blue: 0, green: 100 });
  });

  it('surfaces a throttling error so the state machine retries it', async () => {
    aws.elbv2Mock.on(ModifyRuleCommand).rejects(throttling());

    await expect(rollBack(deployState({ trafficMoved: true }), deps())).rejects.toMatchObject({ name: 'Throttling' });
  });
});
