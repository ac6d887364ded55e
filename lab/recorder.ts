import * as http from 'http';
import { accessDeniedResponse, IamGate, WireRequest } from './iam-gate';
import { ChangeResourceRecordSetsCommand, ListResourceRecordSetsCommand, ResourceRecordSet, Route53Client } from '@aws-sdk/client-route-53';
import { freePort } from './moto';

/** One AWS API call a handler made, as seen on the wire. */
export interface RecordedCall {
  readonly service: string;
  readonly action: string;
  readonly mutating: boolean;
  /** The state (stage) whose task made the call, as set by the lab. */
  readonly stage: string;
  /** Logical id of the Lambda function that made the call, as set by the lab. */
  readonly principal?: string;
  /** Milliseconds since the recorder started. */
  readonly at: number;
  /**
   * A telemetry write (CloudWatch PutMetricData): it adds a data point and changes nothing of a
   * fleet, its traffic or its lock, so it is not `mutating` (the counts of mutating calls are
   * counts of changes to the fleet).
   */
  readonly telemetry?: boolean;
  /** Whether the recorder answered with an injected fault instead of forwarding. */
  readonly injected?: string;
  /** Why the IAM gate answered AccessDenied instead of forwarding. */
  readonly denied?: string;
}

const READ_ONLY = /^(Describe|Get|List|BatchGet|Query|Scan|GET |HEAD )/;
/** Writes that only add telemetry (see {@link RecordedCall.telemetry}). */
const TELEMETRY = /^PutMetricData$/;

/**
 * A recording proxy between the handlers and moto_server: every request a handler's SDK
 * client sends is counted (service, action, read or mutate, the stage that sent it) and
 * forwarded unchanged. It can also answer the next calls of an action with a throttling error or
 * a server fault (500/503), in the wire format of that service's protocol, so the real SDK retry
 * path runs.
 *
 * Every request is first put to the {@link IamGate} as a call of `principal` (the calling
 * function): a call its role's policies would not allow is answered with AccessDenied, as AWS
 * would, and never reaches moto.
 */
export class CallRecorder {
  public readonly calls: RecordedCall[] = [];
  /** Set by the lab before each task runs. */
  public stage = '(none)';
  /** Logical id of the function whose handler runs, set by the lab around each invocation. */
  public principal: string | undefined;
  /** Judges every request before it is forwarded. */
  public readonly gate = new IamGate();
  private server?: http.Server;
  private started = Date.now();
  private readonly faults: Array<{ service: string; action: string; remaining: number; kind: FaultKind }> = [];
  /**
   * Answers Step Functions calls (JSON 1.0) about the lab's own executions, which run in
   * aws-local-stepfunctions and not in moto: status and body, or undefined to forward to moto.
   */
  public stepFunctions?: (action: string, request: any) => { status: number; body: unknown } | undefined;
  public port = 0;
  /**
   * Calls signed with {@link OPERATOR_ACCESS_KEY_ID}: an operator's (the CLI's) calls, which are
   * no handler's. They pass no IAM gate (the gate judges the handlers' roles) and are kept apart
   * from the handlers' calls, so a run's calls stay its own.
   */
  public readonly operatorCalls: RecordedCall[] = [];

  constructor(private readonly upstream: string) {}

  public get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  public async start(): Promise<void> {
    this.port = await freePort();
    this.server = http.createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
  }

  public async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  public clear(): void {
    this.calls.length = 0;
    this.faults.length = 0;
    this.started = Date.now();
  }

  private route53Client?: Route53Client;

  /** A Route 53 client straight to moto, for the lab's own corrections (not recorded). */
  private route53(): Route53Client {
    this.route53Client ??= new Route53Client({ endpoint: this.upstream, region: 'us-east-1', credentials: { accessKeyId: 'lab', secretAccessKey: 'lab' } });
    return this.route53Client;
  }

  /**
   * moto 5 deletes a weighted record by its set identifier alone, taking records of every other
   * name with that set identifier with it; Route 53 deletes only the record with that name, type and
   * set identifier. Returns the records a DELETE in this batch would take wrongly, to be put back.
   */
  private async sparedByDelete(url: string, xml: string): Promise<{ zoneId: string; records: ResourceRecordSet[] } | undefined> {
    const deletes = changesOf(xml).filter((c) => c.action === 'DELETE' && c.setIdentifier);
    const zoneId = /\/hostedzone\/([^/]+)\/rrset/.exec(url)?.[1];
    if (!deletes.length || !zoneId) return undefined;
    const all = (await this.route53().send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId }))).ResourceRecordSets ?? [];
    const records = all.filter((rs) => deletes.some((d) => d.setIdentifier === rs.SetIdentifier)
      && !deletes.some((d) => d.setIdentifier === rs.SetIdentifier && d.type === rs.Type && d.name === (rs.Name ?? '').toLowerCase().replace(/\.$/, '')));
    return { zoneId, records };
  }

  /** Answers the next `count` calls of `service`:`action` with a throttling error. */
  public throttle(service: string, action: string, count: number): void {
    this.faults.push({ service, action, remaining: count, kind: 'throttle' });
  }

  /**
   * Answers the next `count` calls of `service`:`action` with a server fault, as AWS does when it
   * fails inside: `InternalFailure` (500) or `ServiceUnavailable` (503), in the wire format of the
   * service's protocol. The SDK retries these itself (5 attempts), then the state machine does.
   */
  public serverError(service: string, action: string, count: number, code: ServerFault = 'InternalFailure'): void {
    this.faults.push({ service, action, remaining: count, kind: code });
  }

  /** Calls answered with an injected fault, optionally of one action. */
  public injected(action?: string): RecordedCall[] {
    return this.calls.filter((c) => c.injected && (!action || c.action === action));
  }

  /** Calls that changed something, optionally of one action. */
  public mutating(action?: string): RecordedCall[] {
    return this.calls.filter((c) => c.mutating && !c.injected && !c.denied && (!action || c.action === action));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks);
      const { service, action, json, protocol } = identify(req, body);
      const operator = accessKeyOf(req) === OPERATOR_ACCESS_KEY_ID;
      const telemetry = TELEMETRY.test(action);
      const call = {
        service, action, mutating: !READ_ONLY.test(action) && !telemetry, ...(telemetry ? { telemetry } : {}),
        stage: operator ? '(operator)' : this.stage, principal: operator ? undefined : this.principal, at: Date.now() - this.started,
      };
      if (operator) {
        this.operatorCalls.push(call);
        await this.forward(req, res, body, service, action, json);
        return;
      }
      const wire: WireRequest = { service, action, protocol, method: req.method ?? 'GET', path: new URL(req.url ?? '/', 'http://x').pathname, body: body.toString('utf8') };
      let verdict;
      try {
        verdict = await this.gate.check(this.principal, wire, this.stage);
      } catch (e) {
        verdict = { allowed: false as const, message: `IAM gate failed: ${(e as Error).stack}`, awsMessage: 'the lab IAM gate failed' };
      }
      if (!verdict.allowed) {
        this.calls.push({ ...call, denied: verdict.message });
        const denied = accessDeniedResponse(wire, verdict.awsMessage, String(req.headers['content-type'] ?? 'application/x-amz-json-1.0'));
        res.writeHead(denied.status, denied.headers);
        res.end(denied.body);
        return;
      }
      const fault = this.faults.find((f) => f.remaining > 0 && f.service === service && f.action === action);
      if (fault) {
        fault.remaining--;
        this.calls.push({ ...call, injected: fault.kind });
        const answer = faultResponse(fault.kind, service, json, String(req.headers['content-type'] ?? 'application/x-amz-json-1.0'));
        res.writeHead(answer.status, answer.headers);
        res.end(answer.body);
        return;
      }
      this.calls.push(call);
      await this.forward(req, res, body, service, action, json);
    });
  }

  /** Answers a Step Functions call about the lab's executions, or forwards the request to moto. */
  private async forward(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer, service: string, action: string, json: boolean): Promise<void> {
    const local = service === 'states' && this.stepFunctions ? this.stepFunctions(action, json ? JSON.parse(body.toString('utf8') || '{}') : {}) : undefined;
    if (local) {
      res.writeHead(local.status, { 'content-type': 'application/x-amz-json-1.0', ...(local.status >= 400 ? { 'x-amzn-errortype': String((local.body as any).__type) } : {}) });
      res.end(JSON.stringify(local.body));
      return;
    }
    try {
      const spared = action === 'ChangeResourceRecordSets' ? await this.sparedByDelete(req.url ?? '', body.toString('utf8')) : undefined;
      const upstream = await fetch(this.upstream + req.url, {
        method: req.method,
        headers: Object.fromEntries(Object.entries(req.headers).filter(([k]) => k !== 'host' && k !== 'content-length') as [string, string][]),
        body: req.method === 'GET' || req.method === 'HEAD' ? undefined : body,
      });
      const buf = Buffer.from(await upstream.arrayBuffer());
      if (spared?.records.length && upstream.ok) {
        await this.route53().send(new ChangeResourceRecordSetsCommand({
          HostedZoneId: spared.zoneId,
          ChangeBatch: { Comment: 'lab: records moto deleted by set identifier alone, put back', Changes: spared.records.map((rs) => ({ Action: 'UPSERT', ResourceRecordSet: rs })) },
        }));
      }
      const headers: Record<string, string> = {};
      upstream.headers.forEach((v, k) => { if (!['content-length', 'content-encoding', 'transfer-encoding', 'connection'].includes(k)) headers[k] = v; });
      res.writeHead(upstream.status, headers);
      res.end(buf);
    } catch (e) {
      res.writeHead(502);
      res.end(String(e));
    }
  }
}

/**
 * The access key id an operator's tools (the CLI in the lab's tests) sign with: their calls are
 * not a handler's (see {@link CallRecorder.operatorCalls}).
 */
export const OPERATOR_ACCESS_KEY_ID = 'operator';

/** The access key id a request was signed with (SigV4 Credential). */
function accessKeyOf(req: http.IncomingMessage): string | undefined {
  return /Credential=([^/]+)\//.exec(String(req.headers.authorization ?? ''))?.[1];
}

/** Server faults the recorder can inject. */
export type ServerFault = 'InternalFailure' | 'ServiceUnavailable';
type FaultKind = 'throttle' | ServerFault;

/**
 * An injected error as the service would send it. JSON protocols (CloudWatch, DynamoDB: JSON 1.0;
 * SSM: JSON 1.1): the code in `x-amzn-errortype` and `__type`. Query and REST-XML protocols
 * (Auto Scaling, Elastic Load Balancing, Route 53): an XML `ErrorResponse`. EC2's query protocol:
 * `Response/Errors/Error`. Throttling is a 400; `InternalFailure` a 500, `ServiceUnavailable` a 503.
 */
function faultResponse(kind: FaultKind, service: string, json: boolean, contentType: string): { status: number; headers: Record<string, string>; body: string } {
  const code = kind === 'throttle' ? (json ? 'ThrottlingException' : 'Throttling') : kind;
  const status = kind === 'throttle' ? 400 : kind === 'ServiceUnavailable' ? 503 : 500;
  const message = kind === 'throttle' ? 'Rate exceeded (injected by the lab)' : `${kind} (injected by the lab)`;
  if (json) {
    return { status, headers: { 'content-type': contentType, 'x-amzn-errortype': code }, body: JSON.stringify({ __type: code, message }) };
  }
  if (service === 'ec2') {
    return { status, headers: { 'content-type': 'text/xml' }, body: `<Response><Errors><Error><Code>${code}</Code><Message>${message}</Message></Error></Errors><RequestID>lab</RequestID></Response>` };
  }
  const type = kind === 'throttle' ? 'Sender' : 'Receiver';
  return { status, headers: { 'content-type': 'text/xml' }, body: `<ErrorResponse><Error><Type>${type}</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>lab</RequestId></ErrorResponse>` };
}

function changesOf(xml: string): Array<{ action: string; name: string; type: string; setIdentifier: string }> {
  const tag = (block: string, name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(block)?.[1] ?? '';
  return [...xml.matchAll(/<Change>([\s\S]*?)<\/Change>/g)].map((m) => ({
    action: tag(m[1], 'Action'),
    // route53:ChangeResourceRecordSetsNormalizedRecordNames: lower case, no trailing dot.
    name: tag(m[1], 'Name').toLowerCase().replace(/\.$/, ''),
    type: tag(m[1], 'Type'),
    setIdentifier: tag(m[1], 'SetIdentifier'),
  }));
}

/** Actions of the REST-XML APIs the handlers call (Route 53), by method and path. */
const REST_ACTIONS: Array<{ method: string; path: RegExp; action: string }> = [
  { method: 'POST', path: /^\/2013-04-01\/hostedzone\/[^/]+\/rrset\/?$/, action: 'ChangeResourceRecordSets' },
  { method: 'GET', path: /^\/2013-04-01\/hostedzone\/[^/]+\/rrset\/?$/, action: 'ListResourceRecordSets' },
  { method: 'GET', path: /^\/2013-04-01\/change\/[^/]+$/, action: 'GetChange' },
  { method: 'GET', path: /^\/2013-04-01\/hostedzone\/[^/]+$/, action: 'GetHostedZone' },
];

/** The service and action of a signed AWS request (query, JSON or REST-XML protocol). */
function identify(req: http.IncomingMessage, body: Buffer): { service: string; action: string; json: boolean; protocol: WireRequest['protocol'] } {
  const auth = String(req.headers.authorization ?? '');
  const service = /Credential=[^/]+\/[^/]+\/[^/]+\/([^/]+)\//.exec(auth)?.[1] ?? 'unknown';
  const target = req.headers['x-amz-target'];
  if (target) return { service, action: String(target).split('.').pop()!, json: true, protocol: 'json' };
  const rpc = /\/service\/[^/]+\/operation\/([A-Za-z]+)/.exec(req.url ?? '');
  if (rpc) return { service, action: rpc[1], json: true, protocol: 'json' };
  const url = new URL(req.url ?? '/', 'http://x');
  const rest = REST_ACTIONS.find((a) => a.method === req.method && a.path.test(url.pathname));
  if (rest) return { service, action: rest.action, json: false, protocol: 'rest-xml' };
  const query = new URLSearchParams(body.toString('utf8'));
  // An unknown REST call keeps its method in the name, so a GET still counts as a read.
  const action = query.get('Action') ?? url.searchParams.get('Action') ?? `${req.method} ${url.pathname}`;
  return { service, action, json: false, protocol: query.get('Action') || url.searchParams.get('Action') ? 'query' : 'rest-xml' };
}
