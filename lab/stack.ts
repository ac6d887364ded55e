import { CloudFormationClient, CreateStackCommand, DescribeStacksCommand, ListStackResourcesCommand, UpdateStackCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, PutMetricAlarmCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeImagesCommand, DescribeVpcsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { DescribeLoadBalancersCommand, ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { Route53Client } from '@aws-sdk/client-route-53';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { CustomResourceRunner } from './custom-resources';

export const ACCOUNT = '123456789012';
export const REGION = 'us-east-1';

/**
 * Resource types moto's CloudFormation deploys faithfully. Everything else in the synthesized
 * template is handled by the lab itself: alarms are created with PutMetricAlarm, the
 * create-only parameter custom resources run their `Create` SDK call against moto, the
 * weighted-records custom resource runs its real provider bundle (a {@link CustomResourceRunner}),
 * and the Lambda functions and state machine run locally (aws-local-stepfunctions + the real bundles).
 */
const DEPLOYED_BY_CLOUDFORMATION = [
  /^AWS::EC2::(VPC|Subnet|RouteTable|SubnetRouteTableAssociation|Route|InternetGateway|VPCGatewayAttachment|EIP|NatGateway|SecurityGroup|SecurityGroupIngress|SecurityGroupEgress|LaunchTemplate)$/,
  /^AWS::ElasticLoadBalancingV2::/,
  /^AWS::AutoScaling::AutoScalingGroup$/,
  /^AWS::IAM::(Role|InstanceProfile|Policy)$/,
  /^AWS::DynamoDB::Table$/,
  // A fleet's notification topic and its key (`notifications`): the lab publishes the rule's
  // messages to the topic in moto.
  /^AWS::KMS::Key$/,
  /^AWS::SNS::Topic$/,
];

export interface Clients {
  readonly cfn: CloudFormationClient;
  readonly cloudWatch: CloudWatchClient;
  readonly dynamoDb: DynamoDBClient;
  readonly ec2: EC2Client;
  readonly elbv2: ElasticLoadBalancingV2Client;
  readonly route53: Route53Client;
  readonly ssm: SSMClient;
}

export function clientsFor(endpoint: string): Clients {
  const config = { endpoint, region: REGION, credentials: { accessKeyId: 'lab', secretAccessKey: 'lab' } };
  return {
    cfn: new CloudFormationClient(config),
    cloudWatch: new CloudWatchClient(config),
    dynamoDb: new DynamoDBClient(config),
    ec2: new EC2Client(config),
    elbv2: new ElasticLoadBalancingV2Client(config),
    route53: new Route53Client(config),
    ssm: new SSMClient(config),
  };
}

/** The part of the template moto's CloudFormation deploys, with its references kept intact. */
export function deployableTemplate(template: any, imageId: string): any {
  const resources: Record<string, any> = JSON.parse(JSON.stringify(template.Resources));
  const keep = new Set(Object.keys(resources).filter((id) => DEPLOYED_BY_CLOUDFORMATION.some((re) => re.test(resources[id].Type))));
  // Drop, until nothing changes, every kept resource that references a dropped one.
  let changed = true;
  while (changed) {
    changed = false;
    for (const id of [...keep]) {
      const refs = referencedIds(resources[id].Properties);
      if (refs.some((r) => resources[r] && !keep.has(r))) {
        keep.delete(id);
        changed = true;
      }
    }
  }
  const out: Record<string, any> = {};
  for (const id of keep) {
    const r = { ...resources[id] };
    if (r.DependsOn) {
      const deps = [].concat(r.DependsOn).filter((d: string) => keep.has(d));
      if (deps.length) r.DependsOn = deps; else delete r.DependsOn;
    }
    delete r.Metadata;
    out[id] = r;
  }
  // The SSM-typed image parameters become plain strings holding an image moto knows.
  const parameters: Record<string, any> = {};
  for (const [name, p] of Object.entries<any>(template.Parameters ?? {})) {
    if (name === 'BootstrapVersion') continue;
    parameters[name] = String(p.Type).includes('Image::Id') ? { Type: 'String', Default: imageId } : p;
  }
  return { AWSTemplateFormatVersion: '2010-09-09', Parameters: parameters, Resources: out };
}

function referencedIds(value: any): string[] {
  const found: string[] = [];
  const walk = (v: any) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      if (typeof v.Ref === 'string') found.push(v.Ref);
      if (Array.isArray(v['Fn::GetAtt'])) found.push(v['Fn::GetAtt'][0]);
      Object.values(v).forEach(walk);
    }
  };
  walk(value);
  return found;
}

/** An image id moto serves. */
export async function anyImageId(clients: Clients): Promise<string> {
  const images = await clients.ec2.send(new DescribeImagesCommand({}));
  const id = images.Images?.find((i) => i.ImageId?.startsWith('ami-'))?.ImageId;
  if (!id) throw new Error('moto serves no images');
  return id;
}

/**
 * Resolves CloudFormation intrinsic functions against what the lab deployed: physical ids from
 * the stack, attributes read back from moto, and names the lab gave to what it created itself.
 */
export class Resolver {
  constructor(
    private readonly template: any,
    private readonly physical: Record<string, string>,
    private readonly attributes: Record<string, Record<string, string>>,
    private readonly parameters: Record<string, string>,
    private readonly stackId = `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/BlueGreenExample/lab`,
  ) {}

  public resolve(value: any): any {
    if (Array.isArray(value)) return value.map((v) => this.resolve(v));
    if (!value || typeof value !== 'object') return value;
    const keys = Object.keys(value);
    if (keys.length === 1) {
      const [k] = keys;
      const arg = value[k];
      switch (k) {
        case 'Ref': return this.ref(arg);
        case 'Fn::GetAtt': return this.getAtt(arg[0], arg[1]);
        case 'Fn::Join': return this.resolve(arg[1]).join(arg[0]);
        case 'Fn::Select': return this.resolve(arg[1])[Number(this.resolve(arg[0]))];
        case 'Fn::Split': return String(this.resolve(arg[1])).split(arg[0]);
        case 'Fn::Sub': return this.sub(arg);
        case 'Fn::GetAZs': return [`${REGION}a`, `${REGION}b`];
        default: break;
      }
    }
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.resolve(v)]));
  }

  private ref(name: string): string {
    const pseudo: Record<string, string> = {
      'AWS::Partition': 'aws', 'AWS::Region': REGION, 'AWS::AccountId': ACCOUNT, 'AWS::URLSuffix': 'amazonaws.com',
      'AWS::StackName': 'BlueGreenExample', 'AWS::StackId': this.stackId, 'AWS::NoValue': '',
    };
    if (name in pseudo) return pseudo[name];
    if (name in this.parameters) return this.parameters[name];
    if (name in this.physical) return this.physical[name];
    throw new Error(`the lab cannot resolve Ref ${name} (${this.template.Resources[name]?.Type ?? 'unknown'})`);
  }

  private getAtt(id: string, attribute: string): string {
    const value = this.attributes[id]?.[attribute];
    if (value === undefined) throw new Error(`the lab cannot resolve Fn::GetAtt ${id}.${attribute} (${this.template.Resources[id]?.Type ?? 'unknown'})`);
    return value;
  }

  private sub(arg: any): string {
    const [text, vars] = Array.isArray(arg) ? arg : [arg, {}];
    return String(text).replace(/\$\{([^}]+)\}/g, (_: string, name: string) => {
      if (name in vars) return this.resolve(vars[name]);
      if (name.includes('.')) { const [id, att] = name.split('.'); return this.getAtt(id, att); }
      return this.ref(name);
    });
  }
}

/** What {@link deployStack} leaves behind. */
export interface DeployedStack {
  readonly stackName: string;
  /** The synthesized template deployed. */
  readonly template: any;
  readonly resolver: Resolver;
  readonly physical: Record<string, string>;
  /** Logical id of each alarm → the name the lab gave it. */
  readonly alarmNames: Record<string, string>;
  /** Logical id of each provider-backed custom resource → its resolved properties and physical id. */
  readonly customResources: Record<string, { properties: Record<string, unknown>; physicalId: string }>;
}

/**
 * What EC2 checks and moto does not: a launch template whose image is `resolve:ssm:NAME` can only
 * launch if NAME exists with the data type `aws:ec2:image` (EC2 Auto Scaling user guide, "Use AWS
 * Systems Manager parameters instead of AMI IDs in launch templates": otherwise the launch fails
 * with `SsmInvalidParameter: Unsupported data type`). The lab fails the deploy as EC2 would fail
 * the first launch.
 */
async function checkImageParameters(clients: Clients, template: any, resolver: Resolver): Promise<void> {
  for (const [id, r] of Object.entries<any>(template.Resources)) {
    if (r.Type !== 'AWS::EC2::LaunchTemplate') continue;
    const image = String(resolver.resolve(r.Properties.LaunchTemplateData?.ImageId ?? ''));
    if (!image.startsWith('resolve:ssm:')) continue;
    const name = image.slice('resolve:ssm:'.length);
    let dataType: string | undefined;
    try {
      dataType = (await clients.ssm.send(new GetParameterCommand({ Name: name }))).Parameter?.DataType;
    } catch (e) {
      throw new Error(`launch template ${id} resolves its image from ${name}, which does not exist: EC2 could not launch from it (${(e as Error).name})`);
    }
    if (dataType !== 'aws:ec2:image') {
      throw new Error(`launch template ${id} resolves its image from ${name}, whose data type is '${dataType}': EC2 answers SsmInvalidParameter (Unsupported data type); it must be 'aws:ec2:image'`);
    }
  }
}

/** Custom resource types whose real provider the lab runs (see {@link CustomResourceRunner}). */
const PROVIDER_BACKED = ['Custom::BlueGreenParameter', 'Custom::BlueGreenInitialCapacity', 'Custom::BlueGreenDnsRecords'];

async function waitForStack(cfn: CloudFormationClient, stackName: string, done: RegExp): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const s = (await cfn.send(new DescribeStacksCommand({ StackName: stackName }))).Stacks?.[0];
    if (s?.StackStatus && done.test(s.StackStatus)) return;
    if (s?.StackStatus && /FAILED|ROLLBACK/.test(s.StackStatus)) throw new Error(`stack ${stackName} is ${s.StackStatus}: ${s.StackStatusReason ?? ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`stack ${stackName} did not finish in 120 s`);
}

/**
 * Deploys the synthesized template into moto: CloudFormation for the fleet's resources, then the
 * parts moto's CloudFormation cannot run (alarms, the parameter custom resources) through the API.
 */
export async function deployStack(clients: Clients, template: any, providers: CustomResourceRunner, stackName = 'BlueGreenExample'): Promise<DeployedStack> {
  const imageId = await anyImageId(clients);
  const deployable = deployableTemplate(template, imageId);
  await clients.cfn.send(new CreateStackCommand({ StackName: stackName, TemplateBody: JSON.stringify(deployable), Capabilities: ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM'] }));
  await waitForStack(clients.cfn, stackName, /^CREATE_COMPLETE$/);
  return readStack(clients, template, stackName, imageId, providers, undefined);
}

/**
 * Updates the stack, then re-reads it (physical ids may change when moto replaces a resource).
 * Provider-backed custom resources whose properties changed get an Update request.
 */
export async function updateStack(clients: Clients, template: any, deployed: DeployedStack, providers: CustomResourceRunner): Promise<DeployedStack> {
  const imageId = await anyImageId(clients);
  await clients.cfn.send(new UpdateStackCommand({ StackName: deployed.stackName, TemplateBody: JSON.stringify(deployableTemplate(template, imageId)), Capabilities: ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM'] }));
  await waitForStack(clients.cfn, deployed.stackName, /^UPDATE_COMPLETE$/);
  return readStack(clients, template, deployed.stackName, imageId, providers, deployed);
}

async function readStack(clients: Clients, template: any, stackName: string, imageId: string, providers: CustomResourceRunner, previous: DeployedStack | undefined): Promise<DeployedStack> {
  const existingAlarms = previous?.alarmNames;
  const physical: Record<string, string> = {};
  let token: string | undefined;
  do {
    const page = await clients.cfn.send(new ListStackResourcesCommand({ StackName: stackName, NextToken: token }));
    for (const r of page.StackResourceSummaries ?? []) if (r.LogicalResourceId && r.PhysicalResourceId) physical[r.LogicalResourceId] = r.PhysicalResourceId;
    token = page.NextToken;
  } while (token);

  const attributes: Record<string, Record<string, string>> = {};
  const resources: Record<string, any> = template.Resources;
  for (const [id, r] of Object.entries<any>(resources)) {
    const arn = physical[id];
    switch (r.Type) {
      case 'AWS::ElasticLoadBalancingV2::LoadBalancer': {
        const lb = (await clients.elbv2.send(new DescribeLoadBalancersCommand({ LoadBalancerArns: [arn] }))).LoadBalancers![0];
        attributes[id] = { DNSName: lb.DNSName!, LoadBalancerFullName: arn.split(':loadbalancer/')[1], CanonicalHostedZoneID: lb.CanonicalHostedZoneId ?? '' };
        break;
      }
      case 'AWS::ElasticLoadBalancingV2::TargetGroup':
        attributes[id] = { TargetGroupFullName: arn.split(':')[5], TargetGroupArn: arn };
        break;
      case 'AWS::DynamoDB::Table':
        attributes[id] = { Arn: (await clients.dynamoDb.send(new DescribeTableCommand({ TableName: arn }))).Table!.TableArn! };
        break;
      case 'AWS::EC2::VPC':
        attributes[id] = { CidrBlock: (await clients.ec2.send(new DescribeVpcsCommand({ VpcIds: [arn] }))).Vpcs![0].CidrBlock! };
        break;
      case 'AWS::EC2::SecurityGroup':
        attributes[id] = { GroupId: arn };
        break;
      case 'AWS::KMS::Key':
        // Ref is the key id, Fn::GetAtt Arn its ARN (CloudFormation reference, AWS::KMS::Key, Return values).
        attributes[id] = { Arn: arn.startsWith('arn:') ? arn : `arn:aws:kms:${REGION}:${ACCOUNT}:key/${arn}`, KeyId: arn.split('/').pop()! };
        break;
      case 'AWS::IAM::Role':
        attributes[id] = { Arn: `arn:aws:iam::${ACCOUNT}:role/${arn}` };
        break;
      case 'AWS::Lambda::Function':
        physical[id] = `lab-${id}`;
        attributes[id] = { Arn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:lab-${id}` };
        break;
      case 'AWS::Logs::LogGroup':
        physical[id] = `lab-${id}`;
        attributes[id] = { Arn: `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:lab-${id}:*` };
        break;
      case 'AWS::StepFunctions::StateMachine':
        physical[id] = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:lab-${id}`;
        attributes[id] = { Name: `lab-${id}`, Arn: physical[id] };
        break;
      case 'Custom::BlueGreenParameter':
      case 'Custom::BlueGreenInitialCapacity':
      case 'Custom::BlueGreenDnsRecords':
        if (previous?.customResources[id]) physical[id] = previous.customResources[id].physicalId;
        break;
      default:
        break;
    }
  }
  const alarmNames: Record<string, string> = existingAlarms ?? {};
  for (const [id, r] of Object.entries<any>(resources)) {
    if (r.Type === 'AWS::CloudWatch::Alarm') {
      alarmNames[id] ??= `${stackName}-${id}`;
      physical[id] = alarmNames[id];
      attributes[id] = { Arn: `arn:aws:cloudwatch:${REGION}:${ACCOUNT}:alarm:${alarmNames[id]}` };
    }
  }
  const parameters: Record<string, string> = {};
  for (const [name, p] of Object.entries<any>(template.Parameters ?? {})) parameters[name] = String(p.Type).includes('Image::Id') ? imageId : p.Default;
  const stackId = (await clients.cfn.send(new DescribeStacksCommand({ StackName: stackName }))).Stacks![0].StackId!;
  const resolver = new Resolver(template, physical, attributes, parameters, stackId);

  if (!existingAlarms) {
    for (const [id, r] of Object.entries<any>(resources)) {
      if (r.Type === 'AWS::CloudWatch::Alarm') {
        const p = resolver.resolve(r.Properties);
        await clients.cloudWatch.send(new PutMetricAlarmCommand({ ...p, AlarmName: alarmNames[id] }));
      }
    }
  }
  // Provider-backed custom resources: Create on the first deploy, Update when their properties changed.
  const customResources: DeployedStack['customResources'] = {};
  providers.stackId = stackId;
  // In dependency order as CloudFormation would run them: the parameters before the initial
  // capacity (its instances resolve their image at launch), the records last.
  const providerBacked = Object.entries<any>(resources)
    .filter(([, r]) => PROVIDER_BACKED.includes(r.Type))
    .sort(([, a], [, b]) => PROVIDER_BACKED.indexOf(a.Type) - PROVIDER_BACKED.indexOf(b.Type));
  for (const [id, r] of providerBacked) {
    const { ServiceToken: _token, ...properties } = resolver.resolve(r.Properties ?? {});
    const before = previous?.customResources[id];
    if (before && JSON.stringify(before.properties) === JSON.stringify(properties)) {
      customResources[id] = before;
      continue;
    }
    // The provider is the function the ServiceToken names (its role is what the lab's IAM gate checks).
    const functionId = r.Properties?.ServiceToken?.['Fn::GetAtt']?.[0];
    if (resources[functionId]?.Type !== 'AWS::Lambda::Function') throw new Error(`the lab cannot find the provider function of ${id}: its ServiceToken is not Fn::GetAtt of a function`);
    // The provider's permissions as CloudFormation leaves them at each request. Policies this
    // update creates or changes are in place before the resource that depends on them is updated;
    // policies it removes are deleted only during cleanup, so they still apply to the Update. The
    // cleanup Delete of a replaced resource gets only the new template's: the lab assumes no order
    // among cleanup deletions.
    const removedPolicies = before && previous
      ? Object.fromEntries(Object.entries<any>(previous.template.Resources).filter(([pid, pr]) => pr.Type === 'AWS::IAM::Policy' && !(pid in resources)))
      : {};
    const duringUpdate = { ...template, Resources: { ...resources, ...removedPolicies } };
    const binding = (t: any) => ({ functionId, template: t, resolve: (v: any) => resolver.resolve(v), physical });
    const response = await providers.run(before
      ? { RequestType: 'Update', LogicalResourceId: id, ResourceType: r.Type, ResourceProperties: properties, OldResourceProperties: before.properties, PhysicalResourceId: before.physicalId }
      : { RequestType: 'Create', LogicalResourceId: id, ResourceType: r.Type, ResourceProperties: properties }, binding(duringUpdate));
    if (before && before.physicalId !== response.PhysicalResourceId) {
      // A new physical id is a replacement: CloudFormation deletes the old resource in cleanup.
      await providers.run({ RequestType: 'Delete', LogicalResourceId: id, ResourceType: r.Type, ResourceProperties: before.properties, PhysicalResourceId: before.physicalId }, binding(template));
    }
    physical[id] = response.PhysicalResourceId;
    customResources[id] = { properties, physicalId: response.PhysicalResourceId };
  }
  await checkImageParameters(clients, template, resolver);
  return { stackName, template, resolver, physical, alarmNames, customResources };
}
