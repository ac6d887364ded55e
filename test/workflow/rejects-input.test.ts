import { StateMachine } from 'aws-local-stepfunctions';
import { CutoverErrorName, FleetConfig, STATE_NAMES } from '../../lib';
import { exampleDefinition } from './local-definition';

/**
 * The synthesized definition run by aws-local-stepfunctions, with the "Validate input and take
 * the lock" task bound to the real start handler. Malformed input must end in the Rejected state
 * with InvalidInput before any AWS call: every other task is bound to a handler that fails the
 * test if it is ever reached, and the start handler's AWS client points at a closed port.
 */
describe('the synthesized state machine rejects malformed input before any AWS call', () => {
  const { definition } = exampleDefinition();

  beforeAll(() => {
    process.env.AWS_ENDPOINT_URL = 'http://127.0.0.1:9';
    process.env.AWS_REGION = 'us-east-1';
    process.env.AWS_ACCESS_KEY_ID = 'test';
    process.env.AWS_SECRET_ACCESS_KEY = 'test';
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
    const colour = (c: string) => ({
      autoScalingGroupName: `web-${c}`, targetGroupArn: `arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/${c}/0123456789abcdef`,
      imageParameterName: `/web/${c}/image-id`, versionParameterName: `/web/${c}/version`, launchTemplateId: `lt-${c}`, alarmNames: [`web-${c}-5xx`],
    });
    const config: FleetConfig = {
      fleetId: 'web',
      productionRuleArn: 'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/web/1/2/3',
      testRuleArn: 'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/web/1/4/5',
      testPort: 8080, testProtocol: 'HTTP', loadBalancerDnsName: 'web.example', loadBalancerFullName: 'app/web/1',
      colours: { blue: colour('blue'), green: colour('green') }, rollbackAlarmNames: [],
      lockTableName: 'locks', minCapacity: 2, maxCapacity: 4, lockLeaseSeconds: 3600, healthyTimeoutSeconds: 600, smokeChecks: [], smokeRounds: 1, bakeSeconds: 0, warmSeconds: 0,
    };
    process.env.BLUE_GREEN_FLEET_CONFIG = JSON.stringify(config);
  });

  async function run(input: unknown): Promise<{ status: string; error?: string; cause?: string; reached: string[] }> {
    const reached: string[] = [];
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const start = require('../../dist/lambda-bundles/start/index.js');
    const handlers: Record<string, (i: any) => Promise<any>> = {};
    for (const [name, state] of Object.entries<any>(definition.States)) {
      if (state.Type !== 'Task') continue;
      handlers[name] = name === STATE_NAMES.start
        ? async (i) => { reached.push(name); return start.handler(i, {}); }
        : async () => { reached.push(name); throw new Error(`task ${name} must not run for malformed input`); };
    }
    const sm = new StateMachine(definition);
    const execution = sm.run(input as any, { context: { Execution: { Id: 'arn:aws:states:us-east-1:123456789012:execution:cutover:run-1' } } as any, overrides: { taskResourceLocalHandlers: handlers, waitTimeOverrides: {}, retryIntervalOverrides: {} } });
    try {
      await execution.result;
      return { status: 'SUCCEEDED', reached };
    } catch (e: any) {
      const inner = e.cause ?? e;
      return { status: 'FAILED', error: inner.name, cause: inner.message, reached };
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
});
