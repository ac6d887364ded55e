import { AutoScalingClient, UpdateAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import { DescribeNetworkInterfacesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { ChangeResourceRecordSetsCommand, Route53Client } from '@aws-sdk/client-route-53';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { CutoverErrorName } from '../../lib';
import { STATE_NAMES } from '../../lib/cutover-workflow';
import { GateRole, IamGate, normalizeRecordName, UNJUDGEABLE, WireRequest } from '../../lab/iam-gate';
import { Lab } from '../../lab/lab';
import { CallRecorder } from '../../lab/recorder';
import { ACCOUNT, REGION } from '../../lab/stack';
import { LAB_PROPS } from './lab-fixture';

const ZONE = 'Z0123456789ABC';
const RULE = `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:listener-rule/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee`;
const OTHER_RULE = RULE.replace(/[0-9a-f]{16}$/, '1111111111111111');
const PARAMETER = `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/blue-green/web/green/version`;

const role = (statements: any[]): GateRole => ({
  roleId: 'HandRole',
  roleArn: `arn:aws:iam::${ACCOUNT}:role/hand-role`,
  policies: [{ name: 'HandPolicy', document: { Version: '2012-10-17', Statement: statements } }],
  unreadable: [],
});

/** The policy of a traffic-moving handler, by hand: the rule, the parameter, UPSERTs of www's A records, one group. */
const HAND_ROLE = role([
  { Effect: 'Allow', Action: 'elasticloadbalancing:ModifyRule', Resource: RULE },
  { Effect: 'Allow', Action: ['ssm:GetParameter', 'ssm:PutParameter'], Resource: PARAMETER },
  {
    Effect: 'Allow', Action: 'route53:ChangeResourceRecordSets', Resource: `arn:aws:route53:::hostedzone/${ZONE}`,
    Condition: {
      'ForAllValues:StringEquals': {
        'route53:ChangeResourceRecordSetsNormalizedRecordNames': ['www.example.com'],
        'route53:ChangeResourceRecordSetsRecordTypes': ['A'],
        'route53:ChangeResourceRecordSetsActions': ['UPSERT'],
      },
    },
  },
  { Effect: 'Allow', Action: 'autoscaling:UpdateAutoScalingGroup', Resource: `arn:aws:autoscaling:${REGION}:${ACCOUNT}:autoScalingGroup:*:autoScalingGroupName/web-green` },
  { Effect: 'Allow', Action: 'autoscaling:DescribeAutoScalingGroups', Resource: '*' },
]);

const query = (service: string, action: string, fields: Record<string, string>): WireRequest => ({
  service, action, protocol: 'query', method: 'POST', path: '/', body: new URLSearchParams({ Action: action, ...fields }).toString(),
});
const json = (service: string, action: string, body: object): WireRequest => ({ service, action, protocol: 'json', method: 'POST', path: '/', body: JSON.stringify(body) });
const changeBatch = (changes: Array<{ action: string; name: string; type: string }>): WireRequest => ({
  service: 'route53', action: 'ChangeResourceRecordSets', protocol: 'rest-xml', method: 'POST', path: `/2013-04-01/hostedzone/${ZONE}/rrset`,
  body: `<?xml version="1.0" encoding="UTF-8"?><ChangeResourceRecordSetsRequest xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><ChangeBatch><Changes>${changes.map((c) =>
    `<Change><Action>${c.action}</Action><ResourceRecordSet><Name>${c.name}</Name><Type>${c.type}</Type><SetIdentifier>blue</SetIdentifier><Weight>0</Weight>`
    + `<AliasTarget><HostedZoneId>Z35SXDOTRQ7X7K</HostedZoneId><DNSName>lb.example.net</DNSName><EvaluateTargetHealth>true</EvaluateTargetHealth></AliasTarget></ResourceRecordSet></Change>`).join('')}</Changes></ChangeBatch></ChangeResourceRecordSetsRequest>`,
});

describe('the IAM gate on hand-written policies', () => {
  let gate: IamGate;
  beforeEach(() => {
    gate = new IamGate();
    gate.bindRole('HandFunction', HAND_ROLE);
  });

  test('allows what the policy allows, and counts the (role, action) pair', async () => {
    expect(await gate.check('HandFunction', query('elasticloadbalancing', 'ModifyRule', { RuleArn: RULE }))).toEqual({ allowed: true });
    expect(await gate.check('HandFunction', json('ssm', 'PutParameter', { Name: '/blue-green/web/green/version', Value: '2.0.0', Overwrite: true }))).toEqual({ allowed: true });
    expect(await gate.check('HandFunction', query('autoscaling', 'UpdateAutoScalingGroup', { AutoScalingGroupName: 'web-green', MinSize: '2', MaxSize: '4' }))).toEqual({ allowed: true });
    expect(await gate.check('HandFunction', query('autoscaling', 'DescribeAutoScalingGroups', { 'AutoScalingGroupNames.member.1': 'web-green' }))).toEqual({ allowed: true });
    expect(await gate.check('HandFunction', changeBatch([{ action: 'UPSERT', name: 'www.example.com.', type: 'A' }]))).toEqual({ allowed: true });
    expect(gate.takeDenials()).toEqual([]);
    expect([...gate.allowed].sort()).toEqual([
      'HandRole autoscaling:DescribeAutoScalingGroups', 'HandRole autoscaling:UpdateAutoScalingGroup',
      'HandRole elasticloadbalancing:ModifyRule', 'HandRole route53:ChangeResourceRecordSets', 'HandRole ssm:PutParameter',
    ]);
  });

  test('denies an action no statement allows, naming the function, role, action and resource', async () => {
    const verdict = await gate.check('HandFunction', json('dynamodb', 'DeleteItem', { TableName: 'locks', Key: { fleet: { S: 'web' } } }), 'Release lock');
    expect(verdict.allowed).toBe(false);
    const [denial] = gate.takeDenials();
    expect(denial).toMatchObject({ principal: 'HandFunction', roleId: 'HandRole', action: 'dynamodb:DeleteItem', resource: `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/locks`, stage: 'Release lock' });
    expect(denial.message).toContain('HandFunction (role HandRole) is not allowed dynamodb:DeleteItem on arn:aws:dynamodb:us-east-1:123456789012:table/locks');
    expect(denial.message).toContain('no statement of the role allows dynamodb:DeleteItem');
    expect(denial.message).toContain('missing: an Allow statement for dynamodb:DeleteItem on arn:aws:dynamodb:us-east-1:123456789012:table/locks');
    expect(gate.allowed.size).toBe(0);
  });

  test('denies the right action on another resource, quoting the statement whose Resource does not match', async () => {
    expect((await gate.check('HandFunction', query('elasticloadbalancing', 'ModifyRule', { RuleArn: OTHER_RULE }))).allowed).toBe(false);
    expect((await gate.check('HandFunction', json('ssm', 'PutParameter', { Name: '/blue-green/web/blue/version', Value: 'x' }))).allowed).toBe(false);
    expect((await gate.check('HandFunction', query('autoscaling', 'UpdateAutoScalingGroup', { AutoScalingGroupName: 'web-blue' }))).allowed).toBe(false);
    const denials = gate.takeDenials();
    expect(denials.map((d) => d.resource)).toEqual([
      OTHER_RULE,
      `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/blue-green/web/blue/version`,
      expect.stringMatching(/^arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:[0-9a-f-]{36}:autoScalingGroupName\/web-blue$/),
    ]);
    expect(denials[0].message).toContain(`HandPolicy statement 1: its Resource "${RULE}" does not match`);
    expect(denials[1].message).toContain('ssm:Overwrite="false"');
  });

  test('judges a DynamoDB Query of an index on the index\'s ARN: Query on the History index allows that, not the table or another index', async () => {
    const reader = new IamGate();
    const indexArn = `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/locks/index/History`;
    reader.bindRole('ReaderFunction', { ...role([{ Effect: 'Allow', Action: 'dynamodb:Query', Resource: indexArn }]), roleId: 'ReaderRole' });
    const queryOf = (index?: string) => json('dynamodb', 'Query', { TableName: 'locks', ...(index ? { IndexName: index } : {}), KeyConditionExpression: 'historyOf = :f' });

    expect(await reader.check('ReaderFunction', queryOf('History'))).toEqual({ allowed: true });
    expect((await reader.check('ReaderFunction', queryOf())).allowed).toBe(false);
    expect((await reader.check('ReaderFunction', queryOf('Other'))).allowed).toBe(false);
    expect(reader.takeDenials().map((d) => d.resource)).toEqual([`arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/locks`, `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/locks/index/Other`]);
  });

  test('judges an SNS Publish on the topic it names: allowed on the granted topic, denied on another', async () => {
    const publisher = new IamGate();
    const topic = `arn:aws:sns:${REGION}:${ACCOUNT}:releases`;
    publisher.bindRole('GateFunction', role([{ Effect: 'Allow', Action: 'sns:Publish', Resource: topic }]));
    const publish = (arn: string) => query('sns', 'Publish', { TopicArn: arn, Message: 'm' });
    expect(await publisher.check('GateFunction', publish(topic))).toEqual({ allowed: true });
    expect((await publisher.check('GateFunction', publish(`${topic}-other`))).allowed).toBe(false);
    expect(publisher.takeDenials().map((d) => d.resource)).toEqual([`${topic}-other`]);
  });

  test('judges PutMetricData by its namespace (the cloudwatch:namespace condition key)', async () => {
    const metrics = new IamGate();
    metrics.bindRole('MetricFunction', role([
      { Effect: 'Allow', Action: 'cloudwatch:PutMetricData', Resource: '*', Condition: { StringEquals: { 'cloudwatch:namespace': 'BlueGreenFleet' } } },
    ]));
    const put = (namespace: string) => json('monitoring', 'PutMetricData', { Namespace: namespace, MetricData: [{ MetricName: 'TrafficWeight', Value: 100 }] });
    expect(await metrics.check('MetricFunction', put('BlueGreenFleet'))).toEqual({ allowed: true });
    expect((await metrics.check('MetricFunction', put('Shop'))).allowed).toBe(false);
    expect(metrics.takeDenials()[0].message).toContain('cloudwatch:namespace');
  });

  test('denies a record change outside the route53 conditions: another name, another type, a DELETE', async () => {
    for (const change of [
      { action: 'UPSERT', name: 'api.example.com', type: 'A' },
      { action: 'UPSERT', name: 'www.example.com', type: 'TXT' },
      { action: 'DELETE', name: 'www.example.com', type: 'A' },
    ]) {
      expect((await gate.check('HandFunction', changeBatch([{ action: 'UPSERT', name: 'www.example.com', type: 'A' }, change]))).allowed).toBe(false);
    }
    const denials = gate.takeDenials();
    expect(denials).toHaveLength(3);
    expect(denials[0].message).toContain('its Condition fails');
    expect(denials[0].message).toContain('route53:ChangeResourceRecordSetsNormalizedRecordNames');
    expect(denials[0].message).toContain('route53:ChangeResourceRecordSetsNormalizedRecordNames=["www.example.com","api.example.com"]');
    expect(denials[1].message).toContain('route53:ChangeResourceRecordSetsRecordTypes=["A","TXT"]');
    expect(denials[2].message).toContain('route53:ChangeResourceRecordSetsActions=["UPSERT","DELETE"]');
    expect(denials.every((d) => d.resource === `arn:aws:route53:::hostedzone/${ZONE}`)).toBe(true);
  });

  test('normalizes record names as Route 53 does for its condition keys', () => {
    expect(normalizeRecordName('WWW.Example.COM.')).toBe('www.example.com');
    expect(normalizeRecordName('*.example.com')).toBe('\\052.example.com');
    expect(normalizeRecordName('\\052.example.com')).toBe('\\052.example.com');
  });

  test('an action neither mapped nor listed as unjudgeable is an error, not a pass', async () => {
    expect((await gate.check('HandFunction', query('ec2', 'TerminateInstances', { 'InstanceId.1': 'i-1' }))).allowed).toBe(false);
    expect(gate.takeDenials()[0].message).toContain('ec2:TerminateInstances is neither mapped to its resources by the lab\'s IAM gate nor listed as unjudgeable');
  });

  test('listed unjudgeable actions pass, counted apart, each with its reason', async () => {
    expect(Object.keys(UNJUDGEABLE)).toEqual(['sts:GetCallerIdentity']);
    expect((await gate.check('HandFunction', query('sts', 'GetCallerIdentity', {}))).allowed).toBe(true);
    expect([...gate.unjudged]).toEqual(['HandRole sts:GetCallerIdentity']);
    expect(gate.allowed.size).toBe(0);
  });

  test('a call with no calling function, or an unknown one, is denied', async () => {
    expect((await gate.check(undefined, query('autoscaling', 'DescribeAutoScalingGroups', {}), 'cdk deploy')).allowed).toBe(false);
    expect((await gate.check('Nobody', query('autoscaling', 'DescribeAutoScalingGroups', {}))).allowed).toBe(false);
    const [none, unknown] = gate.takeDenials();
    expect(none.message).toContain('with no calling function set');
    expect(unknown.message).toContain('Nobody, which is not a Lambda function with a role in the template');
  });

  test('an explicit Deny wins over an Allow', async () => {
    gate.bindRole('Denied', role([
      { Effect: 'Allow', Action: 'ssm:PutParameter', Resource: '*' },
      { Sid: 'NoOverwrite', Effect: 'Deny', Action: 'ssm:PutParameter', Resource: '*', Condition: { StringEquals: { 'ssm:Overwrite': 'true' } } },
    ]));
    expect((await gate.check('Denied', json('ssm', 'PutParameter', { Name: '/p', Value: 'v' }))).allowed).toBe(true);
    expect((await gate.check('Denied', json('ssm', 'PutParameter', { Name: '/p', Value: 'v', Overwrite: true }))).allowed).toBe(false);
    expect(gate.takeDenials()[0].message).toContain('explicitly denied by HandPolicy statement NoOverwrite');
  });
});

describe('AccessDenied on the wire, as the real SDK clients read it', () => {
  let recorder: CallRecorder;
  const config = () => ({ endpoint: recorder.endpoint, region: REGION, credentials: { accessKeyId: 'lab', secretAccessKey: 'lab' }, maxAttempts: 1 });
  beforeAll(async () => {
    // Nothing is forwarded: every call below is denied before it would reach the upstream.
    recorder = new CallRecorder('http://127.0.0.1:9');
    await recorder.start();
    recorder.gate.bindRole('HandFunction', role([{ Effect: 'Allow', Action: 'autoscaling:DescribeAutoScalingGroups', Resource: '*' }]));
    recorder.principal = 'HandFunction';
  });
  afterAll(async () => { await recorder.stop(); });

  test.each([
    ['JSON (SSM)', () => new SSMClient(config()).send(new PutParameterCommand({ Name: '/p', Value: 'v' })), 'AccessDeniedException'],
    ['query (Auto Scaling)', () => new AutoScalingClient(config()).send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: 'g', MinSize: 0 })), 'AccessDenied'],
    ['EC2 query', () => new EC2Client(config()).send(new DescribeNetworkInterfacesCommand({})), 'UnauthorizedOperation'],
    ['REST-XML (Route 53)', () => new Route53Client(config()).send(new ChangeResourceRecordSetsCommand({ HostedZoneId: ZONE, ChangeBatch: { Changes: [{ Action: 'UPSERT', ResourceRecordSet: { Name: 'www.example.com', Type: 'A', TTL: 60, ResourceRecords: [{ Value: '192.0.2.1' }] } }] } })), 'AccessDenied'],
  ])('%s', async (_protocol, send, name) => {
    const error = await send().then(() => undefined, (e) => e);
    expect(error).toMatchObject({ name, $metadata: expect.objectContaining({ httpStatusCode: expect.any(Number) }) });
    expect(error.message).toContain('is not authorized to perform');
    expect(recorder.calls.at(-1)!.denied).toContain('is not allowed');
    expect(recorder.gate.takeDenials()).toHaveLength(1);
  });
});

describe('the IAM gate in the lab', () => {
  let lab: Lab;
  beforeAll(async () => { lab = await Lab.start(LAB_PROPS); }, 120_000);
  afterAll(async () => { await lab?.stop(); });

  test('a cutover: every handler call is attributed to its function and allowed by its role', async () => {
    const result = await lab.runCutover({ version: '2.0.0' });

    expect(result.status).toBe('SUCCEEDED');
    expect(result.calls.length).toBeGreaterThan(0);
    expect(result.calls.filter((c) => !c.principal || c.denied)).toEqual([]);
    const summary = lab.iamSummary();
    console.log(`IAM gate: ${summary.length} (role, action) pairs allowed\n${summary.join('\n')}`);
    const roleOf = (handler: string) => {
      const [fnId] = Object.entries<any>(lab.template.Resources).find(([, r]) => r.Type === 'AWS::Lambda::Function' && r.Properties.Description === `Blue/green cutover: ${handler}`)!;
      return lab.iam.role(fnId)!.roleId;
    };
    expect(summary).toEqual(expect.arrayContaining([
      `${roleOf('start')} dynamodb:PutItem`,
      `${roleOf('prepare')} ssm:PutParameter`,
      `${roleOf('prepare')} autoscaling:UpdateAutoScalingGroup`,
      `${roleOf('shift')} elasticloadbalancing:ModifyRule`,
      `${roleOf('check-alarms')} cloudwatch:DescribeAlarms`,
      `${roleOf('retire-previous')} autoscaling:UpdateAutoScalingGroup`,
    ]));
  });

  test('a role without the grant: the handler gets AccessDenied, the execution fails, the denial names role, action and resource', async () => {
    await lab.reset(LAB_PROPS);
    const [shiftId] = Object.entries<any>(lab.template.Resources).find(([, r]) => r.Properties?.Description === 'Blue/green cutover: shift')!;
    const shiftRole = lab.iam.role(shiftId)!;
    // The shift role as if its ModifyRule grant had been forgotten.
    lab.iam.bindRole(shiftId, {
      ...shiftRole,
      policies: shiftRole.policies.map((p) => ({ ...p, document: { ...p.document, Statement: p.document.Statement.filter((s: any) => ![].concat(s.Action).includes('elasticloadbalancing:ModifyRule' as never)) } })),
    });
    try {
      const result = await lab.runCutover({ version: '2.0.0' });
      expect(result.status).toBe('FAILED');
      expect(result.error).not.toBe(CutoverErrorName.CUTOVER_IN_PROGRESS);
      expect(result.calls.filter((c) => c.denied).map((c) => `${c.stage}: ${c.action}`)).toEqual(expect.arrayContaining([`${STATE_NAMES.shift(100)}: ModifyRule`]));
      expect(await lab.weights()).toEqual({ blue: 100, green: 0 });
    } finally {
      const denials = lab.iam.takeDenials();
      expect(denials.length).toBeGreaterThan(0);
      expect(denials[0]).toMatchObject({ principal: shiftId, roleId: shiftRole.roleId, action: 'elasticloadbalancing:ModifyRule', resource: lab.config.productionRuleArn });
      expect(denials[0].message).toContain(`${shiftId} (role ${shiftRole.roleId}) is not allowed elasticloadbalancing:ModifyRule on ${lab.config.productionRuleArn}`);
      await lab.reset(LAB_PROPS);
    }
  });
});
