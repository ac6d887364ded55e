import { once } from 'node:events';
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import { DescribeNetworkInterfacesCommand } from '@aws-sdk/client-ec2';
import { Colour, FleetConfig, SMOKE_TEST_ENDPOINT_ENV, SmokeCheckConfig, smokeTestEndpointEnv } from '../../lib/private/contract';
import { smokeTest } from '../../lambda/smoke-test/smoke-test';
import { clock, deployState, FakeAws, FLEET, throttling } from './fake-aws';

/** A stand-in for the green version behind the test listener. */
interface Seen {
  path: string;
  host?: string;
  headers: http.IncomingHttpHeaders;
}
let server: http.Server;
let base: string;
let seen: Seen[] = [];
let respond: (req: http.IncomingMessage, res: http.ServerResponse) => void;

const aws = new FakeAws();
const time = clock();

beforeAll(async () => {
  server = http.createServer((req, res) => {
    seen.push({ path: req.url ?? '', host: req.headers.host, headers: req.headers });
    respond(req, res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.close();
  await once(server, 'close');
});

beforeEach(() => {
  aws.reset();
  seen = [];
  respond = (req, res) => {
    if (req.url === '/version') {
      res.writeHead(200, { 'content-type': 'application/json', 'x-colour': 'green' });
      res.end(JSON.stringify({ version: '1.5.0', build: { commit: 'abc123', number: 7 } }));
    } else if (req.url === '/health') {
      res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'no-store' });
      res.end('OK all good');
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
    }
  };
});

const HEALTH: SmokeCheckConfig = { path: '/health', expectedStatus: 200, bodyContains: 'OK', latencyBudgetMs: 500 };
const VERSION: SmokeCheckConfig = {
  path: '/version',
  expectedStatus: 200,
  jsonField: 'version',
  jsonValue: '${version}',
  headers: { 'content-type': 'application/json', 'x-colour': '' },
  requestHeaders: { 'x-smoke-test': 'yes' },
  latencyBudgetMs: 500,
};

function deps(checks: SmokeCheckConfig[], overrides: Partial<FleetConfig> = {}, env: NodeJS.ProcessEnv = { [SMOKE_TEST_ENDPOINT_ENV]: base }) {
  return { ec2: aws.ec2, config: { ...FLEET, smokeChecks: checks, smokeRounds: 2, ...overrides }, now: time.now, env };
}
const state = deployState({ targetRelease: { imageId: 'ami-0123456789abcdef0', version: '1.5.0' } });

describe('smoke-test through the lab endpoint', () => {
  it('passes when every check passes in every round', async () => {
    const out = await smokeTest(state, deps([HEALTH, VERSION]));

    expect(seen.map((s) => s.path)).toEqual(['/health', '/version', '/health', '/version']);
    expect(seen[1].headers['x-smoke-test']).toBe('yes');
    expect(out.stages?.map((s) => s.stage)).toEqual(['Run smoke tests']);
    expect(aws.ec2Mock).toHaveReceivedCommandTimes(DescribeNetworkInterfacesCommand, 0);
  });

  it('reads the endpoint from the process environment by default', async () => {
    const saved = process.env[SMOKE_TEST_ENDPOINT_ENV];
    process.env[SMOKE_TEST_ENDPOINT_ENV] = base;
    try {
      await smokeTest(state, { ...deps([HEALTH]), env: undefined });
    } finally {
      if (saved === undefined) delete process.env[SMOKE_TEST_ENDPOINT_ENV];
      else process.env[SMOKE_TEST_ENDPOINT_ENV] = saved;
    }

    expect(seen.map((s) => s.path)).toEqual(['/health', '/health']);
    expect(aws.ec2Mock).toHaveReceivedCommandTimes(DescribeNetworkInterfacesCommand, 0);
  });

  it("uses the target colour's own endpoint variable before the shared one", async () => {
    const env = { [SMOKE_TEST_ENDPOINT_ENV]: 'http://127.0.0.1:1', [smokeTestEndpointEnv(Colour.GREEN)]: base, [smokeTestEndpointEnv(Colour.BLUE)]: 'not a url' };
    await smokeTest(state, deps([HEALTH], {}, env));

    expect(seen.map((s) => s.path)).toEqual(['/health', '/health']);
    expect(aws.ec2Mock).toHaveReceivedCommandTimes(DescribeNetworkInterfacesCommand, 0);
  });

  it('names the colour variable when its value is not a URL', async () => {
    await expect(smokeTest(state, deps([HEALTH], {}, { [SMOKE_TEST_ENDPOINT_ENV]: base, [smokeTestEndpointEnv(Colour.GREEN)]: 'green-lb' }))).rejects.toMatchObject({
      name: 'SmokeTestFailed',
      message: "BLUE_GREEN_TEST_ENDPOINT_GREEN 'green-lb' is not a URL: use a base URL such as http://127.0.0.1:4567.",
    });
    expect(seen).toHaveLength(0);
  });

  it('passes with nothing to do when no checks are configured', async () => {
    const out = await smokeTest(state, deps([]));

    expect(seen).toHaveLength(0);
    expect(aws.ec2Mock).toHaveReceivedCommandTimes(DescribeNetworkInterfacesCommand, 0);
    expect(out.stages?.map((s) => s.stage)).toEqual(['Run smoke tests']);
  });

  it('fails on an unexpected status', async () => {
    await expect(smokeTest(state, deps([{ path: '/missing', expectedStatus: 200, latencyBudgetMs: 500 }]))).rejects.toMatchObject({
      name: 'SmokeTestFailed',
      message: "Smoke check GET /missing failed in round 1 of 2 against the green colour: expected status 200, got 404 with body 'not found'.",
    });
  });

  it('fails when the body lacks the expected text, in the round where it happens', async () => {
    let calls = 0;
    respond = (_req, res) => {
      calls++;
      res.writeHead(200);
      res.end(calls === 1 ? 'OK' : 'degraded');
    };

    await expect(smokeTest(state, deps([HEALTH]))).rejects.toMatchObject({
      name: 'SmokeTestFailed',
      message: "Smoke check GET /health failed in round 2 of 2 against the green colour: expected the body to contain 'OK', got 'degraded'.",
    });
  });

  it('fails when a JSON field does not hold the release version', async () => {
    const older = deployState({ targetRelease: { imageId: 'ami-0123456789abcdef0', version: '1.6.0' } });

    await expect(smokeTest(older, deps([VERSION]))).rejects.toMatchObject({
      name: 'SmokeTestFailed',
      message: "Smoke check GET /version failed in round 1 of 2 against the green colour: expected JSON field version to be '1.6.0', got '1.5.0'.",
    });
  });

  it('reads dotted JSON fields and compares numbers as text', async () => {
    await smokeTest(state, deps([{ path: '/version', expectedStatus: 200, jsonField: 'build.number', jsonValue: '7', latencyBudgetMs: 500 }]));

    await expect(smokeTest(state, deps([{ path: '/version', expectedStatus: 200, jsonField: 'build.branch', latencyBudgetMs: 500 }]))).rejects.toMatchObject({
      message: expect.stringContaining('expected JSON field build.branch, got a body without it'),
    });
  });

  it('fails when the body is not JSON', async () => {
    await expect(smokeTest(state, deps([{ path: '/health', expectedStatus: 200, jsonField: 'status', latencyBudgetMs: 500 }]))).rejects.toMatchObject({
      message: "Smoke check GET /health failed in round 1 of 2 against the green colour: expected a JSON body with field status, got 'OK all good'.",
    });
  });

  it('fails when a header is missing or has another value', async () => {
    await expect(smokeTest(state, deps([{ ...HEALTH, headers: { 'x-colour': '' } }]))).rejects.toMatchObject({
      message: 'Smoke check GET /health failed in round 1 of 2 against the green colour: expected header x-colour, got no such header.',
    });
    await expect(smokeTest(state, deps([{ ...HEALTH, headers: { 'cache-control': 'max-age=60' } }]))).rejects.toMatchObject({
      message: "Smoke check GET /health failed in round 1 of 2 against the green colour: expected header cache-control to be 'max-age=60', got 'no-store'.",
    });
  });

  it('fails when a response is slower than the latency budget', async () => {
    respond = (_req, res) => {
      setTimeout(() => {
        res.writeHead(200);
        res.end('OK');
      }, 120);
    };

    const error = await smokeTest(state, deps([{ ...HEALTH, latencyBudgetMs: 50 }])).catch((e: Error) => e);

    expect(error).toMatchObject({ name: 'SmokeTestFailed' });
    expect((error as Error).message).toMatch(/^Smoke check GET \/health failed in round 1 of 2 against the green colour: expected a response within 50 ms, got one after \d+ ms\.$/);
  });

  it('fails with no response when the request times out', async () => {
    respond = () => { /* never answers */ };

    await expect(smokeTest(state, deps([{ ...HEALTH, latencyBudgetMs: 100 }]))).rejects.toMatchObject({
      name: 'SmokeTestFailed',
      message: 'Smoke check GET /health failed in round 1 of 2 against the green colour: expected status 200, got no response (no response within 1000 ms).',
    });
  });

  it('fails with no response when nothing listens', async () => {
    const closed = http.createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const port = (closed.address() as AddressInfo).port;
    closed.close();
    await once(closed, 'close');

    await expect(smokeTest(state, deps([HEALTH], {}, { [SMOKE_TEST_ENDPOINT_ENV]: `http://127.0.0.1:${port}` }))).rejects.toMatchObject({
      name: 'SmokeTestFailed',
      message: expect.stringContaining('expected status 200, got no response (connect ECONNREFUSED'),
    });
  });
});

describe('smoke-test through the load balancer\'s private address', () => {
  it('finds the load balancer\'s addresses and sends its DNS name as the Host header', async () => {
    const port = Number(new URL(base).port);
    aws.ec2Mock.on(DescribeNetworkInterfacesCommand).resolves({
      NetworkInterfaces: [{ PrivateIpAddress: '127.0.0.1', Description: 'ELB app/web/50dc6c495c0c9188' }],
    });

    await smokeTest(state, deps([HEALTH], { testPort: port, testProtocol: 'HTTP' }, {}));

    expect(aws.ec2Mock).toHaveReceivedCommandWith(DescribeNetworkInterfacesCommand, {
      Filters: [{ Name: 'description', Values: ['ELB app/web/50dc6c495c0c9188'] }],
    });
    expect(seen).toHaveLength(2);
    expect(seen[0].host).toBe('web-1234567890.eu-west-1.elb.amazonaws.com');
  });

  it('on a listener shared by host name, sends the fleet\'s host name (testHost) as the Host header', async () => {
    const port = Number(new URL(base).port);
    aws.ec2Mock.on(DescribeNetworkInterfacesCommand).resolves({
      NetworkInterfaces: [{ PrivateIpAddress: '127.0.0.1', Description: 'ELB app/web/50dc6c495c0c9188' }],
    });

    await smokeTest(state, deps([HEALTH], { testPort: port, testProtocol: 'HTTP', testHost: 'shop.example.com' }, {}));

    expect(seen.map((r) => r.host)).toEqual(['shop.example.com', 'shop.example.com']);
  });

  it('a check\'s own Host request header (any case) wins, sent once', async () => {
    const port = Number(new URL(base).port);
    aws.ec2Mock.on(DescribeNetworkInterfacesCommand).resolves({
      NetworkInterfaces: [{ PrivateIpAddress: '127.0.0.1', Description: 'ELB app/web/50dc6c495c0c9188' }],
    });

    await smokeTest(state, deps([{ ...HEALTH, requestHeaders: { Host: 'a.example.com' } }], { testPort: port, testProtocol: 'HTTP', testHost: 'shop.example.com' }, {}));

    expect(seen.map((r) => r.host)).toEqual(['a.example.com', 'a.example.com']);
    expect(seen[0].headers.host).toBe('a.example.com');
  });

  it('with the endpoint replaced (the lab), still sends testHost, as the shared listener routes by it', async () => {
    await smokeTest(state, deps([HEALTH], { testHost: 'shop.example.com' }, { [SMOKE_TEST_ENDPOINT_ENV]: base }));

    expect(seen.map((r) => r.host)).toEqual(['shop.example.com', 'shop.example.com']);
  });

  it('fails with SmokeTestFailed when the load balancer has no network interface', async () => {
    aws.ec2Mock.on(DescribeNetworkInterfacesCommand).resolves({ NetworkInterfaces: [] });

    await expect(smokeTest(state, deps([HEALTH], {}, {}))).rejects.toMatchObject({
      name: 'SmokeTestFailed',
      message: "Found no network interface of the load balancer app/web/50dc6c495c0c9188 (description 'ELB app/web/50dc6c495c0c9188'), " +
        'so the test listener cannot be reached: check that the load balancer exists.',
    });
  });

  it('surfaces a throttling error from EC2', async () => {
    aws.ec2Mock.on(DescribeNetworkInterfacesCommand).rejects(throttling('RequestLimitExceeded'));

    await expect(smokeTest(state, deps([HEALTH], {}, {}))).rejects.toMatchObject({ name: 'RequestLimitExceeded' });
    expect(seen).toHaveLength(0);
  });
});
