/**
 * One synth measurement, run by bench/run.ts in a fresh plain `node` process (run.ts compiles
 * this file and plain-stack.ts to JavaScript first, so no TypeScript loader hooks sit in the
 * timed window):
 *   node synth-child.js <example|plain|fleets20|stack1|stack2|stack10>     (env BENCH_ROOT = the repository)
 * It also runs as TypeScript for a quick look: `npx tsx bench/synth-child.ts example`.
 *
 * Every module the stacks import is loaded before the clock starts; only `new App()` →
 * `app.synth()` is timed: construction, aws-cdk-lib's own lazy loading, asset staging, the
 * built-in CloudFormation validation unless CDK_VALIDATION=false, and writing the cloud
 * assembly to a temporary outdir. Prints one JSON line: { kind, seconds, stacks, resources, assets }.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as ExampleModule from '../dist/bin/example-stack';
import type * as LibModule from '../dist/lib';
import { PlainStack } from './plain-stack';

// The compiled library, as its users load it (`npm run build` writes dist/).
const root = process.env.BENCH_ROOT ?? path.join(__dirname, '..');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { ExampleStack, exampleUserData, exampleVpc } = require(path.join(root, 'dist', 'bin', 'example-stack')) as typeof ExampleModule;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { BlueGreenFleet } = require(path.join(root, 'dist', 'lib')) as typeof LibModule;

const KINDS = ['example', 'plain', 'fleets20', 'stack1', 'stack2', 'stack10'] as const;
type Kind = typeof KINDS[number];
/** `fleets20`: this many stacks in one app, each an ExampleStack (its own VPC and one fleet). */
const FLEETS = 20;
/** `stack1`, `stack2`, `stack10`: one stack with the example's VPC and this many fleets (default props, nginx user data). */
const FLEETS_IN_STACK: Partial<Record<Kind, number>> = { stack1: 1, stack2: 2, stack10: 10 };

const kind = process.argv[2] as Kind;
if (!KINDS.includes(kind)) {
  console.error(`usage: synth-child <${KINDS.join('|')}>`);
  process.exit(2);
}

// The context the CLI would pass from cdk.json, for every kind alike.
const cdkJson = JSON.parse(fs.readFileSync(path.join(root, 'cdk.json'), 'utf8'));
const context: Record<string, unknown> = cdkJson.context ?? {};
const outdir = fs.mkdtempSync(path.join(os.tmpdir(), `bench-synth-${kind}-`));

try {
  const started = process.hrtime.bigint();
  const app = new App({ outdir, context, analyticsReporting: false });
  if (kind === 'example') {
    new ExampleStack(app, 'BlueGreenExample');
  } else if (kind === 'plain') {
    new PlainStack(app, 'PlainExample');
  } else if (FLEETS_IN_STACK[kind]) {
    const stack = new Stack(app, 'BlueGreenFleets');
    const vpc = exampleVpc(stack);
    for (let i = 1; i <= FLEETS_IN_STACK[kind]!; i++) {
      new BlueGreenFleet(stack, `Web${String(i).padStart(2, '0')}`, {
        vpc, instanceType: new ec2.InstanceType('t3.small'), machineImage: ec2.MachineImage.latestAmazonLinux2023(), userData: exampleUserData(),
      });
    }
  } else {
    for (let i = 1; i <= FLEETS; i++) new ExampleStack(app, `BlueGreenExample${String(i).padStart(2, '0')}`);
  }
  const assembly = app.synth();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;

  const resources = assembly.stacks.reduce((n, s) => n + Object.keys((s.template as any).Resources ?? {}).length, 0);
  const assets = fs.readdirSync(outdir).filter((f) => f.startsWith('asset.')).length;
  process.stdout.write(`${JSON.stringify({ kind, seconds, stacks: assembly.stacks.length, resources, assets })}\n`);
} finally {
  fs.rmSync(outdir, { recursive: true, force: true });
}
