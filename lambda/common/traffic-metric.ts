/**
 * The TrafficWeight metric: each colour's percentage of production traffic, published by the
 * handlers that move it (shift, roll-back, recover) once the move is done.
 */
import { CloudWatchClient, PutMetricDataCommand, StandardUnit } from '@aws-sdk/client-cloudwatch';
import { COLOURS, FleetConfig, TRAFFIC_WEIGHT_METRIC } from '../../lib/private/contract';
import { logger } from './logger';
import { RuleWeights } from './fleet';

/** The client the metric is published with (`metricsCloudWatch` in clients.ts: few, short attempts). */
export interface MetricClients {
  /** Absent: nothing is published. */
  readonly metrics?: CloudWatchClient;
}

/**
 * Publishes `weights` as `TrafficWeight` (namespace `BlueGreenFleet`, dimensions Fleet and
 * Colour), one datum per colour in one PutMetricData call. Called only after the weights were set,
 * so it never delays a traffic change; a failure is logged as a warning and otherwise ignored (the
 * metric informs dashboards, it decides nothing). Returns whether the metric was published.
 */
export async function publishTrafficWeights(clients: MetricClients, config: FleetConfig, weights: RuleWeights): Promise<boolean> {
  if (!clients.metrics) return false;
  const m = TRAFFIC_WEIGHT_METRIC;
  try {
    await clients.metrics.send(new PutMetricDataCommand({
      Namespace: m.namespace,
      MetricData: COLOURS.map((colour) => ({
        MetricName: m.metricName,
        Dimensions: [{ Name: m.fleetDimension, Value: config.fleetId }, { Name: m.colourDimension, Value: colour }],
        Value: weights[colour],
        Unit: StandardUnit.Percent,
      })),
    }));
    return true;
  } catch (e) {
    logger.warn('Could not publish the TrafficWeight metric: traffic was moved all the same', { error: `${(e as Error).name}: ${(e as Error).message}`, weights });
    return false;
  }
}
