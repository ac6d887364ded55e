// Bundles every handler in lambda/<name>/index.ts into dist/lambda-bundles/<name>/index.js, and
// the operators' CLI (cli/index.ts) into dist/cli/index.js, the package's bin.
// Runs at build time so that users of the library need neither esbuild nor Docker at synth.
import { build } from 'esbuild';
import { chmodSync, existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
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

// The SDK clients describe every shape of their service in one generated file,
// dist-es/schemas/schemas_0.js: `export var X$ = [3, n0, _X, 0, [...], [[0, { [_xN]: _Y }], ...]]`,
// with the trait names in string constants (`const _xN = "xmlName";`). esbuild cannot drop an
// object literal whose key is computed from a variable (converting the key to a string could run
// code), so every schema of a client stayed in a bundle that used any of its commands: 550 KB of
// minified EC2 schemas for one DescribeInstances. This writes those keys as the string literals
// they name (`{ "xmlName": _Y }`): the same objects at run time, and esbuild keeps only the
// schemas the handler's commands reach.
const schemaFile = /[\\/]@aws-sdk[\\/].+[\\/]dist-es[\\/](?:.+[\\/])?schemas[\\/]schemas_\d+\.js$/;
const literalSchemaKeys = {
  name: 'literal-schema-keys',
  setup(b) {
    b.onLoad({ filter: schemaFile }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      const strings = new Map();
      for (const m of source.matchAll(/^const (_\w+) = ("(?:[^"\\\n]|\\.)*");$/gm)) strings.set(m[1], m[2]);
      let unresolved = 0;
      const contents = source.replace(/([{,]\s*)\[(_\w+)\]:/g, (all, before, id) => {
        if (strings.has(id)) return `${before}${strings.get(id)}:`;
        unresolved++;
        return all;
      });
      // Still correct, only bigger: say so, so that the next SDK's layout does not go unnoticed.
      const warnings = unresolved > 0 || /\[\s*[A-Za-z_$][\w$]*\s*\]\s*:/.test(contents)
        ? [{ text: `literal-schema-keys: computed keys left in ${args.path}; the bundle keeps all of its schemas` }]
        : [];
      return { contents, loader: 'js', warnings };
    });
  },
};

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
  plugins: [literalSchemaKeys],
  logLevel: 'warning',
})));
console.log(`bundled ${handlers.length} handler(s) into ${outRoot}: ${handlers.join(', ')}`);

// The CLI runs on the operator's machine: the SDK clients are dev dependencies of the package, so
// they are always bundled (never SDK_MODE=external), and the bundle is the bin (`#!/usr/bin/env node`),
// the only file in dist/cli (tsc type-checks cli/ and writes its modules there first).
const cliOut = join(root, 'dist', 'cli');
rmSync(cliOut, { recursive: true, force: true });
await build({
  entryPoints: [join(root, 'cli', 'index.ts')],
  outfile: join(cliOut, 'index.js'),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  mainFields: ['module', 'main'],
  supported: { 'dynamic-import': false },
  minify: true,
  sourcemap: false,
  legalComments: 'none',
  banner: { js: '#!/usr/bin/env node' },
  plugins: [literalSchemaKeys],
  logLevel: 'warning',
});
chmodSync(join(cliOut, 'index.js'), 0o755);
console.log(`bundled the CLI into ${join(cliOut, 'index.js')}`);
