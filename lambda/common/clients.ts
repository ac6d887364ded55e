import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { Route53Client } from '@aws-sdk/client-route-53';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SSMClient } from '@aws-sdk/client-ssm';

/**
 * How long one attempt of an AWS call may take: 2 s to connect, 8 s for the whole request and
 * answer. A hung attempt fails as `TimeoutError` and the SDK tries again. With 5 attempts and
 * the SDK's backoff, one call gives up inside the functions' 60 s timeout. Without
 * `throwOnRequestTimeout` the Node.js handler only logs a warning when `requestTimeout` passes.
 */
export const CONNECTION_TIMEOUT_MS = 2_000;
export const REQUEST_TIMEOUT_MS = 8_000;

/**
 * Retries on throttling and transient errors with a client-side rate limiter: a cutover
 * runs beside everything else in the account, so it backs off instead of adding pressure.
 * The state machine retries throttling and transient errors that get through as well
 * (THROTTLING_ERRORS and TRANSIENT_ERRORS in lib/contract.ts). `requestHandler` as options:
 * the client builds its Node.js HTTP handler with these timeouts.
 */
export const CLIENT_CONFIG = {
  maxAttempts: 5,
  retryMode: 'adaptive',
  requestHandler: { connectionTimeout: CONNECTION_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS, throwOnRequestTimeout: true },
} as const;

/** Node.js socket errors, as the SDK passes them on (an `Error` with a `code`). */
const SOCKET_ERROR_CODES = ['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN'];

/**
 * Names a socket error after its code (`ECONNRESET`...) once the SDK's retries are over: Lambda
 * reports an error's name as its type, which is what the state machine's retriers match, and a
 * plain `Error` would not match anything.
 */
export function nameSocketErrors<C extends { middlewareStack: { add: (...args: any[]) => void } }>(client: C): C {
  client.middlewareStack.add((next: (args: unknown) => Promise<unknown>) => async (args: unknown) => {
    try {
      return await next(args);
    } catch (e) {
      const err = e as Error & { code?: string };
      if (err && err.name === 'Error' && typeof err.code === 'string' && SOCKET_ERROR_CODES.includes(err.code)) err.name = err.code;
      throw e;
    }
  }, { step: 'initialize', name: 'nameSocketErrors' });
  return client;
}

// Created once per execution environment and reused across invocations. Marked pure so each
// handler's bundle keeps only the clients it uses (the EC2 client alone is over a megabyte).
export const autoScaling = /* @__PURE__ */ nameSocketErrors(/* @__PURE__ */ new AutoScalingClient(CLIENT_CONFIG));
export const cloudWatch = /* @__PURE__ */ nameSocketErrors(/* @__PURE__ */ new CloudWatchClient(CLIENT_CONFIG));
export const dynamoDb = /* @__PURE__ */ nameSocketErrors(/* @__PURE__ */ new DynamoDBClient(CLIENT_CONFIG));
export const ec2 = /* @__PURE__ */ nameSocketErrors(/* @__PURE__ */ new EC2Client(CLIENT_CONFIG));
export const elbv2 = /* @__PURE__ */ nameSocketErrors(/* @__PURE__ */ new ElasticLoadBalancingV2Client(CLIENT_CONFIG));
export const route53 = /* @__PURE__ */ nameSocketErrors(/* @__PURE__ */ new Route53Client(CLIENT_CONFIG));
export const ssm = /* @__PURE__ */ nameSocketErrors(/* @__PURE__ */ new SSMClient(CLIENT_CONFIG));
export const sfn = /* @__PURE__ */ nameSocketErrors(/* @__PURE__ */ new SFNClient(CLIENT_CONFIG));

/**
 * The TrafficWeight metric's client: two attempts of at most 2 s each. The metric is published
 * after production traffic moved, and only informs: it must never hold a cutover (or a rollback's
 * next step) for the minute the ordinary client's five attempts could take.
 */
export const METRICS_CLIENT_CONFIG = {
  maxAttempts: 2,
  requestHandler: { connectionTimeout: 1_000, requestTimeout: 2_000, throwOnRequestTimeout: true },
} as const;
export const metricsCloudWatch = /* @__PURE__ */ new CloudWatchClient(METRICS_CLIENT_CONFIG);
