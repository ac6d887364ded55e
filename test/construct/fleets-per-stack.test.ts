import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { BlueGreenFleet } from '../../lib';
import { HANDLERS } from '../../lib/private/contract';
import { baseProps } from './fleet-fixture';

/** CloudFormation's limit of resources per stack. */
const STACK_RESOURCE_LIMIT = 500;
/** IAM quotas: a role's inline policies together, and one managed policy (whitespace not counted). */
const ROLE_INLINE_POLICY_CHARS = 10_240;
const MANAGED_POLICY_CHARS = 6_144;

/** A stack in us-east-1 with a VPC and `n` default fleets. */
function fleets(n: number): { stack: Stack; template: Template; fleets: BlueGreenFleet[] } {
  const app = new App();
  const stack = new Stack(app, 'TestStack', { env: { account: '123456789012', region: 'us-east-1' } });
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
  const all = Array.from({ length: n }, (_, i) => new BlueGreenFleet(stack, `Web${i}`, baseProps(vpc)));
  return { stack, template: Template.fromStack(stack), fleets: all };
}

const resourceCount = (t: Template) => Object.keys(t.toJSON().Resources).length;

/**
 * What a reference resolves to, at most, for a stack name of up to 40 characters: generated
 * names are `<stack>-<logical id>-<suffix>`, truncated by CloudFormation to the type's limit.
 */
const REF_CHARS: Record<string, number> = {
  'AWS::EC2::LaunchTemplate': 20, // lt-0123456789abcdef0
  'AWS::AutoScaling::AutoScalingGroup': 100,
  'AWS::DynamoDB::Table': 100,
  'AWS::ElasticLoadBalancingV2::ListenerRule': 180, // an ARN: load balancer name, three ids
  'AWS::StepFunctions::StateMachine': 180, // an ARN
};
/** An ARN attribute: the service prefix (at most ~60 characters) and a generated name. */
const GETATT_CHARS = 170;

/**
 * The length IAM counts of a synthesized policy document (the JSON without whitespace), each
 * reference replaced by a stand-in as long as what it resolves to at most ({@link REF_CHARS}),
 * pseudo parameters by their longest values.
 */
function policyChars(document: unknown, resources: Record<string, any>): number {
  const PSEUDO: Record<string, string> = {
    'AWS::Partition': 'aws-us-gov', 'AWS::Region': 'ap-southeast-4', 'AWS::AccountId': '123456789012', 'AWS::URLSuffix': 'amazonaws.com.cn',
  };
  const resolve = (v: any): any => {
    if (Array.isArray(v)) return v.map(resolve);
    if (v === null || typeof v !== 'object') return v;
    if ('Ref' in v) return PSEUDO[v.Ref] ?? 'r'.repeat(REF_CHARS[resources[v.Ref]?.Type] ?? 128);
    if ('Fn::GetAtt' in v) return 'a'.repeat(GETATT_CHARS);
    if ('Fn::Join' in v) return (resolve(v['Fn::Join'][1]) as string[]).join(v['Fn::Join'][0]);
    if ('Fn::Select' in v || 'Fn::Split' in v || 'Fn::ImportValue' in v) return 'x'.repeat(GETATT_CHARS);
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, resolve(x)]));
  };
  return JSON.stringify(resolve(document)).length;
}

/** Per role: the characters of its inline policies together, and of each managed policy attached. */
function policySizes(template: Template): Array<{ role: string; inline: number; managed: number[] }> {
  const resources = template.toJSON().Resources as Record<string, any>;
  const roles = Object.keys(resources).filter((id) => resources[id].Type === 'AWS::IAM::Role');
  const names = (refs: any[] | undefined) => (refs ?? []).map((r) => r.Ref);
  return roles.map((role) => ({
    role,
    inline: Object.values(resources).filter((r) => r.Type === 'AWS::IAM::Policy' && names(r.Properties.Roles).includes(role))
      .reduce((sum, r) => sum + policyChars(r.Properties.PolicyDocument, resources), 0)
      + (resources[role].Properties.Policies ?? []).reduce((sum: number, p: any) => sum + policyChars(p.PolicyDocument, resources), 0),
    managed: Object.values(resources).filter((r) => r.Type === 'AWS::IAM::ManagedPolicy' && names(r.Properties.Roles).includes(role))
      .map((r) => policyChars(r.Properties.PolicyDocument, resources)),
  }));
}

describe('ten fleets a stack', () => {
  const one = fleets(1);
  const two = fleets(2);
  const ten = fleets(10);
  const perFleet = resourceCount(two.template) - resourceCount(one.template);

  test('each additional fleet adds at most 40 resources, and ten fleets fit in one stack', () => {
    expect(perFleet).toBeLessThanOrEqual(40);
    // The increment is the same for every further fleet.
    expect(resourceCount(ten.template)).toBeLessThanOrEqual(resourceCount(one.template) + 9 * perFleet + 3);
    expect(resourceCount(ten.template)).toBeLessThan(STACK_RESOURCE_LIMIT);
  });

  test('the fleets share one function, role and log group per handler', () => {
    const fns = Object.values(ten.template.findResources('AWS::Lambda::Function'))
      .filter((f) => String(f.Properties.Description).startsWith('Blue/green cutover: '));
    expect(fns.map((f) => f.Properties.Description).sort()).toEqual(HANDLERS.map((h) => `Blue/green cutover: ${h}`).sort());
    const workflows = ten.fleets.map((f) => f.cutover.functions);
    for (const h of HANDLERS) expect(new Set(workflows.map((w) => w[h])).size).toBe(1);
    expect(new Set(fns.map((f) => JSON.stringify(f.Properties.Role))).size).toBe(HANDLERS.length);
  });

  test('every fleet\'s lock table, groups and rules are granted to the shared roles, in one statement per action group', () => {
    const resources = ten.template.toJSON().Resources as Record<string, any>;
    const role = ten.stack.getLogicalId(ten.fleets[0].cutover.functions.prepare.role!.node.defaultChild as any);
    // The default policy and the managed policies CDK splits off it when it grows large.
    const statements: any[] = Object.values(resources)
      .filter((r) => /^AWS::IAM::(Managed)?Policy$/.test(r.Type) && (r.Properties.Roles ?? []).some((x: any) => x.Ref === role))
      .flatMap((r) => r.Properties.PolicyDocument.Statement);
    const updates = statements.filter((s) => s.Action === 'autoscaling:UpdateAutoScalingGroup');
    expect(updates).toHaveLength(1);
    expect(updates[0].Resource).toHaveLength(20);
    const testRules = statements.filter((s) => s.Action === 'elasticloadbalancing:ModifyRule');
    expect(testRules).toHaveLength(1);
    expect(testRules[0].Resource).toEqual(ten.fleets.map((f) => ten.stack.resolve(f.testRule!.listenerRuleArn)));
    const launches = statements.filter((s) => s.Action === 'ec2:RunInstances');
    expect(launches).toHaveLength(1);
    expect(launches[0].Condition.ArnLike['ec2:LaunchTemplate']).toHaveLength(20);
  });

  test('every role\'s policies stay within the IAM size quotas with ten fleets', () => {
    const sizes = policySizes(ten.template);
    for (const s of sizes) {
      expect([s.role, s.inline <= ROLE_INLINE_POLICY_CHARS]).toEqual([s.role, true]);
      for (const m of s.managed) expect([s.role, m <= MANAGED_POLICY_CHARS]).toEqual([s.role, true]);
      expect(s.managed.length).toBeLessThanOrEqual(10);
    }
    // The figures the README quotes.
    const largest = [...sizes].sort((a, b) => b.inline - a.inline).slice(0, 4).map((s) => `${s.role}: ${s.inline}`);
    // eslint-disable-next-line no-console
    console.log(`resources: 1 fleet ${resourceCount(one.template)}, 2 fleets ${resourceCount(two.template)}, 10 fleets ${resourceCount(ten.template)}, `
      + `${perFleet} per additional fleet; largest inline policies (characters, estimated) with 10 fleets: ${largest.join(', ')}`);
  });
});
