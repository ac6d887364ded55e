import * as http from 'node:http';
import * as https from 'node:https';
import { isIP } from 'node:net';
import { DescribeNetworkInterfacesCommand } from '@aws-sdk/client-ec2';
import type { EC2Client } from '@aws-sdk/client-ec2';
import { Colour, CutoverState, SMOKE_TEST_ENDPOINT_ENV, SmokeCheckConfig, smokeTestEndpointEnv } from '../../lib/private/contract';
import { BaseDeps } from '../common/deps';
import { SmokeTestFailed, truncate } from '../common/errors';
import { colours } from '../common/fleet';
import { logger } from '../common/logger';
import { STATE_NAMES } from '../../lib/private/stage-names';
import { beginStage } from '../common/stage';

export const STAGE = STATE_NAMES.smoke;

/** The state after "Check the idle colour's health". */
export type SmokeTestRequest = CutoverState;
/** The state, with the stage timing appended. */
export type SmokeTestResponse = CutoverState;

export interface SmokeTestDeps extends BaseDeps {
  /** Only used when the test listener is reached through the load balancer's private addresses. */
  readonly ec2: Pick<EC2Client, 'send'>;
  /** Where {@link SMOKE_TEST_ENDPOINT_ENV} is read from. */
  readonly env?: NodeJS.ProcessEnv;
}

/** Where the smoke tests send their requests. */
export interface SmokeEndpoint {
  readonly base: URL;
  /** Host header (and TLS server name) to send, when calling the load balancer by address. */
  readonly host?: string;
}

/** One response, as the checks see it. */
export interface SmokeResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
  readonly latencyMs: number;
}

const MAX_BODY_BYTES = 1024 * 1024;

/**
 * Runs every configured check `smokeRounds` times against the target through the test
 * listener, and throws SmokeTestFailed on the first failure. Without checks there is nothing to do.
 */
export async function smokeTest(state: SmokeTestRequest, deps: SmokeTestDeps): Promise<SmokeTestResponse> {
  const { config } = deps;
  const run = beginStage(state, deps, STAGE);
  const { target } = colours(state);
  const checks = config.smokeChecks ?? [];
  const rounds = config.smokeRounds;

  if (checks.length === 0 || rounds < 1) {
    logger.info('No smoke checks configured: nothing to do');
  } else {
    const endpoint = await resolveEndpoint(deps, target);
    const version = state.targetRelease?.version ?? state.release?.version ?? '';
    logger.info('Running smoke checks', { endpoint: endpoint.base.toString(), host: endpoint.host, checks: checks.length, rounds });
    for (let round = 1; round <= rounds; round++) {
      for (const check of checks) {
        const where = `Smoke check GET ${check.path} failed in round ${round} of ${rounds} against the ${target} colour`;
        const timeoutMs = Math.max(check.latencyBudgetMs * 2, 1000);
        let response: SmokeResponse;
        try {
          response = await get(endpoint, check, timeoutMs);
        } catch (e) {
          throw new SmokeTestFailed(`${where}: expected status ${check.expectedStatus}, got no response (${(e as Error).message}).`);
        }
        const problem = evaluate(check, response, version);
        if (problem) throw new SmokeTestFailed(`${where}: ${problem}.`);
        logger.debug('Smoke check passed', { path: check.path, round, status: response.status, latencyMs: response.latencyMs });
      }
    }
    logger.info('Smoke checks passed', { checks: checks.length, rounds });
  }

  return run.done();
}

/**
 * The test endpoint's address: the test listener, or with Route 53 switching the target's own
 * load balancer. The lab sets {@link SMOKE_TEST_ENDPOINT_ENV} (or the target colour's variant); on AWS the requests go to a
 * private address of the load balancer, so they come from inside the VPC and match the test
 * listener's VPC-only rule even when the load balancer is internet-facing.
 */
export async function resolveEndpoint(deps: SmokeTestDeps, target?: Colour): Promise<SmokeEndpoint> {
  const { config } = deps;
  const env = deps.env ?? process.env;
  const variable = [target ? smokeTestEndpointEnv(target) : undefined, SMOKE_TEST_ENDPOINT_ENV].find((v) => v && env[v]);
  if (variable) {
    const override = env[variable]!;
    try {
      return { base: new URL(override), ...(config.testHost ? { host: config.testHost } : {}) };
    } catch {
      throw new SmokeTestFailed(`${variable} '${truncate(override)}' is not a URL: use a base URL such as http://127.0.0.1:4567.`);
    }
  }
  const own = target ? config.colours[target].loadBalancer : undefined;
  const fullName = own?.fullName ?? config.loadBalancerFullName;
  const dnsName = own?.dnsName ?? config.loadBalancerDnsName;
  if (!fullName || !dnsName) {
    throw new SmokeTestFailed(`The fleet config names no load balancer for the ${target ?? 'idle'} colour's smoke tests: redeploy the stack.`);
  }
  const out = await deps.ec2.send(new DescribeNetworkInterfacesCommand({
    Filters: [{ Name: 'description', Values: [`ELB ${fullName}`] }],
  }));
  const addresses = (out.NetworkInterfaces ?? [])
    .map((n) => n.PrivateIpAddress)
    .filter((a): a is string => !!a)
    .sort();
  if (addresses.length === 0) {
    throw new SmokeTestFailed(
      `Found no network interface of the load balancer ${fullName} ` +
      `(description 'ELB ${fullName}'), so the test listener cannot be reached: check that the load balancer exists.`,
    );
  }
  const protocol = config.testProtocol === 'HTTPS' ? 'https' : 'http';
  // On a listener shared by host name, the fleet's test rule matches its host name only.
  return { base: new URL(`${protocol}://${addresses[0]}:${config.testPort}`), host: (!own && config.testHost) || dnsName };
}

/** One GET, timed from the request to the end of the body. */
export function get(endpoint: SmokeEndpoint, check: Pick<SmokeCheckConfig, 'path' | 'requestHeaders'>, timeoutMs: number): Promise<SmokeResponse> {
  const { base, host } = endpoint;
  const secure = base.protocol === 'https:';
  const prefix = base.pathname.replace(/\/$/, '');
  const path = `${prefix}${check.path.startsWith('/') ? '' : '/'}${check.path}`;
  // A check's own Host header (any case) wins over the endpoint's, for the header and the TLS server name.
  const ownHost = Object.entries(check.requestHeaders ?? {}).find(([name]) => name.toLowerCase() === 'host')?.[1];
  const effectiveHost = ownHost ?? host;
  const headers: Record<string, string> = { ...(host && ownHost === undefined ? { host } : {}), ...(check.requestHeaders ?? {}) };
  const options: https.RequestOptions = {
    method: 'GET',
    hostname: base.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: base.port || (secure ? 443 : 80),
    path,
    headers,
    agent: false,
    // The certificate names the service's domain, not the load balancer's address:
    // these checks test the application behind the test listener, not the certificate.
    ...(secure ? { rejectUnauthorized: false, servername: effectiveHost && !isIP(effectiveHost) ? effectiveHost : undefined } : {}),
  };
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const req = (secure ? https : http).request(options, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        if (size < MAX_BODY_BYTES) chunks.push(chunk);
        size += chunk.length;
      });
      res.on('end', () => {
        clearTimeout(timer);
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8').slice(0, MAX_BODY_BYTES),
          latencyMs: Number((process.hrtime.bigint() - started) / 1_000_000n),
        });
      });
      res.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
    const timer = setTimeout(() => req.destroy(new Error(`no response within ${timeoutMs} ms`)), timeoutMs);
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    req.end();
  });
}

/** What is wrong with a response, or undefined when the check passes. */
export function evaluate(check: SmokeCheckConfig, res: SmokeResponse, version: string): string | undefined {
  const got = `'${truncate(res.body.replace(/\s+/g, ' ').trim(), 120)}'`;
  if (res.status !== check.expectedStatus) {
    return `expected status ${check.expectedStatus}, got ${res.status} with body ${got}`;
  }
  if (check.bodyContains !== undefined && !res.body.includes(check.bodyContains)) {
    return `expected the body to contain '${truncate(check.bodyContains)}', got ${got}`;
  }
  if (check.jsonField !== undefined) {
    let json: unknown;
    try {
      json = JSON.parse(res.body);
    } catch {
      return `expected a JSON body with field ${check.jsonField}, got ${got}`;
    }
    const value = fieldAt(json, check.jsonField);
    if (value === undefined) return `expected JSON field ${check.jsonField}, got a body without it: ${got}`;
    if (check.jsonValue !== undefined) {
      const want = check.jsonValue.replace(/\$\{version\}/g, version);
      const have = typeof value === 'string' ? value : JSON.stringify(value);
      if (have !== want) return `expected JSON field ${check.jsonField} to be '${truncate(want)}', got '${truncate(have)}'`;
    }
  }
  for (const [name, want] of Object.entries(check.headers ?? {})) {
    const raw = res.headers[name.toLowerCase()];
    if (raw === undefined) return `expected header ${name.toLowerCase()}${want ? ` '${truncate(want)}'` : ''}, got no such header`;
    const have = Array.isArray(raw) ? raw.join(', ') : raw;
    if (want !== '' && have !== want) return `expected header ${name.toLowerCase()} to be '${truncate(want)}', got '${truncate(have)}'`;
  }
  if (res.latencyMs > check.latencyBudgetMs) {
    return `expected a response within ${check.latencyBudgetMs} ms, got one after ${res.latencyMs} ms`;
  }
  return undefined;
}

/** The value at a dotted path (`build.commit`, `items.0.id`), or undefined. */
function fieldAt(value: unknown, path: string): unknown {
  let current: unknown = value;
  for (const key of path.split('.')) {
    if (current === null || typeof current !== 'object' || !Object.prototype.hasOwnProperty.call(current, key)) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}
