import * as http from 'http';
import { ChangeResourceRecordSetsCommand, ListResourceRecordSetsCommand, ResourceRecordSet, Route53Client } from '@aws-sdk/client-route-53';
import { freePort } from './moto';

/** One AWS API call a handler made, as seen on the wire. */
export interface RecordedCall {
  readonly service: string;
  readonly action: string;
  readonly mutating: boolean;
  /** The state (stage) whose task made the call, as set by the lab. */
  readonly stage: string;
  /** Milliseconds since the recorder started. */
  readonly at: number;
  /** Whether the recorder answered with an injected fault instead of forwarding. */
  readonly injected?: string;
}

/**
 * A permission to ChangeResourceRecordSets as IAM evaluates the provider's statements: the zone
 * (the statement's resource) and, with ForAllValues:StringEquals, every record of a change batch
 * must have one of the names, types and actions (when given).
 */
export interface Route53Statement {
  readonly zoneId: string;
  readonly names?: readonly string[];
  readonly types?: readonly string[];
  readonly actions?: readonly string[];
}

const READ_ONLY = /^(Describe|Get|List|BatchGet|Query|Scan|GET |HEAD )/;

/**
 * A recording proxy between the handlers and moto_server: every request a handler's SDK
 * client sends is counted (service, action, read or mutate, the stage that sent it) and
 * forwarded unchanged. It can also answer the next calls of an action with a throttling error,
 * in the wire format of that service's protocol, so the real SDK retry path runs.
 */
export class CallRecorder {
  public readonly calls: RecordedCall[] = [];
  /** Set by the lab before each task runs. */
  public stage = '(none)';
  /**
   * When set, ChangeResourceRecordSets is allowed only as these statements allow it, and answered
   * with AccessDenied otherwise (the lab sets them while a custom resource provider runs).
   */
  public route53Statements?: readonly Route53Statement[];
  private server?: http.Server;
  private started = Date.now();
  private readonly faults: Array<{ service: string; action: string; remaining: number; kind: 'throttle' }> = [];
  public port = 0;

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

  /** Calls that changed something, optionally of one action. */
  public mutating(action?: string): RecordedCall[] {
    return this.calls.filter((c) => c.mutating && !c.injected && (!action || c.action === action));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks);
      const { service, action, json } = identify(req, body);
      const fault = this.faults.find((f) => f.remaining > 0 && f.service === service && f.action === action);
      const call = { service, action, mutating: !READ_ONLY.test(action), stage: this.stage, at: Date.now() - this.started };
      if (fault) {
        fault.remaining--;
        this.calls.push({ ...call, injected: 'throttle' });
        if (json) {
          res.writeHead(400, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-errortype': 'ThrottlingException' });
          res.end(JSON.stringify({ __type: 'ThrottlingException', message: 'Rate exceeded (injected by the lab)' }));
        } else {
          res.writeHead(400, { 'content-type': 'text/xml' });
          res.end('<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded (injected by the lab)</Message></Error><RequestId>lab</RequestId></ErrorResponse>');
        }
        return;
      }
      const denied = action === 'ChangeResourceRecordSets' && this.route53Statements ? deniedChange(req.url ?? '', body.toString('utf8'), this.route53Statements) : undefined;
      if (denied) {
        this.calls.push({ ...call, injected: 'denied' });
        res.writeHead(403, { 'content-type': 'text/xml' });
        res.end(`<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>${denied}</Message></Error><RequestId>lab</RequestId></ErrorResponse>`);
        return;
      }
      this.calls.push(call);
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
    });
  }
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

/** Why IAM would deny a ChangeResourceRecordSets request under `statements`, or undefined if allowed. */
function deniedChange(url: string, xml: string, statements: readonly Route53Statement[]): string | undefined {
  const zoneId = /\/hostedzone\/([^/]+)\/rrset/.exec(url)?.[1] ?? '';
  const changes = changesOf(xml);
  const allows = (st: Route53Statement) => st.zoneId === zoneId && changes.every((c) =>
    (!st.names || st.names.includes(c.name)) && (!st.types || st.types.includes(c.type)) && (!st.actions || st.actions.includes(c.action)));
  if (statements.some(allows)) return undefined;
  return `User: arn:aws:sts::123456789012:assumed-role/lab-provider is not authorized to perform: route53:ChangeResourceRecordSets on resource: ` +
    `arn:aws:route53:::hostedzone/${zoneId} because no identity-based policy allows the route53:ChangeResourceRecordSets action ` +
    `(${changes.map((c) => `${c.action} ${c.name} ${c.type}`).join(', ')})`;
}

/** Actions of the REST-XML APIs the handlers call (Route 53), by method and path. */
const REST_ACTIONS: Array<{ method: string; path: RegExp; action: string }> = [
  { method: 'POST', path: /^\/2013-04-01\/hostedzone\/[^/]+\/rrset\/?$/, action: 'ChangeResourceRecordSets' },
  { method: 'GET', path: /^\/2013-04-01\/hostedzone\/[^/]+\/rrset\/?$/, action: 'ListResourceRecordSets' },
  { method: 'GET', path: /^\/2013-04-01\/change\/[^/]+$/, action: 'GetChange' },
  { method: 'GET', path: /^\/2013-04-01\/hostedzone\/[^/]+$/, action: 'GetHostedZone' },
];

/** The service and action of a signed AWS request (query, JSON or REST-XML protocol). */
function identify(req: http.IncomingMessage, body: Buffer): { service: string; action: string; json: boolean } {
  const auth = String(req.headers.authorization ?? '');
  const service = /Credential=[^/]+\/[^/]+\/[^/]+\/([^/]+)\//.exec(auth)?.[1] ?? 'unknown';
  const target = req.headers['x-amz-target'];
  if (target) return { service, action: String(target).split('.').pop()!, json: true };
  const rpc = /\/service\/[^/]+\/operation\/([A-Za-z]+)/.exec(req.url ?? '');
  if (rpc) return { service, action: rpc[1], json: true };
  const url = new URL(req.url ?? '/', 'http://x');
  const rest = REST_ACTIONS.find((a) => a.method === req.method && a.path.test(url.pathname));
  if (rest) return { service, action: rest.action, json: false };
  const query = new URLSearchParams(body.toString('utf8'));
  // An unknown REST call keeps its method in the name, so a GET still counts as a read.
  const action = query.get('Action') ?? url.searchParams.get('Action') ?? `${req.method} ${url.pathname}`;
  return { service, action, json: false };
}
