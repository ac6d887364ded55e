import { PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { ModifyRuleCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { Colour } from '../../lib/private/contract';
import { logger } from '../../lambda/common/logger';
import { rollBack } from '../../lambda/roll-back/roll-back';
import { shift } from '../../lambda/shift/shift';
import { clock, deployState, FakeAws, FLEET } from './fake-aws';

/**
 * The TrafficWeight metric: published by shift, roll-back and recover after production traffic
 * moved, never before, and never failing the handler (the recovery handler's: recover.test.ts). PutMetricData takes the namespace, and per
 * datum its name, dimensions, value and unit (CloudWatch API reference, PutMetricData / MetricDatum).
 */
const aws = new FakeAws();
const time = clock('2025-03-01T12:05:00.000Z');
const deps = () => ({ elbv2: aws.elbv2, dynamoDb: aws.dynamoDb, metrics: aws.cloudWatch, config: FLEET, now: time.now });

/** The datum PutMetricData got for one colour. */
const datum = (colour: Colour, value: number) => ({
  MetricName: 'TrafficWeight',
  Dimensions: [{ Name: 'Fleet', Value: 'web' }, { Name: 'Colour', Value: colour }],
  Value: value,
  Unit: 'Percent',
});

/** Whether the only PutMetricData came after the only ModifyRule. */
function metricAfterTrafficChange(): boolean {
  const [modify] = aws.elbv2Mock.commandCalls(ModifyRuleCommand);
  const [metric] = aws.cloudWatchMock.commandCalls(PutMetricDataCommand);
  return modify.calledBefore(metric);
}

let warn: jest.SpyInstance;
beforeEach(() => {
  aws.reset();
  warn = jest.spyOn(logger, 'warn');
});
afterEach(() => warn.mockRestore());

describe('the TrafficWeight metric', () => {
  it('is published by a shift, for both colours, after the ModifyRule', async () => {
    await shift({ state: deployState(), weight: 10 }, deps());

    expect(aws.cloudWatchMock).toHaveReceivedCommandTimes(PutMetricDataCommand, 1);
    expect(aws.cloudWatchMock).toHaveReceivedCommandWith(PutMetricDataCommand, {
      Namespace: 'BlueGreenFleet',
      MetricData: [datum(Colour.BLUE, 90), datum(Colour.GREEN, 10)],
    });
    expect(metricAfterTrafficChange()).toBe(true);
  });

  it('is published by a rollback after traffic is back on the live colour', async () => {
    aws.setWeights(FLEET.productionRuleArn, 0, 100);

    await rollBack(deployState({ trafficMoved: true, targetWeight: 100, alarm: { name: 'web-green-5xx', detectedAt: '2025-03-01T12:04:59.000Z' } }), deps());

    expect(aws.cloudWatchMock).toHaveReceivedCommandWith(PutMetricDataCommand, {
      Namespace: 'BlueGreenFleet',
      MetricData: [datum(Colour.BLUE, 100), datum(Colour.GREEN, 0)],
    });
    expect(metricAfterTrafficChange()).toBe(true);
  });

  it('failing does not fail a shift: traffic moved, and a warning says the metric was not published', async () => {
    aws.cloudWatchMock.on(PutMetricDataCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'Throttling' }));

    const out = await shift({ state: deployState(), weight: 100 }, deps());

    expect(out).toMatchObject({ trafficMoved: true, targetWeight: 100 });
    expect(aws.weights(FLEET.productionRuleArn)).toEqual({ blue: 0, green: 100 });
    expect(warn).toHaveBeenCalledWith('Could not publish the TrafficWeight metric: traffic was moved all the same',
      { error: 'Throttling: Rate exceeded', weights: { blue: 0, green: 100 } });
  });

  it('failing does not fail a rollback', async () => {
    aws.setWeights(FLEET.productionRuleArn, 0, 100);
    aws.cloudWatchMock.on(PutMetricDataCommand).rejects(Object.assign(new Error('no access'), { name: 'AccessDenied' }));

    const out = await rollBack(deployState({ trafficMoved: true, targetWeight: 100, alarm: { name: 'web-green-5xx', detectedAt: '2025-03-01T12:04:59.000Z' } }), deps());

    expect(out.targetWeight).toBe(0);
    expect(aws.weights(FLEET.productionRuleArn)).toEqual({ blue: 100, green: 0 });
    expect(warn).toHaveBeenCalledWith('Could not publish the TrafficWeight metric: traffic was moved all the same', expect.objectContaining({ error: 'AccessDenied: no access' }));
  });

  it('is not published when the traffic change itself failed', async () => {
    aws.elbv2Mock.on(ModifyRuleCommand).rejects(Object.assign(new Error('boom'), { name: 'InternalFailure' }));

    await expect(shift({ state: deployState(), weight: 100 }, deps())).rejects.toMatchObject({ name: 'InternalFailure' });
    expect(aws.cloudWatchMock).toHaveReceivedCommandTimes(PutMetricDataCommand, 0);
  });
});
