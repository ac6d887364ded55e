/** What the CLI reads and writes: the process's streams and environment, or a test's. */
export interface CliIo {
  readonly stdout: { write(text: string): unknown; readonly isTTY?: boolean };
  readonly stderr: { write(text: string): unknown };
  /** The environment: AWS settings, BLUE_GREEN_STATE_MACHINE, NO_COLOR, USER. */
  readonly env: Record<string, string | undefined>;
  /**
   * Asks a yes/no question on the terminal (the answer is yes only for y or yes). Absent when
   * stdin is not a terminal: a mutating command then needs --yes.
   */
  readonly confirm?: (question: string) => Promise<boolean>;
  /** How often --wait and --watch poll, in milliseconds (default 2000). */
  readonly pollMs?: number;
  /** Ends --watch (Ctrl-C in the bin). */
  readonly signal?: AbortSignal;
}

/** An error the CLI reports as it is: what went wrong and what to do. */
export class CliError extends Error {
  constructor(message: string, public readonly exitCode = EXIT.FAILED) {
    super(message);
    this.name = 'CliError';
  }
}

/** Exit codes (README, "Operating a fleet"). */
export const EXIT = {
  /** Done; a deploy or rollback that was waited for succeeded. */
  OK: 0,
  /** The execution rolled back: traffic is on the colour that served before. */
  ROLLED_BACK: 1,
  /** The execution failed or was rejected, or the command could not do what was asked. */
  FAILED: 2,
  /** The wait ran out; the execution goes on. */
  TIMED_OUT: 3,
} as const;

/** ANSI styles, only for a terminal and when NO_COLOR is unset (https://no-color.org). */
export interface Style {
  readonly bold: (s: string) => string;
  readonly dim: (s: string) => string;
  readonly red: (s: string) => string;
  readonly green: (s: string) => string;
  readonly yellow: (s: string) => string;
  readonly blue: (s: string) => string;
}

export function styleFor(io: CliIo): Style {
  const on = !!io.stdout.isTTY && (io.env.NO_COLOR === undefined || io.env.NO_COLOR === '');
  const wrap = (code: string) => (s: string) => (on ? `\u001b[${code}m${s}\u001b[0m` : s);
  return { bold: wrap('1'), dim: wrap('2'), red: wrap('31'), green: wrap('32'), yellow: wrap('33'), blue: wrap('34') };
}

export const sleep = (ms: number, signal?: AbortSignal) => new Promise<void>((resolve) => {
  if (signal?.aborted) return resolve();
  const t = setTimeout(() => { signal?.removeEventListener('abort', done); resolve(); }, ms);
  const done = () => { clearTimeout(t); resolve(); };
  signal?.addEventListener('abort', done, { once: true });
});
