import { execFile } from 'child_process';
import * as path from 'path';

/**
 * `npm run demo` (lab/demo.ts after the build) as a person runs it: its two stories through the
 * CLI, each checked by the demo against the emulator's state; it exits 0 only if both happened.
 * The README quotes its output.
 */
test('npm run demo tells both stories through the CLI and exits 0', async () => {
  const root = path.join(__dirname, '..', '..');
  const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(path.join(root, 'node_modules', '.bin', 'tsx'), ['lab/demo.ts'], { cwd: root, env: { ...process.env, NO_COLOR: '1' }, timeout: 240_000, maxBuffer: 8 * 1024 * 1024 }, (error, out, err) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout: out, stderr: err });
    });
  });
  expect(stderr).not.toMatch(/Error/);
  expect(code).toBe(0);
  for (const typed of ['$ cdk-ec2-blue-green deploy --version 2.0.0 --wait --yes', '$ cdk-ec2-blue-green deploy --version 3.0.0 --wait --yes', '$ cdk-ec2-blue-green history', '$ cdk-ec2-blue-green status']) {
    expect(stdout).toContain(typed);
  }
  expect(stdout.match(/\(exit code (\d)\)/g)).toEqual(['(exit code 0)', '(exit code 0)', '(exit code 1)', '(exit code 0)', '(exit code 0)']);
  expect(stdout).toContain('ok: the cutover rolled back; deploy --wait exited 1');
  expect(stdout).toMatch(/both stories happened\.\n$/);
}, 300_000);
