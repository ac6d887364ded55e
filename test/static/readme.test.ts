import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as lib from '../../lib';

const root = path.join(__dirname, '..', '..');
const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');

describe('the README', () => {
  test('its props reference is the one lib/fleet-props.ts and lib/cutover-options.ts generate (npm run docs:props)', () => {
    const run = spawnSync(process.execPath, [path.join(root, 'scripts', 'props-reference.mjs'), '--check'], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });

  test('its import line names exports of the package', () => {
    const line = readme.match(/^import \{ ([^}]+) \} from 'cdk-ec2-blue-green';$/m);
    expect(line).not.toBeNull();
    const names = line![1].split(',').map((n) => n.trim());
    expect(names).toEqual(['BlueGreenFleet', 'SmokeCheck', 'TrafficShift']);
    for (const name of names) expect(lib).toHaveProperty(name);
  });
});
