/**
 * `npm run demo`: two releases in the local lab, with no AWS account, told through the operators'
 * command line (`cdk-ec2-blue-green`, run in-process with the same SDK calls it makes on AWS: Step
 * Functions answered by the lab's runs, everything else by moto), as an operator would type them.
 *   1. `deploy --version 2.0.0 --wait`: v2 goes live on green; exit code 0.
 *   2. `deploy --version 3.0.0 --wait`: v3 is deployed into blue; an alarm fires during the bake;
 *      traffic is back on green within one poll and blue is scaled to zero; exit code 1.
 *   Then `history` and `status`.
 * Exits 0 only if both stories really happened (checked against the emulator's state).
 */
import { Duration } from 'aws-cdk-lib';
import { main as cli } from '../cli/main';
import { Colour, CutoverErrorName } from '../lib';
import { STATE_NAMES } from '../lib/cutover-workflow';
import { IamGate } from './iam-gate';
import { Lab } from './lab';
import { operatorEnv } from './operator';

const PROPS = {
  cutover: {
    pollInterval: Duration.seconds(1),
    healthyTimeout: Duration.seconds(30),
    bakeTime: Duration.seconds(3),
    keepPreviousWarm: Duration.seconds(2),
    smokeRounds: 2,
  },
};

const t0 = Date.now();
const clock = () => `${((Date.now() - t0) / 1000).toFixed(1).padStart(5)} s`;
const say = (text: string) => console.log(`${clock()}  ${text}`);

/** Runs `cdk-ec2-blue-green ARGS` as an operator would type it; prints and returns what it said. */
async function operator(lab: Lab, args: string[]): Promise<{ code: number; stdout: string }> {
  console.log(`\n$ cdk-ec2-blue-green ${args.join(' ')}`);
  let stdout = '';
  const code = await cli(args, {
    stdout: { write: (text: string) => { stdout += text; return process.stdout.write(text); }, isTTY: process.stdout.isTTY },
    stderr: { write: (text: string) => process.stderr.write(text) },
    env: { ...operatorEnv(lab), ...(process.env.NO_COLOR !== undefined ? { NO_COLOR: process.env.NO_COLOR } : {}) },
    pollMs: 500,
  });
  console.log(`(exit code ${code})`);
  return { code, stdout };
}

async function sample(lab: Lab, n: number): Promise<Record<string, number>> {
  const seen: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const res = await fetch(`${lab.productionListener.url}/health`);
    const body = await res.json() as { colour: string; version: string };
    const key = `${body.colour} ${body.version}`;
    seen[key] = (seen[key] ?? 0) + 1;
  }
  return seen;
}

function check(condition: boolean, what: string): void {
  if (!condition) throw new Error(`the demo's story did not happen: ${what}`);
  console.log(`          ok: ${what}`);
}

async function main(): Promise<void> {
  say('starting moto_server, deploying the example app\'s synthesized template into it ...');
  const lab = await Lab.start(PROPS);
  try {
    say(`lab ready: moto_server on ${lab.moto.endpoint}, ${Object.keys(lab.deployed.physical).length} resources, production listener on ${lab.productionListener.url}`);
    say(`production serves: ${JSON.stringify(await sample(lab, 10))}`);

    console.log('\n── Release 1: version 2.0.0 ───────────────────────────────────────────────');
    await operator(lab, ['status']);
    lab.nextRunHooks = { realWaits: true };
    const d1 = await operator(lab, ['deploy', '--version', '2.0.0', '--wait', '--yes']);
    const r1 = (await lab.execution(/Started (\S+)/.exec(d1.stdout)![1]).done)!;
    const served1 = await sample(lab, 10);
    say(`production serves: ${JSON.stringify(served1)}`);
    check(d1.code === 0 && r1.status === 'SUCCEEDED' && (await lab.liveColour()) === Colour.GREEN, 'v2 is live on green; deploy --wait exited 0');
    check(served1['green 2.0.0'] === 10, 'every production request answered by green 2.0.0');
    check((await lab.group(Colour.BLUE)).desired === 0, 'blue scaled to zero after the bake and the warm period');

    console.log('\n── Release 2: version 3.0.0, an alarm fires during the bake ───────────────');
    const alarm = lab.config.colours.blue.alarmNames.find((n) => n.includes('ServerErrors'))!;
    lab.nextRunHooks = {
      realWaits: true,
      beforeTask: async (state, n) => {
        if (state === STATE_NAMES.bake && n === 1) {
          await lab.setAlarm(alarm, 'ALARM');
          console.log(`          !! ${alarm} set to ALARM (5XX responses from blue)`);
        }
      },
    };
    const d2 = await operator(lab, ['deploy', '--version', '3.0.0', '--wait', '--yes']);
    const r2 = (await lab.execution(/Started (\S+)/.exec(d2.stdout)![1]).done)!;
    await lab.setAlarm(alarm, 'OK');
    const revert = r2.calls.find((c) => c.stage === STATE_NAMES.rollBack && c.action === 'ModifyRule');
    const bakePollsAfterAlarm = r2.states.slice(r2.states.indexOf(STATE_NAMES.bake)).filter((s) => s === STATE_NAMES.bake).length - 1;
    const served2 = await sample(lab, 10);
    say(`production serves: ${JSON.stringify(served2)}`);
    check(d2.code === 1 && r2.error === CutoverErrorName.ROLLED_BACK, 'the cutover rolled back; deploy --wait exited 1');
    check(bakePollsAfterAlarm === 1, 'the alarm was seen by the first poll after it fired, and the revert started right after it');
    check(r2.calls.filter((c) => c.stage === STATE_NAMES.rollBack && c.mutating).length === 1 && revert !== undefined, 'traffic restored with one ModifyRule call');
    check((await lab.liveColour()) === Colour.GREEN && served2['green 2.0.0'] === 10, 'traffic is back on green 2.0.0');
    check((await lab.group(Colour.BLUE)).desired === 0, 'blue (3.0.0) scaled to zero');
    check((await lab.lock()) === undefined, 'the lock is released');

    const h = await operator(lab, ['history']);
    check(h.code === 0 && /rolled-back +blue +3\.0\.0/.test(h.stdout.replace(/\u001b\[[0-9;]*m/g, '')) && h.stdout.includes(alarm), 'history lists the rollback of 3.0.0 with the alarm that caused it');
    const st = await operator(lab, ['status']);
    check(st.code === 0, 'status reads the fleet back');

    console.log('\n── Final state ───────────────────────────────────────────────────────────');
    for (const colour of [Colour.BLUE, Colour.GREEN]) {
      const g = await lab.group(colour);
      const release = await lab.release(colour);
      const w = (await lab.weights())[colour];
      console.log(`          ${colour.padEnd(5)}  ${String(w).padStart(3)}% of traffic  version ${release.version.padEnd(8)} min ${g.min} max ${g.max} desired ${g.desired}`);
    }
    const denials = lab.iam.takeDenials();
    if (denials.length) console.log(IamGate.describe(denials));
    check(denials.length === 0, `every AWS call of the handlers is allowed by its function's role (IAM gate: ${lab.iamSummary().length} role/action pairs)`);
    say('both stories happened.');
  } finally {
    await lab.stop();
  }
}

main().catch((e) => {
  console.error(`\n${(e as Error).stack ?? e}`);
  process.exit(1);
});
