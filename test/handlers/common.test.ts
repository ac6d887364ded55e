import { existsSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { ModifyRuleCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { PutParameterCommand } from '@aws-sdk/client-ssm';
import { Colour, CutoverErrorName } from '../../lib/private/contract';
import { loadFleetConfig, parseFleetConfig } from '../../lambda/common/config';
import * as errors from '../../lambda/common/errors';
import { appendStage, healthyTargets, readRuleWeights, setRuleWeights, writeRelease } from '../../lambda/common/fleet';
import { HANDLERS, OPTIONAL_HANDLERS, RESOURCE_HANDLERS } from '../../lib/private/contract';
import { FakeAws, FLEET, target } from './fake-aws';

const aws = new FakeAws();
beforeEach(() => aws.reset());

describe('fleet configuration', () => {
  it('reads the configuration the state machine carries, from the state or from { state }', () => {
    expect(loadFleetConfig({ input: {}, executionId: 'x', config: FLEET })).toEqual(FLEET);
    expect(loadFleetConfig({ state: { config: FLEET }, weight: 100 }, 'state.config')).toEqual(FLEET);
  });

  it('accepts the configuration as JSON text too', () => {
    expect(loadFleetConfig({ config: JSON.stringify(FLEET) })).toEqual(FLEET);
  });

  it('checks an identical configuration once (the same object, or the same JSON)', () => {
    const first = loadFleetConfig({ config: { ...FLEET, fleetId: 'cached' } });
    expect(loadFleetConfig({ config: JSON.parse(JSON.stringify(first)) })).toBe(first);
    expect(loadFleetConfig({ config: { ...FLEET, fleetId: 'other' } }).fleetId).toBe('other');
  });

  it.each([
    ['no config', { input: {}, executionId: 'x' }, 'config' as const],
    ['a config of null', { config: null }, 'config' as const],
    ['an empty text', { config: ' ' }, 'config' as const],
    ['no state', { weight: 100 }, 'state.config' as const],
    ['a state without config', { state: { executionId: 'x' }, weight: 100 }, 'state.config' as const],
    ['a config only beside the state', { state: {}, config: FLEET }, 'state.config' as const],
  ])('fails clearly, without a crash, on an event with %s', (_what, event, where) => {
    let error: unknown;
    try {
      loadFleetConfig(event, where);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(errors.FleetConfigError);
    expect((error as Error).message).toBe(
      `The event has no fleet configuration at ${where}: the cutover state machine's start task carries it in its payload ` +
      'and every later task passes it on in the state. Start cutovers through the state machine; invoke a handler by hand ' +
      `only with the configuration at ${where}.`,
    );
  });

  it('fails clearly when the text is not JSON', () => {
    expect(() => parseFleetConfig('{fleetId:')).toThrow(/^The fleet configuration at config is not valid JSON \(/);
  });

  it('fails clearly on a value that is not an object', () => {
    expect(() => loadFleetConfig({ config: 42 })).toThrow('The fleet configuration at config does not describe a fleet: the value is not a JSON object;');
  });

  it('names every field that is wrong', () => {
    const bad = { ...FLEET, testPort: 0, testProtocol: 'TCP', colours: { blue: FLEET.colours.blue }, smokeChecks: [{ path: '/', expectedStatus: 200 }] };

    expect(() => loadFleetConfig({ state: { config: bad } }, 'state.config')).toThrow(
      'The fleet configuration at state.config does not describe a fleet: testPort must be an integer from 1 to 65535; ' +
      'testProtocol must be one of HTTP, HTTPS; colours.green must be an object; smokeChecks[0].latencyBudgetMs must be an integer from 1 up.',
    );
  });
});

describe('clients', () => {
  it.each(['autoScaling', 'cloudWatch', 'dynamoDb', 'ec2', 'elbv2', 'route53', 'ssm'] as const)('%s retries up to 5 attempts in adaptive mode', async (name) => {
    const clients = await import('../../lambda/common/clients');
    const config = clients[name].config as unknown as { maxAttempts: () => Promise<number>; retryStrategy: () => Promise<{ mode: string }> };
    await expect(config.maxAttempts()).resolves.toBe(5);
    await expect(config.retryStrategy()).resolves.toMatchObject({ mode: 'adaptive' });
  });

  it.each(['autoScaling', 'cloudWatch', 'dynamoDb', 'ec2', 'elbv2', 'route53', 'ssm'] as const)('%s has a connection and a request timeout', async (name) => {
    const clients = await import('../../lambda/common/clients');
    const handler = clients[name].config.requestHandler as unknown as { configProvider: Promise<Record<string, unknown>> };
    await expect(handler.configProvider).resolves.toMatchObject({
      connectionTimeout: clients.CONNECTION_TIMEOUT_MS,
      requestTimeout: clients.REQUEST_TIMEOUT_MS,
      throwOnRequestTimeout: true,
    });
  });
});

describe('errors', () => {
  // LockReleaseFailed is set by the state machine itself when the release-lock task fails.
  const fromHandlers = Object.values(CutoverErrorName).filter((n) => n !== CutoverErrorName.LOCK_RELEASE_FAILED);
  it.each(fromHandlers)('has a class named %s for the state machine to catch', (name) => {
    const Class = (errors as unknown as Record<string, new (m: string) => Error>)[name];
    const error = new Class('message');
    expect(error).toBeInstanceOf(errors.CutoverError);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe(name);
    expect(error.message).toBe('message');
  });
});

describe('stage timings', () => {
  it('appends a stage, and extends the last one when the same stage polls again', () => {
    const t = (s: number) => new Date(Date.UTC(2025, 2, 1, 12, 0, s));
    let stages = appendStage(undefined, 'Prepare the idle colour', t(0), t(1));
    stages = appendStage(stages, 'Check the idle colour health', t(1), t(2));
    stages = appendStage(stages, 'Check the idle colour health', t(30), t(31));

    expect(stages).toEqual([
      { stage: 'Prepare the idle colour', startedAt: '2025-03-01T12:00:00.000Z', endedAt: '2025-03-01T12:00:01.000Z' },
      { stage: 'Check the idle colour health', startedAt: '2025-03-01T12:00:01.000Z', endedAt: '2025-03-01T12:00:31.000Z' },
    ]);
  });
});

describe('fleet operations', () => {
  it('reads weights in any scale as percentages, a missing weight counting as 1', async () => {
    aws.rules.set(FLEET.productionRuleArn, [{
      Type: 'forward',
      ForwardConfig: { TargetGroups: [{ TargetGroupArn: FLEET.colours.blue.targetGroupArn, Weight: 3 }, { TargetGroupArn: FLEET.colours.green.targetGroupArn }] },
    }]);

    await expect(readRuleWeights(aws.elbv2, FLEET.productionRuleArn, FLEET)).resolves.toEqual({ blue: 75, green: 25 });
  });

  it('fails with FleetStateConflict on a rule without a forward action', async () => {
    aws.rules.set(FLEET.productionRuleArn, [{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '503' } }]);

    await expect(readRuleWeights(aws.elbv2, FLEET.productionRuleArn, FLEET)).rejects.toMatchObject({
      name: 'FleetStateConflict',
      message: expect.stringContaining('has no forward action (it was changed by hand)'),
    });
  });

  it('rewrites a rule that names one target group only, even at the same split', async () => {
    aws.rules.set(FLEET.productionRuleArn, [{ Type: 'forward', TargetGroupArn: FLEET.colours.blue.targetGroupArn }]);

    const change = await setRuleWeights(aws.elbv2, FLEET.productionRuleArn, FLEET, { blue: 100, green: 0 });

    expect(change.changed).toBe(true);
    expect(aws.elbv2Mock).toHaveReceivedCommandTimes(ModifyRuleCommand, 1);
    expect(aws.weights(FLEET.productionRuleArn)).toEqual({ blue: 100, green: 0 });
  });

  it('drops a foreign target group when it sets weights', async () => {
    aws.rules.set(FLEET.productionRuleArn, [{
      Type: 'forward',
      ForwardConfig: { TargetGroups: [
        { TargetGroupArn: FLEET.colours.blue.targetGroupArn, Weight: 100 },
        { TargetGroupArn: FLEET.colours.green.targetGroupArn, Weight: 0 },
        { TargetGroupArn: 'arn:aws:elasticloadbalancing:eu-west-1:111122223333:targetgroup/other/1', Weight: 0 },
      ] },
    }]);

    await setRuleWeights(aws.elbv2, FLEET.productionRuleArn, FLEET, { blue: 100, green: 0 });

    expect(aws.rules.get(FLEET.productionRuleArn)?.[0].ForwardConfig?.TargetGroups).toHaveLength(2);
  });

  it('counts only healthy targets whose instances belong to the group', async () => {
    aws.setTargets(Colour.GREEN, [target('i-1', 'healthy'), target('i-2', 'unhealthy', 'Target.Timeout'), target('i-gone', 'healthy')]);

    await expect(healthyTargets(aws.elbv2, FLEET.colours.green.targetGroupArn, ['i-1', 'i-2'])).resolves.toBe(1);
  });

  it('keeps the data type a parameter was created with', async () => {
    aws.params.set(FLEET.colours.green.imageParameterName, { Value: 'ami-0fedcba9876543210', DataType: 'aws:ec2:image' });

    const written = await writeRelease(aws.ssm, FLEET.colours.green, { imageId: 'ami-0aaaabbbbccccdddd', version: '1.4.0' });

    expect(written).toEqual([FLEET.colours.green.imageParameterName]);
    expect(aws.ssmMock).toHaveReceivedCommandWith(PutParameterCommand, { Name: FLEET.colours.green.imageParameterName, DataType: 'aws:ec2:image' });
  });
});

describe('handler names', () => {
  const lambdaDir = path.join(__dirname, '..', '..', 'lambda');

  it('lists every handler folder, and only those', () => {
    const folders = readdirSync(lambdaDir, { withFileTypes: true })
      .filter((d) => d.isDirectory() && d.name !== 'common')
      .map((d) => d.name)
      .sort();
    expect([...HANDLERS, ...OPTIONAL_HANDLERS, ...RESOURCE_HANDLERS].sort()).toEqual(folders);
  });

  it.each([...HANDLERS, ...OPTIONAL_HANDLERS, ...RESOURCE_HANDLERS])('lambda/%s/index.ts exports a handler function', async (name) => {
    const file = path.join(lambdaDir, name, 'index.ts');
    expect(existsSync(file)).toBe(true);
    const mod = (await import(file)) as { handler?: unknown };
    expect(typeof mod.handler).toBe('function');
  });
});
