import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

/**
 * The library compiles with jsii (`npm run jsii`: 0 errors), and jsii-pacmak generates the
 * Python, Java, .NET and Go sources from its assembly (`npm run pacmak`, code only: no toolchain
 * runs, nothing is built or published). Both read the package as `npm run build` left it.
 */

const root = path.join(__dirname, '..', '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const outdir = path.join(root, pkg.jsii.outdir);

function npmRun(script: string): { status: number | null; output: string; seconds: number } {
  const started = Date.now();
  const run = spawnSync('npm', ['run', '--silent', script], {
    cwd: root,
    encoding: 'utf8',
    // jsii prints a banner on Node 20; the diagnostics are what matters here.
    env: { ...process.env, JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION: '1', FORCE_COLOR: '0', NO_COLOR: '1' },
    maxBuffer: 64 * 1024 * 1024,
  });
  const seconds = (Date.now() - started) / 1000;
  // eslint-disable-next-line no-console
  console.log(`npm run ${script}: exit ${run.status} in ${seconds.toFixed(1)} s`);
  return { status: run.status, output: `${run.stdout}${run.stderr}`, seconds };
}

describe('jsii', () => {
  test('compiles the library with 0 errors (npm run jsii)', () => {
    // A failed compile leaves no assembly for pacmak to read.
    fs.rmSync(path.join(root, '.jsii'), { force: true });
    const run = npmRun('jsii');
    const errors = run.output.split('\n').filter((l) => / - error JSII\d+:/.test(l) || /\berror TS\d+:/.test(l));
    // On failure, the diagnostics are in the received value.
    expect({ status: run.status, errors }).toEqual({ status: 0, errors: [] });
    expect(run.output).toMatch(/Errors: 0\b/);
    const assembly = JSON.parse(fs.readFileSync(path.join(root, '.jsii'), 'utf8'));
    expect(Object.keys(assembly.types)).toContain('cdk-ec2-blue-green.BlueGreenFleet');
  }, 300_000);

  test('jsii-pacmak generates the Python, Java, .NET and Go sources (npm run pacmak)', () => {
    fs.rmSync(outdir, { recursive: true, force: true });
    const run = npmRun('pacmak');
    if (run.status !== 0) throw new Error(`npm run pacmak failed:\n${run.output}`);

    const python = path.join(outdir, 'python', 'src', pkg.jsii.targets.python.module, '__init__.py');
    expect(fs.readFileSync(python, 'utf8')).toMatch(/^class BlueGreenFleet\(/m);

    const javaDir = path.join(outdir, 'java', 'src', 'main', 'java', ...pkg.jsii.targets.java.package.split('.'));
    expect(fs.readFileSync(path.join(javaDir, 'BlueGreenFleet.java'), 'utf8')).toMatch(/public class BlueGreenFleet extends software\.constructs\.Construct/);

    const namespace = pkg.jsii.targets.dotnet.namespace;
    const csharp = path.join(outdir, 'dotnet', pkg.jsii.targets.dotnet.packageId, namespace, 'BlueGreenFleet.cs');
    expect(fs.readFileSync(csharp, 'utf8')).toMatch(/public class BlueGreenFleet : Constructs\.Construct/);

    const goDir = path.join(outdir, 'go', 'cdkec2bluegreen');
    expect(fs.readFileSync(path.join(goDir, 'BlueGreenFleet.go'), 'utf8')).toMatch(/type BlueGreenFleet interface/);
    expect(fs.readFileSync(path.join(goDir, 'go.mod'), 'utf8')).toMatch(new RegExp(`^module ${pkg.jsii.targets.go.moduleName}/cdkec2bluegreen$`, 'm'));
  }, 300_000);
});
