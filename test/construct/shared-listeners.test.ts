import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as route53 from 'aws-cdk-lib/aws-route53';
import { BlueGreenFleet, BlueGreenFleetProps, FleetWarnings, SmokeCheck, TrafficSwitch } from '../../lib';
import { STATE_NAMES } from '../../lib/cutover-workflow';
import { pathMatches } from '../../lib/private/listener-rules';
import { baseProps, onlyProblem, propsError } from './fleet-fixture';

const CERT = 'arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555';

/** A stack with a VPC and one internet-facing load balancer with an HTTPS listener on 443 and 8443, as a platform team has them. */
function platformStack() {
  const app = new App();
  const stack = new Stack(app, 'Platform', { env: { account: '123456789012', region: 'us-east-1' } });
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
  const alb = new elbv2.ApplicationLoadBalancer(stack, 'Alb', { vpc, internetFacing: true });
  const https = alb.addListener('Https', {
    port: 443,
    certificates: [elbv2.ListenerCertificate.fromArn(CERT)],
    defaultAction: elbv2.ListenerAction.fixedResponse(404, { contentType: 'text/plain', messageBody: 'no such service' }),
  });
  const smoke = alb.addListener('HttpsTest', {
    port: 8443,
    certificates: [elbv2.ListenerCertificate.fromArn(CERT)],
    open: false,
    defaultAction: elbv2.ListenerAction.fixedResponse(404),
  });
  return { app, stack, vpc, alb, https, smoke };
}

const shop = (i: number) => ({ hostHeaders: [`shop${i}.example.com`], priority: 10 * i });

/** Two fleets on one existing HTTPS listener (and one shared test listener), each with a host-header rule. */
function twoFleetsOnOneListener() {
  const p = platformStack();
  const fleets = [1, 2].map((i) => new BlueGreenFleet(p.stack, `Shop${i}`, {
    ...baseProps(p.vpc),
    loadBalancer: p.alb,
    productionListener: p.https,
    testListener: p.smoke,
    listenerRule: { conditions: [elbv2.ListenerCondition.hostHeaders(shop(i).hostHeaders)], priority: shop(i).priority },
    cutover: { smokeChecks: [SmokeCheck.http({ path: '/health' })] },
  }));
  return { ...p, fleets, template: Template.fromStack(p.stack) };
}

/** The fleet config in the start task's payload of the state machine whose logical id starts with the fleet's id. */
function configOf(template: Template, fleetId: string): any {
  const [sm] = Object.entries(template.findResources('AWS::StepFunctions::StateMachine')).filter(([id]) => id.startsWith(fleetId)).map(([, r]) => r);
  const join = sm.Properties.DefinitionString['Fn::Join'];
  const definition = JSON.parse(join[1].map((part: any) => (typeof part === 'string' ? part : 'TOKEN')).join(join[0]));
  return definition.States[STATE_NAMES.start].Parameters.config;
}

function synthError(build: (p: ReturnType<typeof platformStack>) => void): string {
  const p = platformStack();
  build(p);
  try {
    p.app.synth();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected synth to fail');
}

describe('two fleets on one existing HTTPS listener with host-header rules', () => {
  test('each fleet adds its production rule to the shared listener with its host name and priority; no fleet creates a listener', () => {
    const { stack, https, smoke, template } = twoFleetsOnOneListener();
    // Only the platform's two listeners exist.
    expect(Object.keys(template.findResources('AWS::ElasticLoadBalancingV2::Listener'))).toHaveLength(2);
    for (const i of [1, 2]) {
      for (const listener of [https, smoke]) {
        template.hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', {
          ListenerArn: stack.resolve(listener.listenerArn),
          Priority: shop(i).priority,
          Conditions: [{ Field: 'host-header', HostHeaderConfig: { Values: shop(i).hostHeaders } }],
          Actions: [Match.objectLike({ Type: 'forward' })],
        });
      }
    }
    expect(Object.keys(template.findResources('AWS::ElasticLoadBalancingV2::ListenerRule'))).toHaveLength(4);
  });

  test('each fleet\'s production rule starts on its own blue and its test rule on its own green', () => {
    const { stack, fleets, template } = twoFleetsOnOneListener();
    for (const fleet of fleets) {
      const rule = (r: elbv2.ApplicationListenerRule) => template.toJSON().Resources[stack.getLogicalId(r.node.defaultChild as elbv2.CfnListenerRule)];
      const groups = (r: elbv2.ApplicationListenerRule) => rule(r).Properties.Actions[0].ForwardConfig.TargetGroups;
      const tg = (c: 'blue' | 'green') => stack.resolve(fleet[c].targetGroup.targetGroupArn);
      expect(groups(fleet.productionRule!)).toEqual([{ TargetGroupArn: tg('blue'), Weight: 100 }, { TargetGroupArn: tg('green'), Weight: 0 }]);
      expect(groups(fleet.testRule!)).toEqual([{ TargetGroupArn: tg('blue'), Weight: 0 }, { TargetGroupArn: tg('green'), Weight: 100 }]);
    }
  });

  test('the listeners passed in are the fleet\'s listeners; their ports and protocol are the smoke tests\'', () => {
    const { https, smoke, fleets, template } = twoFleetsOnOneListener();
    for (const [i, fleet] of fleets.entries()) {
      expect(fleet.productionListener).toBe(https);
      expect(fleet.testListener).toBe(smoke);
      expect([fleet.productionPort, fleet.testPort, fleet.protocol]).toEqual([443, 8443, elbv2.ApplicationProtocol.HTTPS]);
      expect(configOf(template, `Shop${i + 1}`)).toMatchObject({ testPort: 8443, testProtocol: 'HTTPS', testHost: `shop${i + 1}.example.com` });
    }
  });

  test('the fleets leave the shared listeners\' security group rules alone (no ingress from anywhere added for them)', () => {
    const { template } = twoFleetsOnOneListener();
    const ingress = Object.values(template.findResources('AWS::EC2::SecurityGroup')).flatMap((sg: any) => sg.Properties.SecurityGroupIngress ?? []);
    // 443 from anywhere is the platform's own listener (open by default); no rule opens 8443 to anyone.
    expect(ingress.filter((r: any) => r.FromPort === 8443 && r.CidrIp === '0.0.0.0/0')).toEqual([]);
  });

  test('each fleet\'s shift handler may modify its own production rule (the shared handlers get both rules, no listener)', () => {
    const { stack, fleets, template } = twoFleetsOnOneListener();
    const resources: string[] = Object.values(template.findResources('AWS::IAM::Policy'))
      .flatMap((p: any) => p.Properties.PolicyDocument.Statement)
      .filter((s: any) => [].concat(s.Action).includes('elasticloadbalancing:ModifyRule' as never))
      .flatMap((s: any) => [].concat(s.Resource))
      .map((r) => JSON.stringify(r));
    for (const fleet of fleets) expect(resources).toContain(JSON.stringify(stack.resolve(fleet.productionRule!.listenerRuleArn)));
    expect(resources.some((r) => r.includes('listener/'))).toBe(false);
  });
});

describe('several fleets on one load balancer passed in', () => {
  test('listeners a fleet creates on a load balancer passed in are children of the fleet, so two fleets on other ports synthesize', () => {
    const p = platformStack();
    const a = new BlueGreenFleet(p.stack, 'A', { ...baseProps(p.vpc), loadBalancer: p.alb, productionPort: 8001, testPort: 9001 });
    const b = new BlueGreenFleet(p.stack, 'B', { ...baseProps(p.vpc), loadBalancer: p.alb, productionPort: 8002, testPort: 9002 });
    expect((a.productionListener as elbv2.ApplicationListener).node.scope).toBe(a);
    expect((b.testListener as elbv2.ApplicationListener).node.scope).toBe(b);
    const ports = Object.values(Template.fromStack(p.stack).findResources('AWS::ElasticLoadBalancingV2::Listener')).map((l: any) => l.Properties.Port).sort();
    expect(ports).toEqual([443, 8001, 8002, 8443, 9001, 9002]);
  });

  test('a fleet\'s own load balancer keeps its listeners as its children (their logical ids are unchanged)', () => {
    const app = new App();
    const stack = new Stack(app, 'S', { env: { account: '123456789012', region: 'us-east-1' } });
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
    const fleet = new BlueGreenFleet(stack, 'Web', baseProps(vpc));
    expect((fleet.productionListener as elbv2.ApplicationListener).node.path).toBe('S/Web/LoadBalancer/ProductionListener');
  });

  test('a port already used by a listener on the same load balancer is a synth error naming both', () => {
    const message = synthError((p) => {
      new BlueGreenFleet(p.stack, 'A', { ...baseProps(p.vpc), loadBalancer: p.alb, productionPort: 443, certificates: [elbv2.ListenerCertificate.fromArn(CERT)], testPort: 9443 });
    });
    expect(message).toContain("productionPort 443 is already the port of Platform/Alb/Https/Resource on the same load balancer, and a load balancer has one listener per port: choose another productionPort, or pass that listener as productionListener with listenerRule conditions and a priority of this fleet's own.");
  });

  test('two fleets on the default ports of one load balancer: each names the clash', () => {
    const message = synthError((p) => {
      new BlueGreenFleet(p.stack, 'A', { ...baseProps(p.vpc), loadBalancer: p.alb });
      new BlueGreenFleet(p.stack, 'B', { ...baseProps(p.vpc), loadBalancer: p.alb });
    });
    expect(message).toContain('productionPort 80 is already the port of Platform/B/ProductionListener/Resource');
    expect(message).toContain('productionPort 80 is already the port of Platform/A/ProductionListener/Resource');
    expect(message).toContain('testPort 8080 is already the port of Platform/A/TestListener/Resource');
  });

  test('two fleets with the same priority on one listener: a synth error naming the other rule', () => {
    const message = synthError((p) => {
      for (const id of ['A', 'B']) {
        new BlueGreenFleet(p.stack, id, {
          ...baseProps(p.vpc), loadBalancer: p.alb, productionListener: p.https, testListener: p.smoke,
          listenerRule: { conditions: [elbv2.ListenerCondition.hostHeaders([`${id}.example.com`])], priority: 7 },
        });
      }
    });
    expect(message).toContain('listenerRule.priority 7 of the production rule is already the priority of Platform/B/ProductionRule/Resource on the same listener');
    expect(message).toContain('listenerRule.priority 7 of the test rule is already the priority of Platform/A/TestRule/Resource on the same listener');
  });

  test('an existing production listener with a test listener the fleet creates: the test listener is the fleet\'s, on testPort', () => {
    const p = platformStack();
    const fleet = new BlueGreenFleet(p.stack, 'A', {
      ...baseProps(p.vpc), loadBalancer: p.alb, productionListener: p.https, testPort: 9443, certificates: [elbv2.ListenerCertificate.fromArn(CERT)],
      listenerRule: { conditions: [elbv2.ListenerCondition.pathPatterns(['/a/*'])], priority: 5 },
    });
    p.app.synth();
    expect((fleet.testListener as elbv2.ApplicationListener).node.scope).toBe(fleet);
    expect([fleet.productionPort, fleet.testPort, fleet.protocol]).toEqual([443, 9443, elbv2.ApplicationProtocol.HTTPS]);
  });

  test('imported listeners: the ports and protocol are given', () => {
    const p = platformStack();
    const imported = (id: string, port: number) => elbv2.ApplicationListener.fromApplicationListenerAttributes(p.stack, id, {
      listenerArn: `arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/shared/0123456789abcdef/${port}`,
      securityGroup: ec2.SecurityGroup.fromSecurityGroupId(p.stack, `${id}Sg`, 'sg-0123456789abcdef0'),
    });
    const fleet = new BlueGreenFleet(p.stack, 'A', {
      ...baseProps(p.vpc), loadBalancer: p.alb, productionListener: imported('Prod', 1), testListener: imported('Test', 2),
      productionPort: 443, testPort: 8443, protocol: elbv2.ApplicationProtocol.HTTPS,
      listenerRule: { conditions: [elbv2.ListenerCondition.hostHeaders(['a.example.com'])], priority: 3 },
    });
    const template = Template.fromStack(p.stack);
    expect(configOf(template, 'A')).toMatchObject({ testPort: 8443, testProtocol: 'HTTPS', testHost: 'a.example.com' });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', {
      ListenerArn: 'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/shared/0123456789abcdef/2', Priority: 3,
    });
    expect(fleet.testPort).toBe(8443);
  });

  test('without host-header conditions the smoke tests send the load balancer\'s name (no testHost in the config)', () => {
    const p = platformStack();
    new BlueGreenFleet(p.stack, 'A', {
      ...baseProps(p.vpc), loadBalancer: p.alb, productionListener: p.https, testListener: p.smoke,
      listenerRule: { conditions: [elbv2.ListenerCondition.pathPatterns(['/a/*'])], priority: 5 },
    });
    expect(configOf(Template.fromStack(p.stack), 'A').testHost).toBeUndefined();
  });
});

describe('listener props are checked like every other prop', () => {
  const existing = (vpc: ec2.IVpc) => {
    const stack = Stack.of(vpc);
    const alb = new elbv2.ApplicationLoadBalancer(stack, 'Alb', { vpc });
    const listener = alb.addListener('L', { port: 443, certificates: [elbv2.ListenerCertificate.fromArn(CERT)], defaultAction: elbv2.ListenerAction.fixedResponse(404) });
    const test = alb.addListener('T', { port: 8443, certificates: [elbv2.ListenerCertificate.fromArn(CERT)], defaultAction: elbv2.ListenerAction.fixedResponse(404) });
    return { alb, listener, test };
  };
  const withRule = (vpc: ec2.IVpc, listenerRule: BlueGreenFleetProps['listenerRule'], more: Partial<BlueGreenFleetProps> = {}): Partial<BlueGreenFleetProps> => {
    const { alb, listener, test } = existing(vpc);
    return { loadBalancer: alb, productionListener: listener, testListener: test, listenerRule, ...more };
  };
  const host = (...values: string[]) => elbv2.ListenerCondition.hostHeaders(values);
  const path = (...values: string[]) => elbv2.ListenerCondition.pathPatterns(values);

  test.each<[string, (vpc: ec2.IVpc) => Partial<BlueGreenFleetProps>, string]>([
    ['a listener without its load balancer', (vpc) => ({ productionListener: existing(vpc).listener }),
      'productionListener is set without loadBalancer: pass the load balancer the listener belongs to as loadBalancer (the smoke tests and the fleet\'s security group rules need it).'],
    ['the same listener for production and tests', (vpc) => { const e = existing(vpc); return { loadBalancer: e.alb, productionListener: e.listener, testListener: e.listener }; },
      'productionListener and testListener are the same listener: the test rule would take production requests to the idle colour. Pass a listener on another port as testListener, or leave it out to have the fleet create one on testPort.'],
    ['an imported test listener without testPort', (vpc) => {
      const e = existing(vpc);
      const imported = elbv2.ApplicationListener.fromApplicationListenerAttributes(Stack.of(vpc), 'Imp', {
        listenerArn: 'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/x/0123456789abcdef/1',
        securityGroup: ec2.SecurityGroup.fromSecurityGroupId(Stack.of(vpc), 'ImpSg', 'sg-0123456789abcdef0'),
      });
      return { loadBalancer: e.alb, productionListener: e.listener, testListener: imported };
    }, 'testListener is imported, so the port the smoke tests call is not known: set testPort to the port it listens on (and protocol, if it is HTTPS).'],
    ['productionPort other than the listener\'s', (vpc) => withRule(vpc, undefined, { productionPort: 444 }),
      "productionPort is 444 but productionListener listens on 443: remove productionPort; the listener's port is used."],
    ['productionPeers with a listener passed in', (vpc) => withRule(vpc, undefined, { productionPeers: [ec2.Peer.anyIpv4()] }),
      "productionPeers is set but productionListener is passed in: the fleet leaves that listener's security group rules to you. Remove productionPeers, or open the listener with listener.connections.allowDefaultPortFrom(peer)."],
    ['certificates with both listeners passed in', (vpc) => withRule(vpc, undefined, { certificates: [elbv2.ListenerCertificate.fromArn(CERT)] }),
      'certificates is set but both listeners are passed in: certificates only applies to listeners the fleet creates. Remove certificates.'],
    ['priority 0', (vpc) => withRule(vpc, { priority: 0 }), 'listenerRule.priority is 0: set it to a whole number from 1 to 50000, unique on each listener.'],
    ['priority 50001', (vpc) => withRule(vpc, { priority: 50001 }), 'listenerRule.priority is 50001: set it to a whole number from 1 to 50000, unique on each listener.'],
    ['priority 2.5', (vpc) => withRule(vpc, { priority: 2.5 }), 'listenerRule.priority is 2.5: set it to a whole number from 1 to 50000, unique on each listener.'],
    ['no conditions', (vpc) => withRule(vpc, { conditions: [] }),
      "listenerRule.conditions is empty or not a list: give at least one condition, such as [elbv2.ListenerCondition.hostHeaders(['shop.example.com'])], or leave conditions out to take every request."],
    ['two host-header conditions', (vpc) => withRule(vpc, { conditions: [host('a.example.com'), host('b.example.com')] }),
      'listenerRule.conditions has 2 host-header conditions: ALB allows one per rule; put every value into one condition (any of its values matches).'],
    ['four values in one condition', (vpc) => withRule(vpc, { conditions: [host('a.example.com', 'b.example.com', 'c.example.com', 'd.example.com')] }),
      'listenerRule.conditions: the host-header condition has 4 values: ALB allows 3 per condition. Use fewer values (a wildcard can cover several).'],
    ['six values in all', (vpc) => withRule(vpc, { conditions: [host('a.example.com', 'b.example.com', 'c.example.com'), path('/a/*', '/b/*', '/c/*')] }),
      'listenerRule.conditions have 6 values in all: ALB allows 5 per rule. Use fewer values (a wildcard can cover several).'],
    ['a condition that is not one', (vpc) => withRule(vpc, { conditions: [{ field: 'host-header' } as unknown as elbv2.ListenerCondition] }),
      "listenerRule.conditions[0] is not a listener condition: create it with elbv2.ListenerCondition, such as ListenerCondition.pathPatterns(['/api/*'])."],
    ['a smoke check outside the path patterns', (vpc) => withRule(vpc, { conditions: [path('/api/*')] }, { cutover: { smokeChecks: [SmokeCheck.http({ path: '/health' })] } }),
      "cutover.smokeChecks[0].path '/health' matches none of listenerRule's path patterns (/api/*): its requests would not reach the fleet. Use a path the patterns match."],
    ['a wildcard host with a smoke check that names no host', (vpc) => withRule(vpc, { conditions: [host('*.example.com')] }, { cutover: { smokeChecks: [SmokeCheck.http({ path: '/health' })] } }),
      "cutover.smokeChecks[0] sends no host header, and every value of listenerRule's host-header condition (*.example.com) has a wildcard or is a token: the smoke tests cannot tell which host name to send. Give the check requestHeaders: { host: 'a name the condition matches' }."],
    ['a shared listener with Route 53 switching', (vpc) => {
      const zone = route53.HostedZone.fromHostedZoneAttributes(Stack.of(vpc), 'Zone', { hostedZoneId: 'Z0123456789ABCDEFGHIJ', zoneName: 'example.com' });
      return { trafficSwitch: TrafficSwitch.route53({ zone, recordName: 'www' }), listenerRule: { priority: 5 } };
    }, 'listenerRule is set but trafficSwitch is TrafficSwitch.route53(): the Route 53 switch creates a load balancer and listener per colour. Remove listenerRule, or use TrafficSwitch.listenerRule().'],
  ])('%s', (_name, overrides, expected) => {
    expect(onlyProblem(propsError(overrides))).toBe(expected);
  });

  test('httpRedirect with a production listener passed in is refused (the redirect is the listener owner\'s)', () => {
    const message = propsError((vpc) => {
      const { alb, listener } = existing(vpc);
      return { loadBalancer: alb, productionListener: listener, httpRedirect: true, certificates: [elbv2.ListenerCertificate.fromArn(CERT)] };
    });
    expect(message).toContain('httpRedirect is true but productionListener is passed in: add the redirect to the load balancer yourself (loadBalancer.addRedirect()), or leave productionListener out.');
  });

  test('a wildcard host is fine when every smoke check names its host; a literal host needs nothing', () => {
    for (const [conditions, check] of [
      [[host('*.example.com')], SmokeCheck.http({ path: '/health', requestHeaders: { Host: 'a.example.com' } })],
      [[host('*.example.com', 'a.example.com')], SmokeCheck.http({ path: '/health' })],
      [[host('a.example.com'), path('/health', '/api/*')], SmokeCheck.http({ path: '/api/v1?deep=1' })],
    ] as const) {
      const app = new App();
      const stack = new Stack(app, 'S', { env: { account: '123456789012', region: 'us-east-1' } });
      const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
      expect(() => new BlueGreenFleet(stack, 'Web', { ...baseProps(vpc), ...withRule(vpc, { conditions: [...conditions], priority: 4 }), cutover: { smokeChecks: [check] } })).not.toThrow();
    }
  });

  test('a condition the smoke tests may not meet (an http-header) is a warning with its own id', () => {
    const app = new App();
    const stack = new Stack(app, 'S', { env: { account: '123456789012', region: 'us-east-1' } });
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
    new BlueGreenFleet(stack, 'Web', {
      ...baseProps(vpc),
      ...withRule(vpc, { conditions: [elbv2.ListenerCondition.httpHeader('x-tenant', ['a'])], priority: 4 }),
      cutover: { smokeChecks: [SmokeCheck.http({ path: '/health' })] },
    });
    const warnings = Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('http-header condition'));
    expect(warnings).toHaveLength(1);
    expect(JSON.stringify(warnings[0].entry.data)).toContain(FleetWarnings.LISTENER_RULE_CONDITIONS);
  });
});

describe('ALB path patterns', () => {
  test.each([
    ['/api/*', '/api/v1', true], ['/api/*', '/api/', true], ['/api/*', '/api', false], ['/api/*', '/API/v1', false],
    ['/img/?.png', '/img/a.png', true], ['/img/?.png', '/img/ab.png', false], ['/health', '/health?full=1', true], ['/a.b', '/aXb', false],
  ])('%s against %s: %s', (pattern, path, matches) => {
    expect(pathMatches(pattern, path)).toBe(matches);
  });
});
