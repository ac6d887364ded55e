import { Arn, ArnFormat, CustomResource, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { InitialCapacityProperties, PARAMETER_TAG_KEY, ParameterProperties } from './contract';
import { bundleDir } from './bundle-dir';
import { nagResource } from './nag-resource';

/**
 * The provider of the fleets' write-once custom resources (`Custom::BlueGreenParameter`,
 * `Custom::BlueGreenInitialCapacity`): one function per stack, shared by its fleets, each fleet
 * granting it its own parameters and groups.
 */
export class FleetResourcesProvider extends Construct {
  /** The stack's provider, created on first use. */
  public static of(scope: Construct): FleetResourcesProvider {
    const stack = Stack.of(scope);
    const id = 'BlueGreenFleetResources';
    return (stack.node.tryFindChild(id) as FleetResourcesProvider | undefined) ?? new FleetResourcesProvider(stack, id);
  }

  /** The provider function. */
  public readonly function: lambda.Function;
  /** Its role. */
  public readonly role: iam.Role;

  private constructor(scope: Construct, id: string) {
    super(scope, id);
    const stack = Stack.of(this);
    ({ role: this.role, fn: this.function } = providerFunction(this, {
      ids: { logs: 'Logs', role: 'Role', fn: 'Provider' },
      bundle: 'fleet-resources',
      roleDescription: 'Writes the blue/green fleets\' parameters once and sizes a new fleet once',
      description: 'Blue/green fleet resources: parameters written once, initial capacity applied once',
    }));
    // A Delete keeps a renamed parameter unless the stack itself is being deleted.
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['cloudformation:DescribeStacks'], resources: [stack.stackId] }));
    // Copying a parameter to a renamed prefix reads the old name, which the template no longer
    // names: any parameter, but only those the fleets tagged as theirs.
    const anyParameter = Arn.format({ service: 'ssm', resource: 'parameter', resourceName: '*' }, stack);
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['ssm:GetParameter'],
      resources: [anyParameter],
      conditions: { StringEquals: { [`ssm:resourceTag/${PARAMETER_TAG_KEY}`]: 'true' } },
    }));
    Validations.of(this.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${nagResource(stack, anyParameter)}]`,
      reason: 'Read-only, and only parameters tagged as a blue/green fleet\'s: a renamed parameterPrefix copies the value the old name holds, and the old name is no longer in the template.',
    });
  }

  /**
   * Lets the provider write (and tag) these parameters and read them back: one statement listing
   * the parameters of every fleet of the stack.
   */
  public grantParameters(parameterArns: string[], imageParameters: boolean): void {
    if (!this.parameterStatement) {
      this.parameterStatement = new iam.PolicyStatement({
        actions: ['ssm:GetParameter', 'ssm:PutParameter', 'ssm:DeleteParameter', 'ssm:AddTagsToResource'],
        resources: [],
      });
      this.role.addToPrincipalPolicy(this.parameterStatement);
    }
    this.parameterStatement.addResources(...parameterArns);
    if (imageParameters && !this.describesImages) {
      this.describesImages = true;
      // Writing an `aws:ec2:image` parameter needs ec2:DescribeImages (SSM PutParameter reference:
      // the value is checked to be an AMI available to the account).
      this.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['ec2:DescribeImages'], resources: ['*'] }));
      Validations.of(this.role).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'ec2:DescribeImages supports no resource-level permissions; SSM needs it to validate an aws:ec2:image parameter.',
      });
    }
  }

  private parameterStatement?: iam.PolicyStatement;
  private describesImages = false;

  /**
   * The first live colour's sizes, applied once to a new fleet. Its permissions are a policy of
   * their own, shared by the stack's fleets (one statement listing every fleet's groups): the
   * groups depend on the parameters, which depend on the role's default policy, so naming the
   * groups there would be a dependency cycle.
   */
  public initialCapacity(scope: Construct, id: string, properties: InitialCapacityProperties, groupNames: string[]): CustomResource {
    const stack = Stack.of(this);
    const arns = groupNames.map((name) => Arn.format({
      service: 'autoscaling',
      resource: 'autoScalingGroup',
      resourceName: `*:autoScalingGroupName/${name}`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    }, stack));
    if (!this.capacityPolicy) {
      this.capacityUpdate = new iam.PolicyStatement({ actions: ['autoscaling:UpdateAutoScalingGroup'], resources: [] });
      this.capacityPolicy = new iam.Policy(this, 'InitialCapacityPolicy', {
        roles: [this.role],
        statements: [
          new iam.PolicyStatement({ actions: ['autoscaling:DescribeAutoScalingGroups'], resources: ['*'] }),
          this.capacityUpdate,
        ],
      });
      Validations.of(this.capacityPolicy).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'autoscaling:DescribeAutoScalingGroups supports no resource-level permissions; the only mutating action is scoped to the fleets\' groups.',
      });
    }
    const policy = this.capacityPolicy;
    this.capacityUpdate!.addResources(...arns);
    for (const arn of arns) {
      Validations.of(policy).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${nagResource(stack, arn)}]`,
        reason: "Auto Scaling group ARNs start with a generated id; the wildcard stands for that id only, the group name is a fleet's.",
      });
    }
    const resource = this.resource(scope, id, 'Custom::BlueGreenInitialCapacity', { ...properties });
    resource.node.addDependency(policy);
    return resource;
  }

  private capacityPolicy?: iam.Policy;
  private capacityUpdate?: iam.PolicyStatement;

  /** A parameter written once (see {@link ParameterProperties}). */
  public parameter(scope: Construct, id: string, properties: ParameterProperties): CustomResource {
    return this.resource(scope, id, 'Custom::BlueGreenParameter', { ...properties });
  }

  private resource(scope: Construct, id: string, resourceType: string, properties: Record<string, unknown>): CustomResource {
    const resource = new CustomResource(scope, id, { serviceToken: this.function.functionArn, resourceType, properties });
    // The policies must be in place before the provider runs, and still there when it deletes.
    resource.node.addDependency(this.role);
    return resource;
  }
}

/**
 * A custom-resource provider function: its log group, a role of its own that may write it, and
 * the function running a pre-built handler bundle.
 */
export function providerFunction(scope: Construct, props: {
  readonly ids: { readonly logs: string; readonly role: string; readonly fn: string };
  readonly bundle: string;
  readonly roleDescription: string;
  readonly description: string;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** Removal policy of the log group. @default RemovalPolicy.DESTROY */
  readonly removalPolicy?: RemovalPolicy;
}): { readonly fn: lambda.Function; readonly role: iam.Role } {
  const logGroup = new logs.LogGroup(scope, props.ids.logs, {
    retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
    removalPolicy: props.removalPolicy ?? RemovalPolicy.DESTROY,
  });
  const role = new iam.Role(scope, props.ids.role, { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'), description: props.roleDescription });
  const fn = new lambda.Function(scope, props.ids.fn, {
    runtime: lambda.Runtime.NODEJS_24_X,
    architecture: lambda.Architecture.ARM_64,
    handler: 'index.handler',
    code: lambda.Code.fromAsset(bundleDir(props.bundle)),
    memorySize: 256,
    timeout: Duration.minutes(2),
    role,
    logGroup,
    description: props.description,
    environment: { POWERTOOLS_SERVICE_NAME: `blue-green-${props.bundle}` },
  });
  grantLogWriting(role, logGroup);
  return { fn, role };
}

/**
 * Lets a function's role write its own log group. A role passed to `lambda.Function` gets no
 * basic execution policy from CDK, and without these two actions Lambda drops every log line
 * (Lambda developer guide, "Sending Lambda function logs to CloudWatch Logs": the execution role
 * needs logs:CreateLogStream and logs:PutLogEvents).
 */
export function grantLogWriting(role: iam.IRole, logGroup: logs.LogGroup): void {
  role.addToPrincipalPolicy(new iam.PolicyStatement({
    actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
    resources: [logGroup.logGroupArn],
  }));
  Validations.of(role).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::<' + Stack.of(logGroup).getLogicalId(logGroup.node.defaultChild as logs.CfnLogGroup) + '.Arn>:*]',
    reason: 'Writes log streams of its own log group only; stream names are not known in advance.',
  });
}
