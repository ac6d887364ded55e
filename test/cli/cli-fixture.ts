import { Lab } from '../../lab/lab';
import { OPERATOR_ACCESS_KEY_ID } from '../../lab/recorder';
import { main } from '../../cli/main';
import { CliIo } from '../../cli/io';

/**
 * The CLI's environment against a lab: the SDK pointed at the lab's recording proxy (the lab
 * answers Step Functions; everything else is moto), signed as an operator (not a handler, so the
 * IAM gate does not judge it), the fleet given by BLUE_GREEN_STATE_MACHINE.
 */
export function cliEnv(lab: Lab): Record<string, string> {
  return {
    AWS_ENDPOINT_URL: lab.recorder.endpoint,
    AWS_ACCESS_KEY_ID: OPERATOR_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY: 'operator',
    AWS_REGION: 'us-east-1',
    BLUE_GREEN_STATE_MACHINE: lab.stateMachineArn(),
    USER: 'ops-tester',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
}

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
