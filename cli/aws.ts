import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { Route53Client } from '@aws-sdk/client-route-53';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SSMClient } from '@aws-sdk/client-ssm';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { CliError, CliIo } from './io';

/** The AWS clients the CLI uses, for one region. */
export interface Aws {
  readonly region: string;
  readonly sfn: SFNClient;
  readonly dynamoDb: DynamoDBClient;
  readonly elbv2: ElasticLoadBalancingV2Client;
  readonly autoScaling: AutoScalingClient;
  readonly ssm: SSMClient;
  readonly cloudWatch: CloudWatchClient;
  readonly route53: Route53Client;
  readonly sts: STSClient;
}

/**
 * Clients for `region` (the state machine's), configured from the environment the CLI was given:
 * AWS_ENDPOINT_URL and static keys when set there, otherwise the SDK's default chain (profiles,
 * SSO, instance roles).
 */
export function awsClients(io: CliIo, region: string): Aws {
  const config = clientConfig(io, region);
  return {
    region,
    sfn: new SFNClient(config),
    dynamoDb: new DynamoDBClient(config),
    elbv2: new ElasticLoadBalancingV2Client(config),
    autoScaling: new AutoScalingClient(config),
    ssm: new SSMClient(config),
    cloudWatch: new CloudWatchClient(config),
    // Route 53 is global: its endpoint is us-east-1's.
    route53: new Route53Client({ ...config, region: 'us-east-1' }),
    sts: new STSClient(config),
  };
}

/** The SDK client configuration from the CLI's environment (region undefined: the SDK's own resolution). */
function clientConfig(io: CliIo, region: string | undefined) {
  const env = io.env;
  const credentials = env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
    ? { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) }
    : undefined;
  return { ...(region ? { region } : {}), ...(env.AWS_ENDPOINT_URL ? { endpoint: env.AWS_ENDPOINT_URL } : {}), ...(credentials ? { credentials } : {}), maxAttempts: 5 };
}

/** A CloudFormation client, to find a fleet by its stack. */
export function cloudFormationClient(io: CliIo, region: string | undefined): CloudFormationClient {
  return new CloudFormationClient(clientConfig(io, region));
}

/** Who is calling: the caller's ARN (STS GetCallerIdentity), else $USER. */
export async function callerIdentity(aws: Aws, io: CliIo): Promise<string> {
  try {
    const out = await aws.sts.send(new GetCallerIdentityCommand({}));
    if (out.Arn) return out.Arn;
  } catch (e) {
    const translated = translateAwsError(e, 'sts:GetCallerIdentity');
    if (translated.message.startsWith('No AWS credentials')) throw translated;
  }
  return io.env.USER ?? io.env.USERNAME ?? 'unknown';
}

/** An AWS error as a CliError that says what to do. */
export function translateAwsError(e: unknown, action: string): CliError {
  if (e instanceof CliError) return e;
  const err = e as { name?: string; message?: string };
  const name = err?.name ?? 'Error';
  if (name === 'CredentialsProviderError') {
    return new CliError(`No AWS credentials: ${err.message}. Set AWS_PROFILE (and run 'aws sso login' for SSO), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, then try again.`);
  }
  if (/AccessDenied|UnauthorizedOperation|NotAuthorized/.test(name)) {
    return new CliError(`Access denied for ${action}: ${err.message}. Ask for a role that allows ${action} on this fleet's resources, or use one that has it (AWS_PROFILE).`);
  }
  if (/ExpiredToken|InvalidClientTokenId|UnrecognizedClient|SignatureDoesNotMatch/.test(name)) {
    return new CliError(`The AWS credentials were refused (${name}: ${err.message}). Refresh them ('aws sso login', or new keys) and try again.`);
  }
  return new CliError(`${action} failed: ${name}: ${err?.message ?? String(e)}`);
}

/** Runs an AWS call, turning its error into a CliError naming the action and the fix. */
export async function call<T>(action: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    throw translateAwsError(e, action);
  }
}
