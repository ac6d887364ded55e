import { appendFileSync } from 'fs';
import * as path from 'path';
import { Duration } from 'aws-cdk-lib';
import { ExampleStackProps } from '../../bin/example-stack';
import { Colour } from '../../lib/private/contract';
import { ExecutionResult, Lab } from '../../lab/lab';

/**
 * Lab settings for the end-to-end scenarios: waits run at 0 in the lab, so the bake and the
 * warm period are counted in polls, and time-boxed stages (health) have short deadlines.
 */
export const LAB_PROPS: ExampleStackProps = {
  cutover: { pollInterval: Duration.seconds(1), bakeTime: Duration.seconds(0), keepPreviousWarm: Duration.seconds(0), healthyTimeout: Duration.seconds(2), smokeRounds: 2 },
};

/**
 * The IAM gate in every lab test: a call that the calling function's role (as synthesized) would
 * not allow was answered with AccessDenied; whatever the handler did with that error, the test
 * that made it fails here. Denials during a lab's boot or a reset show up after the next test.
 */
afterEach(() => {
  for (const lab of Lab.started) lab.assertNoDenials();
});
afterAll(() => {
  const labs = [...Lab.started];
  Lab.started.clear();
  for (const lab of labs) lab.assertNoDenials();
  // LAB_IAM_SUMMARY=<file>: append the (role, action) pairs the gate allowed, one JSON line per test file.
  const out = process.env.LAB_IAM_SUMMARY;
  if (out) appendFileSync(out, JSON.stringify({ file: path.basename(expect.getState().testPath ?? ''), allowed: [...new Set(labs.flatMap((l) => l.iamSummary()))].sort() }) + '\n');
});

/** Mutating calls of an execution, as `stage: Action`. */
export function mutations(result: ExecutionResult): string[] {
  return result.calls.filter((c) => c.mutating && !c.injected && !c.denied).map((c) => `${c.stage}: ${c.action}`);
}

/** Everything a scenario asserts about the fleet at the end. */
export async function fleetState(lab: Lab) {
  return {
    production: await lab.weights('production'),
    test: lab.config.route53 ? undefined : await lab.weights('test'),
    blue: await lab.group(Colour.BLUE),
    green: await lab.group(Colour.GREEN),
    blueRelease: await lab.release(Colour.BLUE),
    greenRelease: await lab.release(Colour.GREEN),
    lock: await lab.lock(),
  };
}

/** Names of the example's alarms: a colour's built-in ones and the user's checkout alarm. */
export function alarmName(lab: Lab, which: 'blue-5xx' | 'green-5xx' | 'green-unhealthy' | 'checkout'): string {
  const { colours, rollbackAlarmNames } = lab.config;
  switch (which) {
    case 'blue-5xx': return colours.blue.alarmNames.find((n) => n.includes('ServerErrors'))!;
    case 'green-5xx': return colours.green.alarmNames.find((n) => n.includes('ServerErrors'))!;
    case 'green-unhealthy': return colours.green.alarmNames.find((n) => n.includes('UnhealthyHosts'))!;
    case 'checkout': return rollbackAlarmNames[0];
  }
}

/**
 * Runs a cutover, recording the production weights (rule or records) right after each shift
 * step, and optionally setting an alarm to ALARM just before the n-th run of a state.
 */
export async function runObserving(lab: Lab, input: unknown, alarmAt?: { state: string; n: number; alarm: string }) {
  const steps: Array<{ state: string; weights: Record<Colour, number> }> = [];
  const result = await lab.runCutover(input, {
    afterTask: async (state) => { if (state.startsWith('Shift ')) steps.push({ state, weights: await lab.weights() }); },
    beforeTask: async (state, n) => { if (alarmAt && state === alarmAt.state && n === alarmAt.n) await lab.setAlarm(alarmAt.alarm, 'ALARM'); },
  });
  return { result, steps };
}
