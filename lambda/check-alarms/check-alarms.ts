import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { AlarmWatchPhase, CheckAlarmsPayload, CutoverState } from '../../lib/private/contract';
import { BaseDeps } from '../common/deps';
import { AlarmFired, NewColourUnhealthy } from '../common/errors';
import { assessColour, colours, describeColourHealth, isoPlusSeconds, stillServing } from '../common/fleet';
import { logger } from '../common/logger';
import { STATE_NAMES } from '../../lib/private/stage-names';
import { beginStage } from '../common/stage';

/** The console name of the stage: the bake, or the watch after a shift step at the target's weight. */
export function stageName(state: CutoverState, phase: AlarmWatchPhase): string | undefined {
  if (phase === 'bake') return STATE_NAMES.bake;
  if (phase === 'shift') return STATE_NAMES.watch(state.targetWeight ?? 0);
  return undefined;
}

/** `{ state, phase }` with phase 'shift' (while a partial shift step holds) or 'bake'. */
export type CheckAlarmsRequest = CheckAlarmsPayload;
/** The state; `alarm` set when an alarm is in ALARM; `bake` or `shiftStep` updated. */
export type CheckAlarmsResponse = CutoverState;

export interface CheckAlarmsDeps extends BaseDeps {
  readonly cloudWatch: CloudWatchClient;
  readonly autoScaling: AutoScalingClient;
  readonly elbv2: ElasticLoadBalancingV2Client;
}

/** One alarm as seen. */
export interface AlarmSeen {
  readonly name: string;
  readonly state: string;
  readonly reason?: string;
}

/**
 * Looks at the rollback alarms (the target's built-in ones and the fleet's own) once.
 * An alarm in ALARM does not throw: the state comes back with `alarm` set, so the state
 * machine can branch to the rollback with everything it knows. Unless an alarm fired, it also
 * looks at the target colour's health with the calls of the health wait (its group, its target
 * group): alarms see neither a stopped nor a deregistered instance (their metrics just stop), so a
 * target no longer serving (see {@link stillServing}) throws NewColourUnhealthy, which the state
 * machine catches into the same rollback. Keeps the clock of the phase:
 * the bake lasts `bakeSeconds` from its first check, a partial shift step `stepSeconds` from
 * the first check at its weight; `done` says the time is up (or an alarm fired).
 */
export async function checkAlarms(request: CheckAlarmsRequest, deps: CheckAlarmsDeps): Promise<CheckAlarmsResponse> {
  const { state, phase } = request;
  const { config } = deps;
  const stage = stageName(state, phase);
  if (!stage) throw new RangeError(`check-alarms: phase must be 'shift' or 'bake', got ${JSON.stringify(phase)}.`);
  const run = beginStage(state, deps, stage);
  const { startedAt } = run;
  const { target } = colours(state);

  const names = [...new Set([...config.colours[target].alarmNames, ...config.rollbackAlarmNames])];
  const seen = await describeAlarms(deps.cloudWatch, names);
  const firing = seen.filter((a) => a.state === 'ALARM');
  const noData = seen.filter((a) => a.state === 'INSUFFICIENT_DATA');
  const missing = names.filter((n) => !seen.some((a) => a.name === n));
  if (noData.length > 0) {
    logger.info('Alarms without enough data count as not firing', { alarms: noData.map((a) => a.name) });
  }
  if (missing.length > 0) {
    logger.warn('Rollback alarms not found: they cannot stop this cutover', { alarms: missing });
  }

  const now = deps.now();
  let alarm = state.alarm;
  if (firing.length > 0 && !alarm) {
    alarm = { name: firing.map((a) => a.name).join(', '), detectedAt: now.toISOString() };
    const fired = new AlarmFired(
      `Alarm${firing.length > 1 ? 's' : ''} ${alarm.name} in ALARM at ${alarm.detectedAt} during the ${phase}: rolling back. ` +
      firing.map((a) => `${a.name}: ${a.reason ?? 'no reason given'}`).join('; '),
    );
    logger.error(fired.message, { errorName: fired.name, alarms: firing });
  }

  if (!alarm) {
    const seen = await assessColour(deps.autoScaling, deps.elbv2, config.colours[target]);
    if (!stillServing(seen)) {
      const unhealthy = new NewColourUnhealthy(
        `The new colour ${target} is no longer healthy at ${now.toISOString()} during the ${phase === 'bake' ? 'bake' : `shift step at ${state.targetWeight ?? 0}%`}: ` +
        `${describeColourHealth(seen, target)}. Rolling back.`,
      );
      logger.error(unhealthy.message, { errorName: unhealthy.name, failing: seen.failing, healthyTargets: seen.healthyTargets, desired: seen.capacity.desired });
      throw unhealthy;
    }
    logger.info('The new colour is healthy', { colour: target, healthyTargets: seen.healthyTargets, desired: seen.capacity.desired, joining: seen.joining });
  }

  let bake = state.bake;
  let shiftStep = state.shiftStep;
  if (phase === 'bake') {
    const until = bake?.until ?? isoPlusSeconds(startedAt, config.bakeSeconds);
    const polls = (bake?.polls ?? 0) + 1;
    bake = { until, polls, done: alarm !== undefined || now.getTime() >= Date.parse(until) };
    logger.info('Bake', { ...bake, watched: names.length });
  } else {
    const weight = state.targetWeight ?? 0;
    // A new weight is a new step: its clock starts now.
    const current = shiftStep?.weight === weight ? shiftStep : undefined;
    const until = current?.until ?? isoPlusSeconds(startedAt, config.stepSeconds ?? 0);
    shiftStep = { weight, until, polls: (current?.polls ?? 0) + 1, done: alarm !== undefined || now.getTime() >= Date.parse(until) };
    logger.info('Shift step', { ...shiftStep, watched: names.length, firing: firing.length });
  }

  return run.done({
    ...(alarm ? { alarm } : {}),
    ...(bake ? { bake } : {}),
    ...(shiftStep ? { shiftStep } : {}),
  });
}

/**
 * Metric and composite alarms by name, 100 names per request. The state is filtered here,
 * not by the API: some implementations apply only one DescribeAlarms filter.
 */
export async function describeAlarms(cloudWatch: CloudWatchClient, names: readonly string[]): Promise<AlarmSeen[]> {
  const wanted = new Set(names);
  const seen: AlarmSeen[] = [];
  for (let i = 0; i < names.length; i += 100) {
    let nextToken: string | undefined;
    do {
      const out = await cloudWatch.send(new DescribeAlarmsCommand({
        AlarmNames: names.slice(i, i + 100),
        AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
        MaxRecords: 100,
        NextToken: nextToken,
      }));
      for (const a of [...(out.MetricAlarms ?? []), ...(out.CompositeAlarms ?? [])]) {
        if (a.AlarmName && wanted.has(a.AlarmName) && !seen.some((s) => s.name === a.AlarmName)) {
          seen.push({ name: a.AlarmName, state: a.StateValue ?? 'INSUFFICIENT_DATA', reason: a.StateReason });
        }
      }
      nextToken = out.NextToken;
    } while (nextToken);
  }
  return seen;
}
