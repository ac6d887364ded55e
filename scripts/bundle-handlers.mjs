// Bundles every handler in lambda/<name>/index.ts into dist/lambda-bundles/<name>/index.js.
// Runs at build time so that users of the library need neither esbuild nor Docker at synth.
import { build } from 'esbuild';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const outRoot = join(root, 'dist', 'lambda-bundles');
// SDK_MODE=external leaves @aws-sdk/* to the Lambda runtime's copy (used by the benchmark).
const external = process.env.SDK_MODE === 'external' ? ['@aws-sdk/*', '@smithy/*'] : [];

const lambdaDir = join(root, 'lambda');
const handlers = (existsSync(lambdaDir) ? readdirSync(lambdaDir, { withFileTypes: true }) : [])
  .filter((d) => d.isDirectory() && d.name !== 'common' && existsSync(join(root, 'lambda', d.name, 'index.ts')))
  .map((d) => d.name)
  .sort();

rmSync(outRoot, { recursive: true, force: true });
await Promise.all(handlers.map((name) => build({
  entryPoints: [join(root, 'lambda', name, 'index.ts')],
  outfile: join(outRoot, name, 'index.js'),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  // The SDK's ES module build: esbuild trims it to what a handler uses (about 40% smaller and
  // half the cold load time of its CommonJS build, measured by the benchmark).
  mainFields: ['module', 'main'],
  // The ESM build loads some modules with import(); as require() they stay in the bundle and load
  // the same way in Lambda and in the local lab (jest's module sandbox has no import()).
  supported: { 'dynamic-import': false },
  minify: true,
  sourcemap: false,
  legalComments: 'none',
  external,
  logLevel: 'warning',
})));
console.log(`bundled ${handlers.length} handler(s) into ${outRoot}: ${handlers.join(', ')}`);
