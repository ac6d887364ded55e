import { Colour, COLOURS } from '../lib/private/contract';
import { FleetStatus } from './fleet';
import { Style } from './io';

const pad = (s: string, n: number) => s + ' '.repeat(Math.max(0, n - visible(s).length));
// eslint-disable-next-line no-control-regex
const visible = (s: string) => s.replace(/\u001b\[[0-9;]*m/g, '');

/** How long ago (or until) an ISO time, from `now`: `49s`, `12m 3s`, `2h 5m`. */
export function span(fromIso: string, now: Date): string {
  const ms = Math.abs(now.getTime() - Date.parse(fromIso));
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}

/** The status screen: one screen, plain text (ANSI styles only through `style`). */
export function renderStatus(status: FleetStatus, style: Style, now: Date): string {
  const colour = (c: Colour, s: string = c) => (c === Colour.BLUE ? style.blue(s) : style.green(s));
  const lines: string[] = [];
  lines.push(`${style.bold(`Fleet ${status.fleetId}`)}  ${style.dim(`(${status.switch === 'route53' ? 'Route 53 weighted records' : 'listener rule'})`)}  ${style.dim(now.toISOString().replace(/\.\d{3}Z$/, 'Z'))}`);
  lines.push(style.dim(status.stateMachineArn));
  lines.push('');
  const w = (weights: Record<Colour, number>) => COLOURS.map((c) => `${colour(c)} ${String(weights[c]).padStart(3)} %`).join('   ');
  lines.push(`${pad('Traffic', 11)}production  ${w(status.weights.production)}   ${status.live ? `live: ${colour(status.live, style.bold(status.live))}` : style.yellow('split')}`);
  if (status.weights.test) lines.push(`${pad('', 11)}${pad('test', 12)}${w(status.weights.test)}`);
  lines.push('');
  lines.push(style.dim(`${pad('Colour', 9)}${pad('desired', 9)}${pad('in service', 12)}${pad('healthy', 9)}${pad('version', 14)}image`));
  for (const c of COLOURS) {
    const g = status.colours[c];
    const healthy = g.healthy < g.desired ? style.yellow(String(g.healthy)) : String(g.healthy);
    lines.push(`${pad(colour(c) + (status.live === c ? ' *' : ''), 9)}${pad(String(g.desired), 9)}${pad(String(g.inService), 12)}${pad(healthy, 9)}${pad(g.release.version, 14)}${g.release.imageId}`);
  }
  lines.push('');
  if (status.execution) {
    const e = status.execution;
    const state = e.status === 'RUNNING' ? style.yellow(e.status) : e.status;
    lines.push(`${pad('Execution', 11)}${e.name} ${state}${e.startDate ? `, started ${span(e.startDate, now)} ago` : ''}${e.startedBy ? ` by ${e.startedBy}` : ''}`);
    if (e.stage) lines.push(`${pad('Stage', 11)}${style.bold(e.stage)}`);
  } else {
    lines.push(`${pad('Execution', 11)}none running`);
  }
  if (status.lock) {
    const l = status.lock;
    lines.push(`${pad('Lock', 11)}held by ${l.owner.split(':').pop()}${l.phase ? `, phase ${l.phase}` : ''}${l.expiresAt ? `, lease until ${l.expiresAt}` : ''}${l.restoreTo ? `, a stop gives traffic to ${l.restoreTo}` : ''}`);
  } else {
    lines.push(`${pad('Lock', 11)}free`);
  }
  if (status.pause) {
    const p = status.pause;
    lines.push(`${pad('Pause', 11)}${style.yellow(`waiting at '${p.state}'`)}${p.since ? ` since ${p.since}` : ''}${p.until ? `; at ${p.until} it will ${p.onTimeout === 'roll-back' ? 'roll back' : 'continue'}` : ''}`);
    lines.push(`${pad('', 11)}decide with: cdk-ec2-blue-green approve | reject`);
  }
  lines.push(`${pad('Alarms', 11)}${status.alarmsInAlarm.length ? style.red(`${status.alarmsInAlarm.length} in ALARM: ${status.alarmsInAlarm.join(', ')}`) : 'none in ALARM'}`);
  if (status.warmUntil) {
    const ends = Date.parse(status.warmUntil) > now.getTime() ? `ends in ${span(status.warmUntil, now)}` : 'ended';
    lines.push(`${pad('Warm', 11)}the previous colour stays warm until ${status.warmUntil} (${ends})`);
  }
  if (status.last) {
    const l = status.last;
    const outcome = l.outcome === 'succeeded' ? style.green(l.outcome) : l.outcome === 'rolled-back' || l.outcome === 'stopped' ? style.yellow(l.outcome) : style.red(l.outcome);
    lines.push(`${pad('Last', 11)}${outcome} ${l.executionArn.split(':').pop()}${l.endedAt ? ` at ${l.endedAt}` : ''}${l.error ? ` (${l.error})` : ''}`);
  }
  return lines.join('\n') + '\n';
}
