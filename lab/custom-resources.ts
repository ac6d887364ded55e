import * as http from 'http';
import { AddressInfo } from 'net';
import type { CallRecorder, Route53Statement } from './recorder';

/** A CloudFormation custom resource request, as a provider function receives it. */
export interface CustomResourceRequest {
  readonly RequestType: 'Create' | 'Update' | 'Delete';
  readonly LogicalResourceId: string;
  readonly ResourceType: string;
  readonly ResourceProperties: Record<string, unknown>;
  readonly OldResourceProperties?: Record<string, unknown>;
  readonly PhysicalResourceId?: string;
}

/** What a provider PUT to the response URL. */
export interface CustomResourceResponse {
  readonly Status: 'SUCCESS' | 'FAILED';
  readonly Reason?: string;
  readonly PhysicalResourceId: string;
  readonly Data?: Record<string, string>;
}

/** A provider function's handler (a real bundle's `handler`). */
export type ProviderHandler = (event: any, context?: any) => Promise<unknown>;

/**
 * Runs custom resource providers the way CloudFormation does: the request event goes to the
 * provider's handler, and the outcome is what the provider PUTs to the response URL (a local
 * HTTP endpoint here), not what the handler returns.
 */
export class CustomResourceRunner {
  private requests = 0;

  /**
   * @param recorder the proxy the providers' SDK clients call through, which enforces the
   * provider's Route 53 permissions while it runs
   */
  constructor(private readonly providers: Record<string, ProviderHandler>, private readonly stackName: string, private readonly recorder?: CallRecorder) {}

  /**
   * Sends the request and returns the response; throws with the provider's reason when it failed.
   * With `route53Statements`, the provider may change records only as they allow (see {@link CallRecorder}).
   */
  public async run(request: CustomResourceRequest, route53Statements?: readonly Route53Statement[]): Promise<CustomResourceResponse> {
    const provider = this.providers[request.ResourceType];
    if (!provider) throw new Error(`the lab has no provider for ${request.ResourceType} (${request.LogicalResourceId})`);
    let received: CustomResourceResponse | undefined;
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        if (req.method === 'PUT') received = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        res.writeHead(req.method === 'PUT' ? 200 : 405);
        res.end();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    const requestId = `lab-request-${++this.requests}`;
    if (this.recorder) this.recorder.route53Statements = route53Statements;
    try {
      await provider({
        ...request,
        ServiceToken: `arn:aws:lambda:us-east-1:123456789012:function:lab-${request.LogicalResourceId}-provider`,
        ResponseURL: `http://127.0.0.1:${port}/cloudformation-response/${requestId}`,
        StackId: `arn:aws:cloudformation:us-east-1:123456789012:stack/${this.stackName}/lab`,
        RequestId: requestId,
      }, { functionName: `lab-${request.LogicalResourceId}-provider`, awsRequestId: requestId });
    } finally {
      if (this.recorder) this.recorder.route53Statements = undefined;
      // The provider's agent keeps its connection alive; close it rather than wait for it to idle out.
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
    if (!received) throw new Error(`${request.ResourceType} ${request.LogicalResourceId}: the provider sent no response for ${request.RequestType}`);
    if (received.Status !== 'SUCCESS') throw new Error(`${request.ResourceType} ${request.LogicalResourceId} ${request.RequestType} failed: ${received.Reason}`);
    return received;
  }
}
