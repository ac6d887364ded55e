/**
 * The synth-time size check of the fleet configuration the state machine carries (see
 * `FleetConfig` in contract.ts): a literal in the definition (twice: the start task's payload and
 * the "Start failed" state) and, from the start task on, part of every state's input and output.
 */

/** The most the rendered configuration may take, in bytes. */
export const FLEET_CONFIG_BUDGET_BYTES = 32 * 1024;

/**
 * What a value known only at deploy time (a reference to an ARN, a name) is counted as, in bytes:
 * more than any ARN or name the fleet refers to.
 */
export const DEPLOY_TIME_VALUE_BYTES = 256;

/**
 * How many bytes `resolved` (a value after `Stack.resolve`, with CloudFormation references in
 * it) takes as JSON, each reference counted as {@link DEPLOY_TIME_VALUE_BYTES}.
 */
export function renderedBytes(resolved: unknown): number {
  if (resolved === undefined) return 0;
  const placeholder = 'x'.repeat(DEPLOY_TIME_VALUE_BYTES - 2);
  const text = JSON.stringify(resolved, (_key, value) => (isReference(value) ? placeholder : value));
  return Buffer.byteLength(text ?? '', 'utf8');
}

/** `{ Ref }` or `{ Fn::... }`: one value CloudFormation fills in at deploy time. */
function isReference(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && (keys[0] === 'Ref' || keys[0].startsWith('Fn::'));
}

/**
 * Problems of the fleet configuration of the workflow at `path`, as it will be rendered
 * (`resolved`: the configuration after `Stack.resolve`): over {@link FLEET_CONFIG_BUDGET_BYTES},
 * or a key Step Functions would read as a path (`.$` at the end) rather than carry as it is.
 */
export function fleetConfigProblems(path: string, resolved: any): string[] {
  const problems: string[] = [];
  const pathKeys = keysEndingInPathMarker(resolved);
  if (pathKeys.length > 0) {
    problems.push(`Invalid smoke checks at ${path}: ${pathKeys.map((k) => `'${k}'`).join(', ')} ` +
      "ends in '.$', which Step Functions would read as a path in the state machine definition: rename the header.");
  }
  const bytes = renderedBytes(resolved);
  if (bytes <= FLEET_CONFIG_BUDGET_BYTES) return problems;

  const checks: unknown[] = resolved?.smokeChecks ?? [];
  const rollbackAlarms: unknown[] = resolved?.rollbackAlarmNames ?? [];
  const colourAlarms: unknown[] = Object.values<any>(resolved?.colours ?? {}).flatMap((c) => c?.alarmNames ?? []);
  const parts = [
    `smokeChecks: ${checks.length} checks, about ${renderedBytes(checks)} bytes (fewer checks, shorter bodyContains, fewer headers)`,
    `rollback alarms (addRollbackAlarm): ${rollbackAlarms.length}, about ${renderedBytes(rollbackAlarms)} bytes ` +
      '(combine them into one composite alarm, or give them shorter names)',
    `the colours' built-in alarms: ${colourAlarms.length}, about ${renderedBytes(colourAlarms)} bytes`,
  ];
  problems.push(
    `The cutover configuration of ${path} is about ${bytes} bytes, over its budget of ${FLEET_CONFIG_BUDGET_BYTES} bytes ` +
    `(values known only at deploy time counted as ${DEPLOY_TIME_VALUE_BYTES} bytes each). The state machine carries it in ` +
    'its definition (at most 1 MB) and in every state (at most 256 KB each). Reduce what makes it large: ' +
    `${parts.join('; ')}.`,
  );
  return problems;
}

/** Every object key in `value` that ends in `.$`, as a dotted path. */
function keysEndingInPathMarker(value: unknown, at = ''): string[] {
  if (typeof value !== 'object' || value === null) return [];
  if (Array.isArray(value)) return value.flatMap((v, i) => keysEndingInPathMarker(v, `${at}[${i}]`));
  return Object.entries(value).flatMap(([k, v]) => [
    ...(k.endsWith('.$') ? [`${at ? `${at}.` : ''}${k}`] : []),
    ...keysEndingInPathMarker(v, `${at ? `${at}.` : ''}${k}`),
  ]);
}
