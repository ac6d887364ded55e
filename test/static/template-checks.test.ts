import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { AwsSolutionsChecks } from 'cdk-nag';
import * as route53 from 'aws-cdk-lib/aws-route53';
import { ExampleStack, exampleUserData, exampleVpc } from '../../bin/example-stack';
import { Route53ExampleStack } from '../../bin/route53-example-stack';
import { BlueGreenFleet, SmokeCheck, TrafficSwitch } from '../../lib';

/**
 * Static checks on the example app's synthesized template: cfn-lint and cdk-nag. Each check is
 * first shown to fail on a template that breaks its rules, so a pass means something.
 */

function synthWithNag(build: (app: App) => void): { outdir: string; app: App; error?: Error } {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'bgf-nag-'));
  // Any attempt to bundle with Docker during synth fails loudly.
  const docker = process.env.CDK_DOCKER;
  process.env.CDK_DOCKER = '/bin/false';
  const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
  try {
    build(app);
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    app.synth();
    return { outdir, app };
  } catch (e) {
    return { outdir, app, error: e as Error };
  } finally {
    if (docker === undefined) delete process.env.CDK_DOCKER; else process.env.CDK_DOCKER = docker;
  }
}

/** cdk-nag's findings in the validation report (CloudFormation's own validation left out). */
function nagFindings(outdir: string): any[] {
  const report = JSON.parse(fs.readFileSync(path.join(outdir, 'validation-report.json'), 'utf8'));
  return (report.pluginReports ?? []).filter((r: any) => r.pluginName !== 'CloudFormation Validate')
    .flatMap((r: any) => r.violations ?? []);
}

/** Every acknowledged AwsSolutions rule in the app, with its reason. */
function nagAcknowledgements(app: App): Array<{ id: string; reason: string }> {
  return app.node.findAll()
    .flatMap((c) => c.node.metadata.filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY))
    .flatMap((m) => Object.entries(m.data as Record<string, string>).map(([id, reason]) => ({ id: id.replace(/^Annotation::/, ''), reason })))
    .filter((a) => a.id.startsWith('AwsSolutions-'));
}

interface CfnLintMatch { Level: string; Rule: { Id: string }; Message: string }

function cfnLint(templateFile: string): CfnLintMatch[] {
  const run = spawnSync('cfn-lint', ['--format', 'json', '--', templateFile], { encoding: 'utf8' });
  if (run.error) throw new Error(`cfn-lint could not run (install it with pip install cfn-lint): ${run.error.message}`);
  return JSON.parse(run.stdout || '[]');
}

/** The test every synthesized example has: cdk-nag's AwsSolutions checks find nothing unacknowledged. */
function testNoNagFindings(synth: { outdir: string; error?: Error }): void {
  test('synthesizes with cdk-nag AwsSolutions checks and no unacknowledged finding', () => {
    expect(synth.error).toBeUndefined();
    expect(nagFindings(synth.outdir)).toEqual([]);
  });
}

/** The test every synthesized example has: cfn-lint reports no error on its template. */
function testNoCfnLintErrors(templateFile: string): void {
  test('cfn-lint reports no errors', () => {
    const errors = cfnLint(templateFile).filter((m) => m.Level === 'Error');
    expect(errors.map((e) => `${e.Rule.Id}: ${e.Message}`)).toEqual([]);
  });
}

describe('the example app', () => {
  const synth = synthWithNag((app) => new ExampleStack(app, 'BlueGreenExample'));
  const templateFile = path.join(synth.outdir, 'BlueGreenExample.template.json');

  testNoNagFindings(synth);

  test('every acknowledged cdk-nag rule carries a reason', () => {
    const acks = nagAcknowledgements(synth.app);
    expect(acks.map((a) => a.id).sort()).toEqual(expect.arrayContaining(['AwsSolutions-AS3', 'AwsSolutions-ELB2', 'AwsSolutions-EC23']));
    for (const a of acks) expect(a.reason.length).toBeGreaterThan(30);
  });

  testNoCfnLintErrors(templateFile);

  test('has exactly two groups without DesiredCapacity, two target groups, two listeners, ten alarms and four parameters', () => {
    const t = JSON.parse(fs.readFileSync(templateFile, 'utf8'));
    const count = (type: string) => Object.values(t.Resources).filter((r: any) => r.Type === type).length;
    expect(count('AWS::AutoScaling::AutoScalingGroup')).toBe(2);
    expect(Object.values(t.Resources).filter((r: any) => r.Type === 'AWS::AutoScaling::AutoScalingGroup' && 'DesiredCapacity' in r.Properties)).toEqual([]);
    expect(count('AWS::ElasticLoadBalancingV2::TargetGroup')).toBe(2);
    expect(count('AWS::ElasticLoadBalancingV2::Listener')).toBe(2);
    // Four built-in alarms per colour (three watched by cutovers, healthy hosts), the load
    // balancer's own 5XX and the example's checkout alarm.
    expect(count('AWS::CloudWatch::Alarm')).toBe(10);
    expect(count('Custom::BlueGreenParameter')).toBe(4);
  });

  test('matches the committed snapshot', () => {
    const app = new App();
    const stack = new ExampleStack(app, 'BlueGreenExample');
    expect(Template.fromStack(stack).toJSON()).toMatchSnapshot();
  });
});

describe('the Route 53 example', () => {
  const synth = synthWithNag((app) => new Route53ExampleStack(app, 'BlueGreenRoute53Example', { env: { account: '123456789012', region: 'us-east-1' } }));
  const templateFile = path.join(synth.outdir, 'BlueGreenRoute53Example.template.json');

  testNoNagFindings(synth);

  test('acknowledges only with reasons, including the Route 53 wildcards', () => {
    const acks = nagAcknowledgements(synth.app);
    expect(acks.map((a) => a.id)).toEqual(expect.arrayContaining([
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:route53:::change/*]',
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:route53:::hostedzone/*]',
    ]));
    for (const a of acks) expect(a.reason.length).toBeGreaterThan(30);
  });

  testNoCfnLintErrors(templateFile);

  test('has two load balancers, two listeners, the weighted records resource and no record set with a weight', () => {
    const t = JSON.parse(fs.readFileSync(templateFile, 'utf8'));
    const count = (type: string) => Object.values(t.Resources).filter((r: any) => r.Type === type).length;
    expect(count('AWS::ElasticLoadBalancingV2::LoadBalancer')).toBe(2);
    expect(count('AWS::ElasticLoadBalancingV2::Listener')).toBe(2);
    expect(count('Custom::BlueGreenDnsRecords')).toBe(1);
    expect(count('AWS::Route53::RecordSet')).toBe(0);
  });
});

describe('several fleets in one stack, sharing the cutover handlers', () => {
  // Two listener-rule fleets (different smoke budgets: two smoke-test functions) and a Route 53
  // fleet (the Route 53 variants of shift, roll-back and recover) in one VPC.
  const synth = synthWithNag((app) => {
    const stack = new Stack(app, 'BlueGreenFleets', { env: { account: '123456789012', region: 'us-east-1' } });
    const vpc = exampleVpc(stack);
    const base = { vpc, instanceType: new ec2.InstanceType('t3.small'), machineImage: ec2.MachineImage.latestAmazonLinux2023(), userData: exampleUserData() };
    new BlueGreenFleet(stack, 'Web', base);
    new BlueGreenFleet(stack, 'Api', { ...base, cutover: { smokeChecks: [SmokeCheck.http({ path: '/ready' })] } });
    const zone = route53.HostedZone.fromHostedZoneAttributes(stack, 'Zone', { hostedZoneId: 'Z0123456789ABCDEFGHIJ', zoneName: 'example.com' });
    new BlueGreenFleet(stack, 'Shop', { ...base, trafficSwitch: TrafficSwitch.route53({ zone, recordName: 'shop' }) });
  });
  const templateFile = path.join(synth.outdir, 'BlueGreenFleets.template.json');

  testNoNagFindings(synth);

  testNoCfnLintErrors(templateFile);

  test('has one function per handler, plus a smoke-test function per smoke budget and the Route 53 variants', () => {
    const t = JSON.parse(fs.readFileSync(templateFile, 'utf8'));
    const fns = Object.values<any>(t.Resources).filter((r) => r.Type === 'AWS::Lambda::Function' && String(r.Properties.Description).startsWith('Blue/green cutover: '));
    const count = (handler: string) => fns.filter((f) => f.Properties.Description === `Blue/green cutover: ${handler}`).length;
    expect(fns).toHaveLength(13 + 1 + 3);
    expect([count('smoke-test'), count('shift'), count('roll-back'), count('recover'), count('prepare')]).toEqual([2, 2, 2, 2, 1]);
  });
});

describe('two fleets on one load balancer\'s shared listeners (the example with sharedListener)', () => {
  const synth = synthWithNag((app) => new ExampleStack(app, 'BlueGreenShared', { sharedListener: true }));
  const templateFile = path.join(synth.outdir, 'BlueGreenShared.template.json');

  testNoNagFindings(synth);

  testNoCfnLintErrors(templateFile);

  test('has one load balancer, its two listeners and four host-header rules', () => {
    const t = JSON.parse(fs.readFileSync(templateFile, 'utf8'));
    const of = (type: string) => Object.values<any>(t.Resources).filter((r) => r.Type === type);
    expect(of('AWS::ElasticLoadBalancingV2::LoadBalancer')).toHaveLength(1);
    expect(of('AWS::ElasticLoadBalancingV2::Listener').map((l) => l.Properties.Port).sort()).toEqual([80, 8080]);
    expect(of('AWS::ElasticLoadBalancingV2::ListenerRule').map((r) => `${r.Properties.Conditions[0].HostHeaderConfig.Values[0]} ${r.Properties.Priority}`).sort())
      .toEqual(['api.example.com 20', 'api.example.com 20', 'web.example.com 10', 'web.example.com 10']);
  });
});

describe('the example with notifications and a dashboard on both fleets (observability, sharedListener)', () => {
  const synth = synthWithNag((app) => new ExampleStack(app, 'BlueGreenObserved', { sharedListener: true, observability: true }));
  const templateFile = path.join(synth.outdir, 'BlueGreenObserved.template.json');

  testNoNagFindings(synth);

  testNoCfnLintErrors(templateFile);

  test('has per fleet a rotated key, an encrypted topic with a policy, an outcome rule and a dashboard', () => {
    const t = JSON.parse(fs.readFileSync(templateFile, 'utf8'));
    const of = (type: string) => Object.values<any>(t.Resources).filter((r) => r.Type === type);
    expect(of('AWS::KMS::Key').map((k) => k.Properties.EnableKeyRotation)).toEqual([true, true]);
    expect(of('AWS::SNS::Topic').every((topic) => topic.Properties.KmsMasterKeyId)).toBe(true);
    expect(of('AWS::SNS::Topic')).toHaveLength(2);
    expect(of('AWS::SNS::TopicPolicy')).toHaveLength(2);
    expect(of('AWS::Events::Rule').filter((r) => r.Properties.Targets[0].Arn.Ref?.includes('NotificationsTopic'))).toHaveLength(2);
    expect(of('AWS::CloudWatch::Dashboard')).toHaveLength(2);
  });
});

describe('the static checks can fail', () => {
  test('cdk-nag rejects a security group open to the world', () => {
    const synth = synthWithNag((app) => {
      const stack = new Stack(app, 'Bad');
      const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 1, natGateways: 0, flowLogs: { All: {} } });
      const sg = new ec2.SecurityGroup(stack, 'Open', { vpc });
      sg.addIngressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(22));
    });
    expect(synth.error).toBeDefined();
    const rules = nagFindings(synth.outdir).map((v: any) => v.ruleName);
    expect(rules).toContain('AwsSolutions-EC23');
  });

  test('cfn-lint reports an error for a group without MinSize', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'bgf-lint-')), 'bad.json');
    fs.writeFileSync(file, JSON.stringify({
      Resources: { G: { Type: 'AWS::AutoScaling::AutoScalingGroup', Properties: { MaxSize: '1', AvailabilityZones: ['us-east-1a'] } } },
    }));
    expect(cfnLint(file).filter((m) => m.Level === 'Error').map((m) => m.Rule.Id)).toContain('E3003');
  });
});

