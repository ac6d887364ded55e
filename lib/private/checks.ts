import { Duration, Token } from 'aws-cdk-lib';

// Small checks every validation uses: known values, whole numbers, whole seconds.

/** Whether a value is given and known at synth time (not a token). */
export function resolved(value: unknown): boolean {
  return value !== undefined && !Token.isUnresolved(value);
}

export function isWholeNumber(n: number): boolean {
  return Number.isInteger(n);
}

/** The milliseconds of a Duration, or undefined when it is a token (`Duration.seconds(token)` cannot even be converted). */
export function knownMilliseconds(d: Duration): number | undefined {
  try {
    const ms = d.toMilliseconds();
    return Token.isUnresolved(ms) ? undefined : ms;
  } catch {
    return undefined;
  }
}

/**
 * The whole seconds of a Duration, or an error. The workflow's states, timeout and lock lease
 * are computed from these values at synth time, so a token is an error too.
 */
export function wholeSeconds(errors: string[], name: string, d: Duration | undefined, example = 'Duration.seconds(60)'): number | undefined {
  if (d === undefined) return undefined;
  const ms = knownMilliseconds(d);
  if (ms === undefined) {
    errors.push(`${name} is a token: use a Duration known at synth time, such as ${example}; the workflow is built from it.`);
    return undefined;
  }
  if (ms % 1000 !== 0) {
    errors.push(`${name} is ${ms} ms: use a whole number of seconds, such as Duration.seconds(${Math.max(1, Math.round(ms / 1000))}); Step Functions waits in whole seconds.`);
    return undefined;
  }
  return ms / 1000;
}
