/**
 * The fleet's rules on listeners it may share with other fleets or services: checking the rule
 * conditions and priorities against ALB's limits, the smoke tests' Host header, the port and
 * protocol of a listener passed in, and the synth-time clash checks (ports, priorities).
 *
 * ALB's rules, from "Condition types for listener rules" and "Listener rules for your
 * Application Load Balancer" (docs.aws.amazon.com/elasticloadbalancing/latest/application/):
 * zero or one each of host-header, http-request-method, path-pattern and source-ip; any number of
 * http-header and query-string; at most 3 match evaluations per condition and 5 per rule; '*' and
 * '?' wildcards; priorities 1 to 50000, unique per listener; one listener per port per load balancer.
 */
import { Stack, Token } from 'aws-cdk-lib';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { IConstruct } from 'constructs';

/** The highest rule priority ALB allows: the fleet's rules default to it, evaluated last. */
export const MAX_RULE_PRIORITY = 50000;
/** Condition types a rule may hold at most once. */
const ONCE_PER_RULE = ['host-header', 'http-request-method', 'path-pattern', 'source-ip'];
const MAX_VALUES_PER_CONDITION = 3;
const MAX_VALUES_PER_RULE = 5;

/** A condition as CloudFormation gets it (`AWS::ElasticLoadBalancingV2::ListenerRule` RuleCondition). */
interface RawCondition {
  readonly field?: string;
  readonly values?: string[];
  readonly hostHeaderConfig?: { readonly values?: string[] };
  readonly pathPatternConfig?: { readonly values?: string[] };
  readonly httpHeaderConfig?: { readonly httpHeaderName?: string; readonly values?: string[] };
  readonly httpRequestMethodConfig?: { readonly values?: string[] };
  readonly queryStringConfig?: { readonly values?: Array<{ key?: string; value?: string }> };
  readonly sourceIpConfig?: { readonly values?: string[] };
  readonly [other: string]: unknown;
}

/** What the smoke tests need to know about a check to tell whether its requests reach the fleet. */
export interface SmokeRequest {
  /** How messages name it, such as `cutover.smokeChecks[0]`. */
  readonly name: string;
  readonly path?: string;
  readonly requestHeaders?: Record<string, string>;
}

/** The fleet's listener-related props, as the checks read them. */
export interface ListenerProps {
  readonly loadBalancer?: elbv2.IApplicationLoadBalancer;
  readonly productionListener?: elbv2.IApplicationListener;
  readonly testListener?: elbv2.IApplicationListener;
  readonly listenerRule?: { readonly conditions?: elbv2.ListenerCondition[]; readonly priority?: number };
  readonly productionPort?: number;
  readonly testPort?: number;
  readonly protocol?: elbv2.ApplicationProtocol;
  readonly certificates?: elbv2.IListenerCertificate[];
  readonly sslPolicy?: elbv2.SslPolicy;
  readonly httpRedirect?: boolean;
  readonly productionPeers?: unknown[];
  readonly testPeers?: unknown[];
}

function render(condition: elbv2.ListenerCondition): RawCondition | undefined {
  try {
    return condition.renderRawCondition() as RawCondition;
  } catch {
    return undefined;
  }
}

/** The values a condition matches on, however it is rendered. */
function valuesOf(c: RawCondition): unknown[] {
  const config = c.hostHeaderConfig ?? c.pathPatternConfig ?? c.httpHeaderConfig ?? c.httpRequestMethodConfig ?? c.queryStringConfig ?? c.sourceIpConfig;
  const values = (config as { values?: unknown[] } | undefined)?.values ?? c.values;
  return Array.isArray(values) ? values : [];
}

function literal(values: unknown[]): string[] {
  return values.filter((v): v is string => typeof v === 'string' && !Token.isUnresolved(v));
}

const HAS_WILDCARD = /[*?]/;

/**
 * The Host header the smoke tests send: the first host-header value without a wildcard.
 * `undefined` without a host-header condition, or when every value has a wildcard or is a token.
 */
export function smokeTestHost(conditions: elbv2.ListenerCondition[] | undefined): string | undefined {
  for (const condition of conditions ?? []) {
    const c = render(condition);
    if (c?.field !== 'host-header') continue;
    return literal(valuesOf(c)).find((v) => !HAS_WILDCARD.test(v));
  }
  return undefined;
}

/** Whether `path` (its query string left out) matches an ALB path pattern: '*' any run of characters, '?' one; case-sensitive. */
export function pathMatches(pattern: string, path: string): boolean {
  const bare = path.split('?')[0];
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 's');
  return re.test(bare);
}

function requestHost(request: SmokeRequest): string | undefined {
  const entry = Object.entries(request.requestHeaders ?? {}).find(([name]) => name.toLowerCase() === 'host');
  return entry?.[1];
}

/**
 * The port and protocol of a listener created in this app (an `ApplicationListener`), read from
 * its template; `undefined` fields for an imported listener, or where they are tokens.
 */
export function listenerPortAndProtocol(listener: elbv2.IApplicationListener): { port?: number; protocol?: elbv2.ApplicationProtocol } {
  const cfn = listener.node.defaultChild;
  if (!(cfn instanceof elbv2.CfnListener)) return {};
  const port = typeof cfn.port === 'number' && !Token.isUnresolved(cfn.port) ? cfn.port : undefined;
  const protocol = cfn.protocol === 'HTTPS' ? elbv2.ApplicationProtocol.HTTPS : cfn.protocol === 'HTTP' ? elbv2.ApplicationProtocol.HTTP : undefined;
  return { port, protocol };
}

/**
 * Checks the listener props: listeners passed in, the rule's conditions and priority against ALB's
 * limits, and whether every smoke check's requests would reach the fleet's test rule. Returns the
 * error messages and, for conditions the smoke tests may not meet, the warning messages.
 */
export function checkListenerProps(props: ListenerProps, smokeRequests: SmokeRequest[], route53: boolean): { errors: string[]; warnings: string[] } {
  const errors: string[] = [];
  const warnings: string[] = [];
  const { productionListener, testListener, listenerRule } = props;

  if (route53) {
    for (const name of ['productionListener', 'testListener', 'listenerRule'] as const) {
      if (props[name] !== undefined) {
        errors.push(`${name} is set but trafficSwitch is TrafficSwitch.route53(): the Route 53 switch creates a load balancer and listener per colour. Remove ${name}, or use TrafficSwitch.listenerRule().`);
      }
    }
    return { errors, warnings };
  }

  // Listeners passed in.
  for (const [name, listener] of [['productionListener', productionListener], ['testListener', testListener]] as const) {
    if (listener !== undefined && props.loadBalancer === undefined) {
      errors.push(`${name} is set without loadBalancer: pass the load balancer the listener belongs to as loadBalancer (the smoke tests and the fleet's security group rules need it).`);
    }
  }
  if (productionListener !== undefined && productionListener === testListener) {
    errors.push('productionListener and testListener are the same listener: the test rule would take production requests to the idle colour. Pass a listener on another port as testListener, or leave it out to have the fleet create one on testPort.');
  }
  if (productionListener !== undefined) {
    const known = listenerPortAndProtocol(productionListener);
    if (known.port !== undefined && props.productionPort !== undefined && !Token.isUnresolved(props.productionPort) && props.productionPort !== known.port) {
      errors.push(`productionPort is ${props.productionPort} but productionListener listens on ${known.port}: remove productionPort; the listener's port is used.`);
    }
    if (known.port === undefined && props.productionPort === undefined) {
      errors.push('productionListener is imported, so its port is not known: set productionPort to the port it listens on.');
    }
    if (props.httpRedirect) {
      errors.push('httpRedirect is true but productionListener is passed in: add the redirect to the load balancer yourself (loadBalancer.addRedirect()), or leave productionListener out.');
    }
    if (props.productionPeers !== undefined) {
      errors.push('productionPeers is set but productionListener is passed in: the fleet leaves that listener\'s security group rules to you. Remove productionPeers, or open the listener with listener.connections.allowDefaultPortFrom(peer).');
    }
  }
  if (testListener !== undefined) {
    const known = listenerPortAndProtocol(testListener);
    if (known.port !== undefined && props.testPort !== undefined && !Token.isUnresolved(props.testPort) && props.testPort !== known.port) {
      errors.push(`testPort is ${props.testPort} but testListener listens on ${known.port}: remove testPort; the listener's port is used.`);
    }
    if (known.port === undefined && props.testPort === undefined) {
      errors.push('testListener is imported, so the port the smoke tests call is not known: set testPort to the port it listens on (and protocol, if it is HTTPS).');
    }
    if (known.protocol !== undefined && props.protocol !== undefined && props.protocol !== known.protocol) {
      errors.push(`protocol is ${props.protocol} but testListener uses ${known.protocol}: remove protocol; the smoke tests use the listener's.`);
    }
    if (props.testPeers !== undefined) {
      errors.push('testPeers is set but testListener is passed in: the fleet leaves that listener\'s security group rules to you. Remove testPeers.');
    }
  }
  if (productionListener !== undefined && testListener !== undefined) {
    for (const name of ['certificates', 'sslPolicy'] as const) {
      const value = props[name];
      if (value !== undefined && !(Array.isArray(value) && value.length === 0)) {
        errors.push(`${name} is set but both listeners are passed in: ${name} only applies to listeners the fleet creates. Remove ${name}.`);
      }
    }
  }

  // The rule.
  const priority = listenerRule?.priority;
  if (priority !== undefined && !Token.isUnresolved(priority) && (!Number.isInteger(priority) || priority < 1 || priority > MAX_RULE_PRIORITY)) {
    errors.push(`listenerRule.priority is ${priority}: set it to a whole number from 1 to ${MAX_RULE_PRIORITY}, unique on each listener.`);
  }
  const conditions: unknown = listenerRule?.conditions;
  if (conditions === undefined) return { errors, warnings };
  if (!Array.isArray(conditions) || conditions.length === 0) {
    errors.push("listenerRule.conditions is empty or not a list: give at least one condition, such as [elbv2.ListenerCondition.hostHeaders(['shop.example.com'])], or leave conditions out to take every request.");
    return { errors, warnings };
  }
  const rendered: RawCondition[] = [];
  conditions.forEach((condition, i) => {
    const c = typeof (condition as elbv2.ListenerCondition)?.renderRawCondition === 'function' ? render(condition) : undefined;
    if (!c || typeof c.field !== 'string') {
      errors.push(`listenerRule.conditions[${i}] is not a listener condition: create it with elbv2.ListenerCondition, such as ListenerCondition.pathPatterns(['/api/*']).`);
      return;
    }
    rendered.push(c);
  });
  let total = 0;
  for (const field of new Set(rendered.map((c) => c.field!))) {
    const ofField = rendered.filter((c) => c.field === field);
    if (ONCE_PER_RULE.includes(field) && ofField.length > 1) {
      errors.push(`listenerRule.conditions has ${ofField.length} ${field} conditions: ALB allows one per rule; put every value into one condition (any of its values matches).`);
    }
    for (const c of ofField) {
      const n = valuesOf(c).length;
      total += n;
      if (n === 0) errors.push(`listenerRule.conditions: the ${field} condition has no values: give at least one.`);
      if (n > MAX_VALUES_PER_CONDITION) {
        errors.push(`listenerRule.conditions: the ${field} condition has ${n} values: ALB allows ${MAX_VALUES_PER_CONDITION} per condition. Use fewer values (a wildcard can cover several).`);
      }
    }
  }
  if (total > MAX_VALUES_PER_RULE) {
    errors.push(`listenerRule.conditions have ${total} values in all: ALB allows ${MAX_VALUES_PER_RULE} per rule. Use fewer values (a wildcard can cover several).`);
  }

  // Would the smoke tests' requests reach the fleet's test rule?
  const host = rendered.find((c) => c.field === 'host-header');
  if (host && smokeTestHost(conditions as elbv2.ListenerCondition[]) === undefined) {
    for (const request of smokeRequests.filter((r) => requestHost(r) === undefined)) {
      errors.push(`${request.name} sends no host header, and every value of listenerRule's host-header condition (${literal(valuesOf(host)).join(', ') || 'tokens'}) has a wildcard or is a token: the smoke tests cannot tell which host name to send. Give the check requestHeaders: { host: 'a name the condition matches' }.`);
    }
  }
  const paths = rendered.find((c) => c.field === 'path-pattern');
  const patterns = paths ? literal(valuesOf(paths)) : [];
  if (paths && patterns.length === valuesOf(paths).length) {
    for (const request of smokeRequests) {
      if (typeof request.path !== 'string' || Token.isUnresolved(request.path) || !request.path.startsWith('/')) continue;
      if (!patterns.some((p) => pathMatches(p, request.path!))) {
        errors.push(`${request.name}.path '${request.path}' matches none of listenerRule's path patterns (${patterns.join(', ')}): its requests would not reach the fleet. Use a path the patterns match.`);
      }
    }
  }
  for (const c of rendered.filter((x) => !['host-header', 'path-pattern'].includes(x.field!))) {
    if (smokeRequests.length > 0) {
      warnings.push(`listenerRule.conditions has a ${c.field} condition: the smoke tests send GET requests from the smoke-test function in your VPC with each check's requestHeaders, and only reach the idle colour if they meet it. Make sure each smoke check does.`);
    }
  }
  return { errors, warnings };
}

/** A listener or rule of the fleet, as the clash checks see it. */
export interface OwnListener {
  readonly listener: elbv2.ApplicationListener;
  /** How messages name its port, such as `productionPort`. */
  readonly name: string;
  /** What to do about a clash, such as `choose another productionPort`. */
  readonly fix: string;
}

/**
 * Clashes the fleet's listeners and rules have with others in the same stack, found at synth when
 * every construct exists: another listener on the same port of the same load balancer (ALB allows
 * one; the deploy would fail), or another rule with the same priority on the same listener.
 */
export function listenerClashes(scope: IConstruct, loadBalancer: elbv2.IApplicationLoadBalancer,
  created: OwnListener[], rules: Array<{ rule: elbv2.ApplicationListenerRule; listener: elbv2.IApplicationListener; name: string }>): string[] {
  const stack = Stack.of(scope);
  const key = (value: unknown) => JSON.stringify(stack.resolve(value));
  const errors: string[] = [];
  const everything = stack.node.findAll();
  const lbKey = key(loadBalancer.loadBalancerArn);
  const listeners = everything.filter((c): c is elbv2.CfnListener => c instanceof elbv2.CfnListener && key(c.loadBalancerArn) === lbKey);
  for (const own of created) {
    const cfn = own.listener.node.defaultChild as elbv2.CfnListener;
    if (cfn.port === undefined || Token.isUnresolved(cfn.port)) continue;
    for (const other of listeners) {
      if (other === cfn || other.port !== cfn.port) continue;
      errors.push(`${own.name} ${cfn.port} is already the port of ${other.node.path} on the same load balancer, and a load balancer has one listener per port: ${own.fix}.`);
    }
  }
  const allRules = everything.filter((c): c is elbv2.CfnListenerRule => c instanceof elbv2.CfnListenerRule);
  for (const own of rules) {
    const cfn = own.rule.node.defaultChild as elbv2.CfnListenerRule;
    const listenerKey = key(own.listener.listenerArn);
    for (const other of allRules) {
      if (other === cfn || key(other.listenerArn) !== listenerKey || key(other.priority) !== key(cfn.priority)) continue;
      errors.push(`listenerRule.priority ${stack.resolve(cfn.priority)} of the ${own.name} is already the priority of ${other.node.path} on the same listener, and each rule of a listener needs its own: give this fleet another listenerRule.priority.`);
    }
  }
  return errors;
}
