import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { Route53Client } from '@aws-sdk/client-route-53';
import { SSMClient } from '@aws-sdk/client-ssm';

/**
 * Retries on throttling and transient errors with a client-side rate limiter: a cutover
 * runs beside everything else in the account, so it backs off instead of adding pressure.
 * The state machine retries throttling errors that get through as well.
 */
export const CLIENT_CONFIG = { maxAttempts: 5, retryMode: 'adaptive' } as const;

// Created once per execution environment and reused across invocations. Marked pure so each
// handler's bundle keeps only the clients it uses (the EC2 client alone is over a megabyte).
export const autoScaling = /* @__PURE__ */ new AutoScalingClient(CLIENT_CONFIG);
export const cloudWatch = /* @__PURE__ */ new CloudWatchClient(CLIENT_CONFIG);
export const dynamoDb = /* @__PURE__ */ new DynamoDBClient(CLIENT_CONFIG);
export const ec2 = /* @__PURE__ */ new EC2Client(CLIENT_CONFIG);
export const elbv2 = /* @__PURE__ */ new ElasticLoadBalancingV2Client(CLIENT_CONFIG);
export const route53 = /* @__PURE__ */ new Route53Client(CLIENT_CONFIG);
export const ssm = /* @__PURE__ */ new SSMClient(CLIENT_CONFIG);
