/**
 * A small in-memory model of the fleet's AWS resources behind aws-sdk-client-mock stubs:
 * listener rules, Auto Scaling groups, target health and SSM parameters. Mutating calls
 * change the model, so a handler run twice sees its own first run, as on AWS.
 */
import 'aws-sdk-client-mock-jest';
import {
  AutoScalingClient,
  DescribeAutoScalingGroupsCommand,
  Instance,
  UpdateAutoScalingGroupCommand,
} from '@aws-sdk/client-auto-scaling';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import {
  AttributeValue, ConditionalCheckFailedException, DynamoDBClient, GetItemCommand, TransactionCanceledException, TransactWriteItemsCommand, UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DescribeInstancesCommand, DescribeLaunchTemplatesCommand, EC2Client, ModifyLaunchTemplateCommand } from '@aws-sdk/client-ec2';
import {
  Action,
  DescribeRulesCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  ModifyRuleCommand,
  TargetHealthDescription,
  TargetHealthReasonEnum,
  TargetHealthStateEnum,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  ListResourceRecordSetsCommand,
  ResourceRecordSet,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { GetParametersCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { Colour, ColourRelease, COLOURS, CutoverState, DNS_SET_IDENTIFIERS, FleetConfig, GroupCapacity } from '../../lib/private/contract';
import { previousRecordItem } from '../../lambda/common/lock';
import { logger } from '../../lambda/common/logger';

// Handler logs are asserted through spies, not read from the console.
logger.setLogLevel('SILENT');
// The SDK warns once per process that its future releases need Node 22; not news in tests.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const TG_PREFIX = 'arn:aws:elasticloadbalancing:eu-west-1:111122223333:targetgroup';
const RULE_PREFIX = 'arn:aws:elasticloadbalancing:eu-west-1:111122223333:listener-rule/app/web/50dc6c495c0c9188';

export const EXECUTION_ID = 'arn:aws:states:eu-west-1:111122223333:execution:web-cutover:run-1';
export const OTHER_EXECUTION_ID = 'arn:aws:states:eu-west-1:111122223333:execution:web-cutover:run-0';

/** When the model's parameters took their first values, and when its instances were launched: after that. */
export const RELEASED_AT = '2025-03-01T11:00:00.000Z';
export const LAUNCHED_AT = '2025-03-01T11:30:00.000Z';

export const BLUE_RELEASE: ColourRelease = { imageId: 'ami-0123456789abcdef0', version: '1.4.1' };
export const GREEN_RELEASE: ColourRelease = { imageId: 'ami-0fedcba9876543210', version: '1.4.0' };

export const FLEET: FleetConfig = {
  fleetId: 'web',
  productionRuleArn: `${RULE_PREFIX}/f2f7dc8efc522ab2/9683b2d02a6cabee`,
  testRuleArn: `${RULE_PREFIX}/1a2b3c4d5e6f7a8b/0f1e2d3c4b5a6978`,
  testPort: 9000,
  testProtocol: 'HTTP',
  loadBalancerDnsName: 'web-1234567890.eu-west-1.elb.amazonaws.com',
  loadBalancerFullName: 'app/web/50dc6c495c0c9188',
  colours: {
    blue: {
      autoScalingGroupName: 'web-blue',
      targetGroupArn: `${TG_PREFIX}/web-blue/73e2d6bc24d8a067`,
      imageParameterName: '/blue-green/web/blue/image-id',
      versionParameterName: '/blue-green/web/blue/version',
      launchTemplateId: 'lt-0b1e0000000000001',
      alarmNames: ['web-blue-5xx', 'web-blue-unhealthy-hosts'],
    },
    green: {
      autoScalingGroupName: 'web-green',
      targetGroupArn: `${TG_PREFIX}/web-green/3d1b2a9f8e7c6d5b`,
      imageParameterName: '/blue-green/web/green/image-id',
      versionParameterName: '/blue-green/web/green/version',
      launchTemplateId: 'lt-06ee0000000000002',
      alarmNames: ['web-green-5xx', 'web-green-unhealthy-hosts'],
    },
  },
  rollbackAlarmNames: ['web-p99-latency'],
  lockTableName: 'web-cutover-lock',
  minCapacity: 2,
  maxCapacity: 4,
  lockLeaseSeconds: 7200,
  healthyTimeoutSeconds: 600,
  smokeChecks: [],
  smokeRounds: 2,
  bakeSeconds: 300,
  warmSeconds: 900,
};

/** The same fleet switching traffic with Route 53 weighted alias records, a load balancer per colour. */
export const DNS_FLEET: FleetConfig = {
  ...FLEET,
  productionRuleArn: '',
  testRuleArn: '',
  loadBalancerDnsName: '',
  loadBalancerFullName: '',
  testPort: 80,
  colours: {
    blue: { ...FLEET.colours.blue, loadBalancer: { dnsName: 'web-blue-111.eu-west-1.elb.amazonaws.com', fullName: 'app/web-blue/1111111111111111' } },
    green: { ...FLEET.colours.green, loadBalancer: { dnsName: 'web-green-222.eu-west-1.elb.amazonaws.com', fullName: 'app/web-green/2222222222222222' } },
  },
  route53: {
    hostedZoneId: 'Z0123456789ABCDEFGHIJ',
    recordName: 'www.example.com',
    recordType: 'A',
    targets: {
      blue: { dnsName: 'dualstack.web-blue-111.eu-west-1.elb.amazonaws.com', hostedZoneId: 'Z32O12XQLNTSW2' },
      green: { dnsName: 'dualstack.web-green-222.eu-west-1.elb.amazonaws.com', hostedZoneId: 'Z32O12XQLNTSW2' },
    },
  },
};

/** A Route 53 error as the SDK surfaces it. */
export function route53Error(name: string, message: string): Error {
  return Object.assign(new Error(message), { name, $fault: 'client', $metadata: { httpStatusCode: 400 } });
}

/** A clock tests move by hand. */
export function clock(startIso = '2025-03-01T12:00:00.000Z') {
  let t = Date.parse(startIso);
  return {
    now: () => new Date(t),
    advance(seconds: number) {
      t += seconds * 1000;
    },
    iso: (plusSeconds = 0) => new Date(t + plusSeconds * 1000).toISOString(),
  };
}

/** The state as find-live leaves it for a deploy from blue to green. */
export function deployState(overrides: Partial<CutoverState> = {}): CutoverState {
  return {
    input: {},
    executionId: EXECUTION_ID,
    action: 'deploy',
    release: {},
    live: Colour.BLUE,
    target: Colour.GREEN,
    liveCapacity: { min: 2, max: 4, desired: 2 },
    liveRelease: BLUE_RELEASE,
    targetRelease: GREEN_RELEASE,
    stages: [],
    ...overrides,
  };
}

interface FakeGroup {
  min: number;
  max: number;
  desired: number;
  instances: Instance[];
  /** The launch template version the group launches. */
  launchTemplateVersion: string;
}

/** A throttling error as the SDK surfaces it once its own retries are spent. */
export function throttling(name = 'Throttling'): Error {
  return Object.assign(new Error('Rate exceeded'), { name, $fault: 'client', $metadata: { httpStatusCode: 400 } });
}

export class FakeAws {
  readonly elbv2Mock = mockClient(ElasticLoadBalancingV2Client);
  readonly asgMock = mockClient(AutoScalingClient);
  readonly ssmMock = mockClient(SSMClient);
  readonly dynamoMock = mockClient(DynamoDBClient);
  readonly cloudWatchMock = mockClient(CloudWatchClient);
  readonly ec2Mock = mockClient(EC2Client);
  readonly route53Mock = mockClient(Route53Client);
  readonly sfnMock = mockClient(SFNClient);

  readonly elbv2 = new ElasticLoadBalancingV2Client({ region: 'eu-west-1' });
  readonly autoScaling = new AutoScalingClient({ region: 'eu-west-1' });
  readonly ssm = new SSMClient({ region: 'eu-west-1' });
  readonly dynamoDb = new DynamoDBClient({ region: 'eu-west-1' });
  readonly cloudWatch = new CloudWatchClient({ region: 'eu-west-1' });
  readonly ec2 = new EC2Client({ region: 'eu-west-1' });
  readonly route53 = new Route53Client({ region: 'us-east-1' });
  readonly sfn = new SFNClient({ region: 'eu-west-1' });

  rules = new Map<string, Action[]>();
  groups = new Map<string, FakeGroup>();
  targets = new Map<string, TargetHealthDescription[]>();
  params = new Map<string, { Value: string; DataType: string; LastModifiedDate?: Date }>();
  /** EC2 launch times of instances, by id; an instance without one launched at {@link LAUNCHED_AT}. */
  launchTimes = new Map<string, Date>();
  /** SSM's clock: the LastModifiedDate a PutParameter gives. */
  now: () => Date = () => new Date('2025-03-01T12:00:00.000Z');
  /** Launch templates by id: their latest and default version numbers. */
  launchTemplates = new Map<string, { latest: number; default: number }>();
  /**
   * Image ids SSM's asynchronous validation of aws:ec2:image parameters rejects: PutParameter
   * answers 200 and the parameter keeps its value (SSM PutParameter reference, DataType).
   */
  rejectedImages = new Set<string>();
  /** Route 53 records by zone, in the order Route 53 would list them. */
  records = new Map<string, ResourceRecordSet[]>();
  /** How many GetChange calls answer PENDING before a change is INSYNC. */
  pendingPolls = 0;
  /**
   * The caller's permission to ChangeResourceRecordSets, as IAM statements with the condition
   * `ForAllValues:StringEquals` on `route53:ChangeResourceRecordSetsNormalizedRecordNames`: a
   * batch is allowed when one statement for its zone names every record in it. Unset: all allowed.
   */
  route53Statements?: Array<{ readonly zoneId: string; readonly names: readonly string[] }>;
  /** Items of the lock table by partition key, as GetItem answers them (other item calls are mocked per test). */
  items = new Map<string, Record<string, AttributeValue>>();
  private changes = new Map<string, number>();

  constructor(readonly config: FleetConfig = FLEET) {
    this.reset();
  }

  /**
   * Blue live at 2 of 2 healthy instances, green idle at 0; production rule 100/0,
   * test rule 0/100; both releases in their parameters.
   */
  reset(): void {
    for (const m of [this.elbv2Mock, this.asgMock, this.ssmMock, this.dynamoMock, this.cloudWatchMock, this.ec2Mock, this.route53Mock, this.sfnMock]) m.reset();
    this.rules.clear();
    this.groups.clear();
    this.targets.clear();
    this.params.clear();
    this.launchTimes.clear();
    this.now = () => new Date('2025-03-01T12:00:00.000Z');
    this.records.clear();
    this.launchTemplates.clear();
    this.rejectedImages.clear();
    this.items.clear();
    // The execution under test holds the fleet's lock.
    this.items.set(this.config.fleetId, { pk: { S: this.config.fleetId }, owner: { S: EXECUTION_ID }, phase: { S: 'Cutover' } });
    for (const c of COLOURS) this.launchTemplates.set(this.config.colours[c].launchTemplateId, { latest: 1, default: 1 });
    this.changes.clear();
    this.pendingPolls = 0;
    this.route53Statements = undefined;
    if (this.config.route53) this.setRecordWeights(100, 0);
    this.setWeights(this.config.productionRuleArn, 100, 0);
    this.setWeights(this.config.testRuleArn, 0, 100);
    this.setGroup(Colour.BLUE, { min: 2, max: 4, desired: 2 }, ['i-0b1', 'i-0b2']);
    this.setGroup(Colour.GREEN, { min: 0, max: 4, desired: 0 }, []);
    this.setRelease(Colour.BLUE, BLUE_RELEASE);
    this.setRelease(Colour.GREEN, GREEN_RELEASE);
    this.install();
  }

  setWeights(ruleArn: string, blue: number, green: number): void {
    this.rules.set(ruleArn, [{
      Type: 'forward',
      Order: 1,
      ForwardConfig: {
        TargetGroups: [
          { TargetGroupArn: this.config.colours.blue.targetGroupArn, Weight: blue },
          { TargetGroupArn: this.config.colours.green.targetGroupArn, Weight: green },
        ],
        TargetGroupStickinessConfig: { Enabled: false },
      },
    }]);
  }

  /** Both weighted records of the fleet, at the given weights, pointing at each colour's load balancer. */
  setRecordWeights(blue: number, green: number): void {
    const r = this.config.route53!;
    const others = (this.records.get(r.hostedZoneId) ?? []).filter((rs) => !(rs.Name === `${r.recordName}.` && COLOURS.some((c) => rs.SetIdentifier === DNS_SET_IDENTIFIERS[c])));
    const ours = COLOURS.map((c): ResourceRecordSet => ({
      Name: `${r.recordName}.`,
      Type: r.recordType,
      SetIdentifier: DNS_SET_IDENTIFIERS[c],
      Weight: c === Colour.BLUE ? blue : green,
      ...(r.recordType === 'A'
        ? { AliasTarget: { DNSName: `${r.targets[c].dnsName}.`, HostedZoneId: r.targets[c].hostedZoneId, EvaluateTargetHealth: false } }
        : { TTL: r.ttlSeconds, ResourceRecords: [{ Value: r.targets[c].dnsName }] }),
    }));
    this.records.set(r.hostedZoneId, [...ours, ...others]);
  }

  /** Weights of the fleet's records, as the model holds them. */
  recordWeights(): { blue: number; green: number } {
    const r = this.config.route53!;
    const of = (c: Colour) => (this.records.get(r.hostedZoneId) ?? []).find((rs) => rs.Name === `${r.recordName}.` && rs.SetIdentifier === DNS_SET_IDENTIFIERS[c])?.Weight ?? 0;
    return { blue: of(Colour.BLUE), green: of(Colour.GREEN) };
  }

  /** Raw weights of a rule by colour, as the model holds them. */
  weights(ruleArn: string): { blue: number; green: number } {
    const tgs = this.rules.get(ruleArn)?.find((a) => a.Type === 'forward')?.ForwardConfig?.TargetGroups ?? [];
    const of = (c: Colour) => tgs.find((t) => t.TargetGroupArn === this.config.colours[c].targetGroupArn)?.Weight ?? 0;
    return { blue: of(Colour.BLUE), green: of(Colour.GREEN) };
  }

  /** A group with InService/Healthy instances, each registered healthy in its target group. */
  setGroup(colour: Colour, capacity: GroupCapacity, instanceIds: string[]): void {
    this.groups.set(this.config.colours[colour].autoScalingGroupName, {
      ...capacity,
      launchTemplateVersion: this.groups.get(this.config.colours[colour].autoScalingGroupName)?.launchTemplateVersion ?? '1',
      instances: [],
    });
    const g = this.group(colour);
    g.instances = instanceIds.map((id) => ({
      InstanceId: id, LifecycleState: 'InService', HealthStatus: 'Healthy', AvailabilityZone: 'eu-west-1a', ProtectedFromScaleIn: false,
      LaunchTemplate: { LaunchTemplateId: this.config.colours[colour].launchTemplateId, Version: g.launchTemplateVersion },
    }));
    this.targets.set(this.config.colours[colour].targetGroupArn, instanceIds.map((id) => target(id, 'healthy')));
  }

  group(colour: Colour): FakeGroup {
    return this.groups.get(this.config.colours[colour].autoScalingGroupName)!;
  }

  setTargets(colour: Colour, targets: TargetHealthDescription[]): void {
    this.targets.set(this.config.colours[colour].targetGroupArn, targets);
  }

  setRelease(colour: Colour, release: ColourRelease, at = new Date(RELEASED_AT)): void {
    this.params.set(this.config.colours[colour].imageParameterName, { Value: release.imageId, DataType: 'aws:ec2:image', LastModifiedDate: at });
    this.params.set(this.config.colours[colour].versionParameterName, { Value: release.version, DataType: 'text', LastModifiedDate: at });
  }

  release(colour: Colour): ColourRelease {
    return {
      imageId: this.params.get(this.config.colours[colour].imageParameterName)!.Value,
      version: this.params.get(this.config.colours[colour].versionParameterName)!.Value,
    };
  }

  /**
   * The record of the colour a cutover left (`<fleetId>#previous`), as keep-warm writes it; by
   * default blue, left for green by EXECUTION_ID, running BLUE_RELEASE.
   */
  setPreviousRecord(overrides: { colour?: Colour; release?: ColourRelease; retired?: boolean } = {}): void {
    const colour = overrides.colour ?? Colour.BLUE;
    const item = previousRecordItem(this.config.fleetId, {
      colour,
      release: overrides.release ?? BLUE_RELEASE,
      live: colour === Colour.BLUE ? Colour.GREEN : Colour.BLUE,
      executionId: EXECUTION_ID,
      recordedAt: '2025-03-01T12:10:00.000Z',
    });
    if (overrides.retired) Object.assign(item, { retired: { BOOL: true }, retiredAt: { S: '2025-03-01T12:25:00.000Z' } });
    this.items.set(item.pk.S!, item);
  }

  /** Asserts that no call changed the listener rules, the groups or the parameters. */
  expectNoMutations(): void {
    expect(this.elbv2Mock).toHaveReceivedCommandTimes(ModifyRuleCommand, 0);
    expect(this.asgMock).toHaveReceivedCommandTimes(UpdateAutoScalingGroupCommand, 0);
    expect(this.ssmMock).toHaveReceivedCommandTimes(PutParameterCommand, 0);
    expect(this.ec2Mock).toHaveReceivedCommandTimes(ModifyLaunchTemplateCommand, 0);
  }

  /** Forgets the calls made so far (the model keeps its state). */
  resetHistory(): void {
    for (const m of [this.elbv2Mock, this.asgMock, this.ssmMock, this.dynamoMock, this.cloudWatchMock, this.ec2Mock, this.route53Mock]) m.resetHistory();
  }

  /**
   * Route 53 as the handlers use it: records listed from a name and type on, change batches applied
   * atomically (CREATE of an existing record, DELETE of a record that differs, fail), each change
   * PENDING for `pendingPolls` GetChange calls.
   */
  private installRoute53(): void {
    const clone = <T>(v: T): T => structuredClone(v);
    const key = (rs: ResourceRecordSet) => `${rs.Name?.toLowerCase()}|${rs.Type}|${rs.SetIdentifier ?? ''}`;
    const fqdn = (name: string) => (name.endsWith('.') ? name : `${name}.`).toLowerCase();
    this.route53Mock.on(ListResourceRecordSetsCommand).callsFake((input: { HostedZoneId: string; StartRecordName?: string; StartRecordType?: string }) => {
      if (!this.records.has(input.HostedZoneId)) throw route53Error('NoSuchHostedZone', `No hosted zone found with ID: ${input.HostedZoneId}`);
      const all = this.records.get(input.HostedZoneId)!;
      const start = input.StartRecordName ? fqdn(input.StartRecordName) : undefined;
      const first = all.filter((rs) => rs.Name?.toLowerCase() === start && (!input.StartRecordType || rs.Type === input.StartRecordType));
      return { ResourceRecordSets: clone([...first, ...all.filter((rs) => !first.includes(rs))]), IsTruncated: false, MaxItems: 100 };
    });
    this.route53Mock.on(ChangeResourceRecordSetsCommand).callsFake((input: { HostedZoneId: string; ChangeBatch: { Changes: { Action: string; ResourceRecordSet: ResourceRecordSet }[] } }) => {
      if (this.route53Statements) {
        const names = input.ChangeBatch.Changes.map((c) => fqdn(c.ResourceRecordSet.Name!).replace(/\.$/, ''));
        if (!this.route53Statements.some((st) => st.zoneId === input.HostedZoneId && names.every((n) => st.names.includes(n)))) {
          throw route53Error('AccessDenied', 'User: arn:aws:sts::111122223333:assumed-role/web-DnsRecordsProviderRole/dns-records is not authorized to perform: ' +
            `route53:ChangeResourceRecordSets on resource: arn:aws:route53:::hostedzone/${input.HostedZoneId} because no identity-based policy allows the route53:ChangeResourceRecordSets action`);
        }
      }
      const next = clone(this.records.get(input.HostedZoneId) ?? []).map((rs) => ({ ...rs, Name: fqdn(rs.Name!) }));
      for (const { Action, ResourceRecordSet: raw } of input.ChangeBatch.Changes) {
        const rs = clone({ ...raw, Name: fqdn(raw.Name!) });
        if (rs.AliasTarget) rs.AliasTarget.DNSName = fqdn(rs.AliasTarget.DNSName!);
        const at = next.findIndex((r) => key(r) === key(rs));
        if (Action === 'CREATE') {
          if (at >= 0) throw route53Error('InvalidChangeBatch', `[Tried to create resource record set [name='${rs.Name}', type='${rs.Type}', set-identifier='${rs.SetIdentifier}'] but it already exists]`);
          next.push(rs);
        } else if (Action === 'UPSERT') {
          if (at >= 0) next[at] = rs; else next.push(rs);
        } else {
          if (at < 0 || JSON.stringify(next[at]) !== JSON.stringify(rs)) {
            throw route53Error('InvalidChangeBatch', `[Tried to delete resource record set [name='${rs.Name}', type='${rs.Type}', set-identifier='${rs.SetIdentifier}'] but the values provided do not match the current values]`);
          }
          next.splice(at, 1);
        }
      }
      this.records.set(input.HostedZoneId, next);
      const id = `/change/C${String(this.changes.size + 1).padStart(4, '0')}`;
      this.changes.set(id, this.pendingPolls);
      return { ChangeInfo: { Id: id, Status: 'PENDING', SubmittedAt: new Date('2025-03-01T12:00:00Z') } };
    });
    this.route53Mock.on(GetChangeCommand).callsFake((input: { Id: string }) => {
      const left = this.changes.get(input.Id);
      if (left === undefined) throw route53Error('NoSuchChange', `Could not find change with ID ${input.Id}`);
      this.changes.set(input.Id, Math.max(0, left - 1));
      return { ChangeInfo: { Id: input.Id, Status: left > 0 ? 'PENDING' : 'INSYNC', SubmittedAt: new Date('2025-03-01T12:00:00Z') } };
    });
  }

  private install(): void {
    const clone = <T>(v: T): T => structuredClone(v);
    this.elbv2Mock.on(DescribeRulesCommand).callsFake((input: { RuleArns: string[] }) => ({
      Rules: input.RuleArns.filter((arn) => this.rules.has(arn)).map((arn) => ({
        RuleArn: arn,
        Priority: '50000',
        Conditions: [{ Field: 'path-pattern', Values: ['/*'] }],
        Actions: clone(this.rules.get(arn)),
        IsDefault: false,
      })),
    }));
    this.elbv2Mock.on(ModifyRuleCommand).callsFake((input: { RuleArn: string; Actions: Action[] }) => {
      this.rules.set(input.RuleArn, clone(input.Actions));
      return { Rules: [{ RuleArn: input.RuleArn, Actions: clone(input.Actions) }] };
    });
    this.elbv2Mock.on(DescribeTargetHealthCommand).callsFake((input: { TargetGroupArn: string }) => ({
      TargetHealthDescriptions: clone(this.targets.get(input.TargetGroupArn) ?? []),
    }));
    this.asgMock.on(DescribeAutoScalingGroupsCommand).callsFake((input: { AutoScalingGroupNames: string[] }) => ({
      AutoScalingGroups: input.AutoScalingGroupNames.filter((n) => this.groups.has(n)).map((n) => {
        const g = this.groups.get(n)!;
        const colour = COLOURS.find((c) => this.config.colours[c].autoScalingGroupName === n);
        const launchTemplate = colour ? { LaunchTemplateId: this.config.colours[colour].launchTemplateId, Version: g.launchTemplateVersion } : undefined;
        return { AutoScalingGroupName: n, MinSize: g.min, MaxSize: g.max, DesiredCapacity: g.desired, Instances: clone(g.instances), LaunchTemplate: launchTemplate };
      }),
    }));
    this.asgMock.on(UpdateAutoScalingGroupCommand).callsFake((input: { AutoScalingGroupName: string; MinSize?: number; MaxSize?: number; DesiredCapacity?: number; LaunchTemplate?: { Version?: string } }) => {
      const g = this.groups.get(input.AutoScalingGroupName)!;
      g.launchTemplateVersion = input.LaunchTemplate?.Version ?? g.launchTemplateVersion;
      g.min = input.MinSize ?? g.min;
      g.max = input.MaxSize ?? g.max;
      g.desired = input.DesiredCapacity ?? g.desired;
      return {};
    });
    this.ssmMock.on(GetParametersCommand).callsFake((input: { Names: string[] }) => ({
      Parameters: input.Names.filter((n) => this.params.has(n)).map((n) => ({ Name: n, Type: 'String', ...this.params.get(n) })),
      InvalidParameters: input.Names.filter((n) => !this.params.has(n)),
    }));
    this.installRoute53();
    this.dynamoMock.on(GetItemCommand).callsFake((input: { Key: Record<string, AttributeValue> }) => {
      const item = this.items.get(input.Key.pk?.S ?? '');
      return item ? { Item: clone(item) } : {};
    });
    // The lock table's conditional updates, as the handlers make them: conditions of `name = :value`
    // clauses joined by AND (names plain or `#alias`), then SET `name = :value` pairs and REMOVE names.
    this.dynamoMock.on(UpdateItemCommand).callsFake((input: {
      Key: Record<string, AttributeValue>; UpdateExpression: string; ConditionExpression?: string;
      ExpressionAttributeNames?: Record<string, string>; ExpressionAttributeValues?: Record<string, AttributeValue>;
    }) => {
      const key = input.Key.pk?.S ?? '';
      const item = this.items.get(key);
      const name = (n: string) => (n.startsWith('#') ? input.ExpressionAttributeNames![n] : n);
      const value = (v: string) => input.ExpressionAttributeValues![v];
      const clauses = (input.ConditionExpression ?? '').split(' AND ').filter(Boolean).map((c) => {
        const m = /^(#?\w+) = (:\w+)$/.exec(c.trim());
        if (!m) throw new Error(`FakeAws: UpdateItem condition '${input.ConditionExpression}' is not modelled: mock it in the test`);
        return [name(m[1]), value(m[2])] as const;
      });
      if (clauses.length > 0 && (!item || clauses.some(([n, v]) => JSON.stringify(item[n]) !== JSON.stringify(v)))) {
        throw new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {}, Item: item ? clone(item) : undefined });
      }
      const updated = item ?? { pk: { S: key } };
      const [setClause, removeClause] = input.UpdateExpression.split(/\bREMOVE\b/);
      for (const [, n, v] of setClause.matchAll(/(#?\w+) = (:\w+)/g)) updated[name(n)] = value(v);
      // REMOVE `name, ...` removes the attributes (DynamoDB developer guide, "Update expressions"); an absent one is left absent.
      for (const n of (removeClause ?? '').split(',').map((r) => r.trim()).filter(Boolean)) delete updated[name(n)];
      this.items.set(key, updated);
      return {};
    });
    this.dynamoMock.on(TransactWriteItemsCommand).callsFake((input: { TransactItems: Array<Record<string, any>> }) => {
      const reasons = input.TransactItems.map((t) => {
        const put = t.Put;
        if (put?.ConditionExpression) {
          // release-lock's result record: written unless it is this execution's already.
          if (put.ConditionExpression !== 'attribute_not_exists(#pk) OR executionId <> :me') throw new Error(`FakeAws: Put condition '${put.ConditionExpression}' is not modelled`);
          const existing = this.items.get(put.Item.pk.S);
          return existing && existing.executionId?.S === put.ExpressionAttributeValues[':me'].S ? { Code: 'ConditionalCheckFailed' } : { Code: 'None' };
        }
        const check = t.ConditionCheck;
        if (!check) return { Code: 'None' };
        const item = this.items.get(check.Key.pk.S);
        if (check.ConditionExpression !== '#owner = :me') throw new Error(`FakeAws: ConditionCheck '${check.ConditionExpression}' is not modelled`);
        return item?.owner?.S === check.ExpressionAttributeValues[':me'].S ? { Code: 'None' } : { Code: 'ConditionalCheckFailed', Item: item ? clone(item) : undefined };
      });
      if (reasons.some((r) => r.Code !== 'None')) {
        throw new TransactionCanceledException({ message: 'Transaction cancelled', $metadata: {}, CancellationReasons: reasons });
      }
      for (const t of input.TransactItems) if (t.Put) this.items.set(t.Put.Item.pk.S, clone(t.Put.Item));
      return {};
    });
    this.ec2Mock.on(DescribeLaunchTemplatesCommand).callsFake((input: { LaunchTemplateIds: string[] }) => ({
      LaunchTemplates: input.LaunchTemplateIds.filter((id) => this.launchTemplates.has(id)).map((id) => ({
        LaunchTemplateId: id, LatestVersionNumber: this.launchTemplates.get(id)!.latest, DefaultVersionNumber: this.launchTemplates.get(id)!.default,
      })),
    }));
    this.ec2Mock.on(DescribeInstancesCommand).callsFake((input: { InstanceIds: string[] }) => ({
      Reservations: [{ Instances: input.InstanceIds.map((id) => ({ InstanceId: id, LaunchTime: this.launchTimes.get(id) ?? new Date(LAUNCHED_AT) })) }],
    }));
    this.ec2Mock.on(ModifyLaunchTemplateCommand).callsFake((input: { LaunchTemplateId: string; DefaultVersion: string }) => {
      this.launchTemplates.get(input.LaunchTemplateId)!.default = Number(input.DefaultVersion);
      return {};
    });
    this.ssmMock.on(PutParameterCommand).callsFake((input: { Name: string; Value: string; DataType?: string }) => {
      const dataType = input.DataType ?? this.params.get(input.Name)?.DataType ?? 'text';
      if (dataType === 'aws:ec2:image' && this.rejectedImages.has(input.Value)) return { Version: 2 };
      this.params.set(input.Name, { Value: input.Value, DataType: dataType, LastModifiedDate: this.now() });
      return { Version: 2 };
    });
  }
}

/** A target group entry for an instance. */
export function target(id: string, state: `${TargetHealthStateEnum}`, reason?: `${TargetHealthReasonEnum}`): TargetHealthDescription {
  return {
    Target: { Id: id, Port: 80 },
    HealthCheckPort: '80',
    TargetHealth: { State: state, ...(reason ? { Reason: reason } : {}) },
  };
}
