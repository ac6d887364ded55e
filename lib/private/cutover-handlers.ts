import { Duration, Names, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { HandlerName } from './contract';
import { HandlerGrants } from './handler-specs';
import { bundleDir } from './bundle-dir';
import { nagResource } from './nag-resource';
import { grantLogWriting } from './fleet-resources';
import { DEFAULTS, TASK_TIMEOUT_SECONDS } from './validation';

/**
 * The cutover handler functions of a stack, shared by all its fleets: one function, role and log
 * group per handler and timeout. A fleet's configuration travels in its state machine's payload,
 * never in a function's environment, so nothing of a function belongs to one fleet; each fleet's
 * workflow grants the shared roles its own resources as the handler specs say (`handler-specs.ts`;
 * statements merged per action group, so a role's policy grows by ARNs, not by statements, with
 * each fleet).
 *
 * Functions are shared by fleets that need the same timeout: the Route 53 variants of "shift",
 * "roll-back" and "recover" (which wait for INSYNC) are functions of their own, and the smoke-test
 * function, which runs in a VPC, is one per VPC and timeout (its timeout follows the fleet's smoke
 * budget). Every fleet's task timeouts and state machine timeout therefore stay exactly what its
 * own settings give.
 *
 * The log groups follow the most retaining settings of the stack's fleets: the longest
 * `logRetention`, and `RemovalPolicy.RETAIN` over `RETAIN_ON_UPDATE_OR_DELETE` over `DESTROY`.
 */
export class CutoverHandlers extends Construct {
  /** The stack's handlers, created on first use. */
  public static of(scope: Construct): CutoverHandlers {
    const stack = Stack.of(scope);
    const id = 'BlueGreenCutoverHandlers';
    return (stack.node.tryFindChild(id) as CutoverHandlers | undefined) ?? new CutoverHandlers(stack, id);
  }

  private readonly fns = new Map<string, lambda.Function>();
  private readonly logGroups: logs.LogGroup[] = [];
  private readonly smokeGroups = new Map<string, ec2.SecurityGroup>();
  private readonly statements = new Map<string, { statement: iam.PolicyStatement; resources: Set<string> }>();
  private readonly conditionValues = new Map<string, string[]>();
  private readonly acknowledged = new Set<string>();
  private retention?: logs.RetentionDays;
  private removalPolicy?: RemovalPolicy;
  private describeExecutions?: iam.Policy;

  private constructor(scope: Construct, id: string) {
    super(scope, id);
  }

  /**
   * The function of handler `name` with this timeout (and, for the smoke tests, this VPC and
   * security group), created on first use.
   */
  public function(name: HandlerName, timeoutSeconds: number, vpc?: ec2.IVpc): lambda.Function {
    const smoke = vpc !== undefined;
    // Ids: `Shift` (the usual timeout), `ShiftT300` (another), `SmokeTest<vpc>T66`.
    const id = pascal(name) + (smoke ? `${Names.uniqueId(vpc)}T${timeoutSeconds}` : (timeoutSeconds === TASK_TIMEOUT_SECONDS ? '' : `T${timeoutSeconds}`));
    const existing = this.fns.get(id);
    if (existing) return existing;
    const logGroup = new logs.LogGroup(this, `${id}Logs`, {
      retention: this.retention ?? DEFAULTS.logRetention,
      removalPolicy: this.removalPolicy ?? DEFAULTS.removalPolicy,
    });
    this.logGroups.push(logGroup);
    const role = new iam.Role(this, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Cutover handler '${name}' of the blue/green fleets of ${Stack.of(this).stackName}`,
    });
    const fn = new lambda.Function(this, id, {
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      handler: 'index.handler',
      code: lambda.Code.fromAsset(bundleDir(name)),
      memorySize: 256,
      timeout: Duration.seconds(timeoutSeconds),
      role,
      logGroup,
      description: `Blue/green cutover: ${name}`,
      environment: { POWERTOOLS_SERVICE_NAME: 'blue-green-cutover' },
      ...(smoke ? { vpc, vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }, securityGroups: [this.smokeSecurityGroup(vpc)] } : {}),
    });
    grantLogWriting(role, logGroup);
    if (smoke) {
      // Lambda in a VPC manages its own network interfaces: scoped to this account and region.
      this.allow(fn, ['ec2:DescribeNetworkInterfaces'], ['*'], undefined);
      this.acknowledge(role, 'AwsSolutions-IAM5[Resource::*]', 'ec2:DescribeNetworkInterfaces supports no resource-level permissions; the smoke tests mutate nothing of a fleet.');
      const ec2Resources = Stack.of(this).formatArn({ service: 'ec2', resource: '*', resourceName: '*' });
      this.allow(fn, ['ec2:CreateNetworkInterface', 'ec2:DeleteNetworkInterface', 'ec2:AssignPrivateIpAddresses', 'ec2:UnassignPrivateIpAddresses'], [ec2Resources]);
      this.acknowledge(role, `AwsSolutions-IAM5[Resource::${nagResource(Stack.of(this), ec2Resources)}]`,
        'A Lambda function in a VPC creates and deletes its own network interfaces, whose ids are not known in advance; it mutates nothing of the fleet.');
    }
    this.fns.set(id, fn);
    return fn;
  }

  /**
   * The security group of the smoke-test functions in `vpc`: each fleet lets it reach its own
   * test listener (see {@link CutoverWorkflow}).
   */
  public smokeSecurityGroup(vpc: ec2.IVpc): ec2.SecurityGroup {
    const id = `SmokeTestSecurityGroup${Names.uniqueId(vpc)}`;
    let sg = this.smokeGroups.get(id);
    if (!sg) {
      sg = new ec2.SecurityGroup(this, id, {
        vpc,
        description: 'Blue/green smoke tests: reach the test listeners of the fleets from inside the VPC',
        allowAllOutbound: false,
      });
      sg.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'AWS APIs (EC2 DescribeNetworkInterfaces)');
      this.smokeGroups.set(id, sg);
    }
    return sg;
  }

  /**
   * Allows `actions` on `resources` to `fn`'s role, merged into one statement per role, actions
   * and conditions: each further fleet adds its ARNs to the statement, not a statement.
   */
  public allow(fn: lambda.IFunction, actions: string[], resources: string[], conditions?: Record<string, Record<string, unknown>>): void {
    const role = fn.role!;
    const key = `${Names.uniqueId(role)}|${[...actions].sort().join(',')}|${conditions ? JSON.stringify(conditions) : ''}`;
    let entry = this.statements.get(key);
    if (!entry) {
      entry = { statement: new iam.PolicyStatement({ actions, resources: [], ...(conditions ? { conditions } : {}) }), resources: new Set() };
      this.statements.set(key, entry);
      role.addToPrincipalPolicy(entry.statement);
    }
    for (const r of resources) {
      if (entry.resources.has(r)) continue;
      entry.resources.add(r);
      entry.statement.addResources(r);
    }
  }

  /** What a handler spec grants with (`HandlerSpec.grants` in handler-specs.ts), bound to `fn`'s role. */
  public grants(fn: lambda.Function): HandlerGrants {
    return {
      allow: (actions, resources, conditions) => this.allow(fn, actions, resources, conditions),
      allowWithListedCondition: (actions, resources, operator, conditionKey, values) => this.allowWithListedCondition(fn, actions, resources, operator, conditionKey, values),
      allowDescribeExecutions: (executionsArn, ackId) => this.allowDescribeExecutions(fn, executionsArn, ackId),
      acknowledge: (id, reason) => this.acknowledge(fn.role!, id, reason),
    };
  }

  /**
   * Like {@link allow}, for a statement whose condition lists every fleet's values (such as the
   * launch templates a launch may use): one statement, its condition values growing per fleet.
   */
  public allowWithListedCondition(fn: lambda.IFunction, actions: string[], resources: string[], operator: string, conditionKey: string, values: string[]): void {
    const key = `${Names.uniqueId(fn.role!)}|${[...actions].sort().join(',')}|${operator}:${conditionKey}`;
    let listed = this.conditionValues.get(key);
    if (!listed) {
      listed = [];
      this.conditionValues.set(key, listed);
      const statement = new iam.PolicyStatement({ actions, resources });
      this.statements.set(key, { statement, resources: new Set(resources) });
      fn.role!.addToPrincipalPolicy(statement);
    }
    for (const v of values) if (!listed.includes(v)) listed.push(v);
    this.statements.get(key)!.statement.addCondition(operator, { [conditionKey]: [...listed] });
  }

  /**
   * Lets the start function describe the executions of a fleet's state machine: a policy of its
   * own, shared by the fleets (the function's default policy may not name a state machine, which
   * depends on the function).
   */
  public allowDescribeExecutions(start: lambda.IFunction, executionsArn: string, ackId: string): void {
    if (!this.describeExecutions) {
      this.describeExecutions = new iam.Policy(this, 'StartDescribeExecutions', { roles: [start.role!] });
    }
    const policy = this.describeExecutions;
    policy.attachToRole(start.role!);
    const key = `describe-executions|${Names.uniqueId(start.role!)}`;
    let entry = this.statements.get(key);
    if (!entry) {
      entry = { statement: new iam.PolicyStatement({ actions: ['states:DescribeExecution'], resources: [] }), resources: new Set() };
      this.statements.set(key, entry);
      policy.addStatements(entry.statement);
    }
    if (!entry.resources.has(executionsArn)) {
      entry.resources.add(executionsArn);
      entry.statement.addResources(executionsArn);
    }
    this.acknowledge(policy, ackId, 'DescribeExecution of the fleets\' state machines\' executions only: their names are chosen when they start.');
  }

  /**
   * The role of the stack's cutover state machines: they invoke the shared handler functions
   * (and each fleet's pre-traffic hook), trace and log.
   */
  public stateMachineRole(): iam.Role {
    this.machineRole ??= new iam.Role(this, 'StateMachineRole', {
      assumedBy: new iam.ServicePrincipal('states.amazonaws.com'),
      description: `Blue/green cutover state machines of ${Stack.of(this).stackName}`,
    });
    return this.machineRole;
  }

  private machineRole?: iam.Role;

  /** A cdk-nag acknowledgement, recorded once per construct and id. */
  public acknowledge(scope: Construct, id: string, reason: string): void {
    const key = `${scope.node.addr}|${id}`;
    if (this.acknowledged.has(key)) return;
    this.acknowledged.add(key);
    Validations.of(scope).acknowledge({ id, reason });
  }

  /**
   * A fleet's log settings: the handlers' log groups keep the longest retention and the most
   * retaining removal policy any fleet of the stack asks for.
   */
  public applyLogSettings(retention: logs.RetentionDays, removalPolicy: RemovalPolicy): void {
    if (this.retention === undefined || retentionRank(retention) > retentionRank(this.retention)) this.retention = retention;
    if (this.removalPolicy === undefined || REMOVAL_RANK.indexOf(removalPolicy) > REMOVAL_RANK.indexOf(this.removalPolicy)) this.removalPolicy = removalPolicy;
    for (const g of this.logGroups) this.applyTo(g);
  }

  /** The log settings in force (after every fleet's {@link applyLogSettings}). */
  public get logSettings(): { readonly retention: logs.RetentionDays; readonly removalPolicy: RemovalPolicy } {
    return { retention: this.retention ?? DEFAULTS.logRetention, removalPolicy: this.removalPolicy ?? DEFAULTS.removalPolicy };
  }

  private applyTo(group: logs.LogGroup): void {
    const cfn = group.node.defaultChild as logs.CfnLogGroup;
    const { retention, removalPolicy } = this.logSettings;
    cfn.retentionInDays = retention === logs.RetentionDays.INFINITE ? undefined : retention;
    group.applyRemovalPolicy(removalPolicy);
  }
}

/** Removal policies from least to most retaining. */
const REMOVAL_RANK = [RemovalPolicy.DESTROY, RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE, RemovalPolicy.RETAIN];

function retentionRank(r: logs.RetentionDays): number {
  return r === logs.RetentionDays.INFINITE ? Number.MAX_SAFE_INTEGER : r;
}

function pascal(name: string): string {
  return name.split('-').map((p) => p[0].toUpperCase() + p.slice(1)).join('');
}
