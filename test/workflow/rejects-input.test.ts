import { StateMachine } from 'aws-local-stepfunctions';
import { CutoverErrorName } from '../../lib';
import { STATE_NAMES } from '../../lib/cutover-workflow';
import { exampleDefinition } from './local-definition';

/**
 * The synthesized definition run by aws-local-stepfunctions, with the "Validate input and take
 * the lock" task bound to the real start handler. Malformed input must end in the Rejected state
 * with InvalidInput before any AWS call: every other task is bound to a handler that fails the
 * test if it is ever reached, and the start handler's AWS client points at a closed port. The
 * fleet configuration the start handler checks is the literal the definition carries.
 */
describe('the synthesized state machine rejects malformed input before any AWS call', () => {
  const { definition } = exampleDefinition();

  beforeAll(() => {
    process.env.AWS_ENDPOINT_URL = 'http://127.0.0.1:9';
    process.env.AWS_REGION = 'us-east-1';
    process.env.AWS_ACCESS_KEY_ID = 'test';
    process.env.AWS_SECRET_ACCESS_KEY = 'test';
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  });

  async function run(input: unknown, bound: Record<string, (i: any) => Promise<any>> = {}): Promise<{ status: string; error?: string; cause?: string; reached: string[]; startEvents: any[] }> {
    const reached: string[] = [];
    const startEvents: any[] = [];
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const start = require('../../dist/lambda-bundles/start/index.js');
    const handlers: Record<string, (i: any) => Promise<any>> = {};
    for (const [name, state] of Object.entries<any>(definition.States)) {
      if (state.Type !== 'Task') continue;
      handlers[name] = bound[name] ? async (i) => { reached.push(name); return bound[name](i); } : name === STATE_NAMES.start
        ? async (i) => { reached.push(name); startEvents.push(JSON.parse(JSON.stringify(i))); return start.handler(i, {}); }
        : async () => { reached.push(name); throw new Error(`task ${name} must not run for malformed input`); };
    }
    const sm = new StateMachine(definition);
    const execution = sm.run(input as any, { context: { Execution: { Id: 'arn:aws:states:us-east-1:123456789012:execution:cutover:run-1' } } as any, overrides: { taskResourceLocalHandlers: handlers, waitTimeOverrides: {}, retryIntervalOverrides: {} } });
    try {
      await execution.result;
      return { status: 'SUCCEEDED', reached, startEvents };
    } catch (e: any) {
      const inner = e.cause ?? e;
      return { status: 'FAILED', error: inner.name, cause: inner.message, reached, startEvents };
    }
  }

  test.each([
    [{ imageId: 'ami-123' }, 'imageId'],
    [{ version: 'v 1' }, 'version'],
    [{ action: 'destroy' }, 'action'],
    [{ colour: 'green' }, 'colour'],
    [{ action: 'rollback', version: '1.0.0' }, 'version'],
  ])('fails with InvalidInput for %j, naming %s, after the start task only', async (input, field) => {
    const result = await run(input);
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe(CutoverErrorName.INVALID_INPUT);
    expect(result.cause).toContain(field);
    expect(result.reached).toEqual([STATE_NAMES.start]);
  });

  test.each([
    ['null', null],
    ['an array', []],
    ['a string', 'x'],
    ['a number', 42],
    ['a boolean', true],
  ])('fails with InvalidInput in the Rejected state for %s, after the start task only', async (_what, input) => {
    const result = await run(input);
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe(CutoverErrorName.INVALID_INPUT);
    expect(result.cause).toContain('is not a JSON object');
    expect(result.reached).toEqual([STATE_NAMES.start]);
  });

  test('an input that brings a fleet configuration is InvalidInput; the start task gets the definition\'s own', async () => {
    const literal = definition.States[STATE_NAMES.start].Parameters.config;
    const forged = { ...literal, fleetId: 'other', lockTableName: 'someone-elses-table', smokeChecks: [] };

    const result = await run({ config: forged });

    expect(result).toMatchObject({ status: 'FAILED', error: CutoverErrorName.INVALID_INPUT, reached: [STATE_NAMES.start] });
    expect(result.cause).toContain("unknown field 'config'");
    expect(result.startEvents).toEqual([{ input: { config: forged }, executionId: expect.any(String), config: literal }]);
  });

  test('a start task that fails after the input was taken hands the release-lock task the definition\'s config', async () => {
    const literal = definition.States[STATE_NAMES.start].Parameters.config;
    const released: any[] = [];

    const result = await run({}, {
      [STATE_NAMES.start]: async () => { throw new Error('the task crashed'); },
      [STATE_NAMES.releaseAfterFailure]: async (i) => { released.push(i); return { ...i.state, failure: { error: 'Crashed', cause: 'the task crashed' } }; },
    });

    expect(result).toMatchObject({ status: 'FAILED', error: 'Crashed', reached: [STATE_NAMES.start, STATE_NAMES.releaseAfterFailure] });
    expect(released).toEqual([{ state: { executionId: expect.any(String), error: expect.objectContaining({ Error: 'Error' }), config: literal }, outcome: 'failed' }]);
  });
});
