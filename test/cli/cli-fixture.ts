import { Lab } from '../../lab/lab';
import { operatorEnv } from '../../lab/operator';
import { main } from '../../cli/main';
import { CliIo } from '../../cli/io';

/** The CLI's environment against a lab (see lab/operator.ts). */
export const cliEnv = operatorEnv;

/** Runs the CLI in-process; returns its exit code and what it printed. */
export async function runCli(lab: Lab, argv: string[], extra: Partial<CliIo> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    stdout: { write: (s: string) => { stdout += s; return true; } },
    stderr: { write: (s: string) => { stderr += s; return true; } },
    env: cliEnv(lab),
    pollMs: 100,
    ...extra,
  });
  return { code, stdout, stderr };
}

/** A latch a lab hook awaits: the run holds at a state until the test opens it. */
export function latch(): { reached: Promise<void>; arrive: () => void; wait: Promise<void>; open: () => void } {
  let arrive!: () => void;
  let open!: () => void;
  const reached = new Promise<void>((r) => { arrive = r; });
  const wait = new Promise<void>((r) => { open = r; });
  return { reached, arrive, wait, open };
}
