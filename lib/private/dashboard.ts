import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { Colour, TRAFFIC_WEIGHT_METRIC } from './contract';
import type { FleetColour } from '../fleet-colour';

/** What a fleet's dashboard shows. */
export interface FleetDashboardProps {
  readonly fleetId: string;
  readonly colours: FleetColour[];
  readonly stateMachine: sfn.IStateMachine;
  /**
   * The fleet's alarms. The alarm status widget reads this array when the dashboard is
   * synthesized, so alarms pushed into it after construction (addRollbackAlarm) are shown too.
   */
  readonly alarms: cloudwatch.IAlarm[];
  /** The release history custom widget's function and what it reads. */
  readonly history?: { readonly fn: lambda.IFunction; readonly lockTableName: string };
}

/** Colours of the graph lines: blue and green as their names say. */
const LINE_COLOUR: Record<Colour, string> = { [Colour.BLUE]: cloudwatch.Color.BLUE, [Colour.GREEN]: cloudwatch.Color.GREEN };

/** The `TrafficWeight` metric of one colour of a fleet (published by the shifting handlers). */
export function trafficWeightMetric(fleetId: string, colour: Colour, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: TRAFFIC_WEIGHT_METRIC.namespace,
    metricName: TRAFFIC_WEIGHT_METRIC.metricName,
    dimensionsMap: { [TRAFFIC_WEIGHT_METRIC.fleetDimension]: fleetId, [TRAFFIC_WEIGHT_METRIC.colourDimension]: colour },
    statistic: 'Maximum',
    period: Duration.minutes(1),
    unit: cloudwatch.Unit.PERCENT,
    label: colour,
    color: LINE_COLOUR[colour],
    ...props,
  });
}

/**
 * The fleet's dashboard: per colour requests, target 5XX, p99 target response time and healthy
 * hosts (from the colours' target groups), each colour's share of production traffic over time,
 * the fleet's alarms, the cutover executions (AWS/States), and the release history (a custom widget).
 */
export function createFleetDashboard(scope: Construct, id: string, props: FleetDashboardProps): cloudwatch.Dashboard {
  const perColour = (title: string, metric: (c: FleetColour) => cloudwatch.IMetric, left?: cloudwatch.YAxisProps) => new cloudwatch.GraphWidget({
    title,
    width: 12,
    height: 6,
    left: props.colours.map(metric),
    leftYAxis: { min: 0, ...left },
  });
  const line = (c: FleetColour) => ({ label: c.colour, color: LINE_COLOUR[c.colour] });
  const sm = props.stateMachine;
  const executions = (metric: cloudwatch.Metric, label: string, color: string) => metric.with({ statistic: 'Sum', period: Duration.minutes(5), label, color });
  const dashboard = new cloudwatch.Dashboard(scope, id, {
    periodOverride: cloudwatch.PeriodOverride.AUTO,
    defaultInterval: Duration.hours(3),
  });
  dashboard.addWidgets(
    new cloudwatch.TextWidget({
      markdown: `### Blue/green fleet ${props.fleetId}\nTraffic weight is each colour's percentage of production traffic, published by the cutover after every change.`,
      width: 24,
      height: 2,
    }),
  );
  dashboard.addWidgets(
    perColour('Requests (sum per minute)', (c) => c.metricRequestCount(line(c))),
    perColour('Target 5XX responses (sum per minute)', (c) => c.metricServerErrors(line(c))),
  );
  dashboard.addWidgets(
    perColour('Target response time p99', (c) => c.metricTargetResponseTime(line(c))),
    perColour('Healthy hosts (minimum)', (c) => c.metricHealthyHostCount(line(c))),
  );
  dashboard.addWidgets(
    perColour('Traffic weight (% of production traffic)', (c) => trafficWeightMetric(props.fleetId, c.colour), { max: 100, label: '%', showUnits: false }),
    new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: props.alarms, width: 12, height: 6 }),
  );
  dashboard.addWidgets(new cloudwatch.GraphWidget({
    title: 'Cutover executions (sum per 5 minutes)',
    width: 24,
    height: 6,
    left: [
      executions(sm.metricStarted(), 'started', cloudwatch.Color.GREY),
      executions(sm.metricSucceeded(), 'succeeded', cloudwatch.Color.GREEN),
      executions(sm.metricFailed(), 'failed (rolled back or refused)', cloudwatch.Color.RED),
      executions(sm.metricAborted(), 'aborted', cloudwatch.Color.ORANGE),
      executions(sm.metricTimedOut(), 'timed out', cloudwatch.Color.PURPLE),
    ],
    leftYAxis: { min: 0 },
  }));
  if (props.history) {
    // The release history (CloudWatch custom widget: the dashboard invokes the function with the
    // viewer's credentials, which need lambda:InvokeFunction on it, and shows the HTML it returns).
    dashboard.addWidgets(new cloudwatch.CustomWidget({
      title: 'Release history (last 10 executions)',
      functionArn: props.history.fn.functionArn,
      params: { fleetId: props.fleetId, lockTableName: props.history.lockTableName, limit: 10 },
      width: 24,
      height: 8,
      updateOnTimeRangeChange: false,
    }));
  }
  return dashboard;
}
