import * as http from 'http';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { DescribeRulesCommand, ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { Colour, COLOURS, FleetConfig } from '../lib/private/contract';
import { freePort } from './moto';

/** How a colour's application answers. */
export type AppBehaviour = 'ok' | 'error-status' | 'wrong-body' | 'slow';

/**
 * One small HTTP application per colour, standing in for the instances of that colour. It
 * serves `/health` as `{"colour","version"}`, the version being what the colour's version
 * parameter says in moto (what an instance reads at boot). The lab can make a colour misbehave.
 */
export class ColourApps {
  public readonly behaviour: Record<Colour, AppBehaviour> = { blue: 'ok', green: 'ok' };
  public readonly ports: Record<Colour, number> = { blue: 0, green: 0 };
  public slowMs = 1500;
  private readonly servers: http.Server[] = [];

  constructor(private readonly ssm: SSMClient, private readonly config: () => FleetConfig) {}

  public async start(): Promise<void> {
    for (const colour of COLOURS) {
      this.ports[colour] = await freePort();
      const server = http.createServer((req, res) => void this.answer(colour, req, res));
      await new Promise<void>((resolve) => server.listen(this.ports[colour], '127.0.0.1', resolve));
      this.servers.push(server);
    }
  }

  public async stop(): Promise<void> {
    await Promise.all(this.servers.map((s) => new Promise((r) => s.close(r))));
  }

  private async answer(colour: Colour, _req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const behaviour = this.behaviour[colour];
    const name = this.config().colours[colour].versionParameterName;
    const version = (await this.ssm.send(new GetParameterCommand({ Name: name }))).Parameter?.Value;
    if (behaviour === 'slow') await new Promise((r) => setTimeout(r, this.slowMs));
    const body = behaviour === 'wrong-body' ? { colour, version: 'not-the-release' } : { colour, version };
    res.writeHead(behaviour === 'error-status' ? 500 : 200, { 'content-type': 'application/json', 'x-colour': colour });
    res.end(JSON.stringify(body));
  }
}

/**
 * The load balancer's data plane, which moto does not have: a listener that forwards each
 * request to a colour's application by the weights of its catch-all rule, read from moto on
 * every request. The lab runs one for the test listener (used by the smoke tests) and one for
 * the production listener (used by the demo); with Route 53 switching, one per colour's own
 * load balancer (its smoke test endpoint).
 */
export class ListenerEmulator {
  public port = 0;
  private server?: http.Server;

  constructor(private readonly elbv2: ElasticLoadBalancingV2Client, private readonly ruleArn: () => string,
    private readonly config: () => FleetConfig, private readonly apps: ColourApps) {}

  public get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  public async start(): Promise<void> {
    this.port = await freePort();
    this.server = http.createServer((req, res) => void this.forward(req, res));
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
  }

  public async stop(): Promise<void> {
    await new Promise((r) => (this.server ? this.server.close(r) : r(undefined)));
  }

  /** The colour a request goes to now (weighted at random, as ALB does). */
  public async pick(): Promise<Colour | undefined> {
    const rule = (await this.elbv2.send(new DescribeRulesCommand({ RuleArns: [this.ruleArn()] }))).Rules![0];
    const forward = rule.Actions?.find((a) => a.Type === 'forward');
    // A forward to one group may come back as TargetGroupArn alone, without a ForwardConfig.
    const groups = forward?.ForwardConfig?.TargetGroups ?? (forward?.TargetGroupArn ? [{ TargetGroupArn: forward.TargetGroupArn, Weight: 1 }] : []);
    const config = this.config();
    const weighted = COLOURS.map((c) => ({ c, w: groups.find((g) => g.TargetGroupArn === config.colours[c].targetGroupArn)?.Weight ?? 0 }));
    const total = weighted.reduce((s, x) => s + x.w, 0);
    if (total === 0) return undefined;
    let r = Math.random() * total;
    for (const x of weighted) { if ((r -= x.w) < 0) return x.c; }
    return weighted[weighted.length - 1].c;
  }

  private async forward(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    // On a listener shared by host name, only requests for the fleet's host reach its rule; the
    // others get the listener's default action.
    const host = this.config().testHost;
    if (host && req.headers.host !== host) {
      res.writeHead(404);
      res.end(`No rule matches host ${req.headers.host}`);
      return;
    }
    const colour = await this.pick();
    if (!colour) {
      res.writeHead(503);
      res.end('No colour is serving');
      return;
    }
    const upstream = http.request({ host: '127.0.0.1', port: this.apps.ports[colour], path: req.url, method: req.method, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => { res.writeHead(502); res.end(); });
    req.pipe(upstream);
  }
}
