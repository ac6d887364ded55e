import { Arn, Stack } from 'aws-cdk-lib';
import { HandlerName, HISTORY_INDEX_NAME, TRAFFIC_WEIGHT_METRIC } from './contract';
import { nagResource } from './nag-resource';
import { DNS_TASK_TIMEOUT_SECONDS, smokeFunctionTimeoutSeconds, TASK_TIMEOUT_SECONDS } from './validation';

/**
 * Which timeout a handler's function gets: the ordinary task timeout; with Route 53 switching the
 * longer one of the handlers that wait until a record change is INSYNC (`route53`); or the one
 * that follows the fleet's smoke budget (`smoke`).
 */
export type HandlerTimeoutKind = 'task' | 'route53' | 'smoke';

/** A fleet's Route 53 records, as a handler's grants name them. */
export interface GrantDnsContext {
  /** The records' hosted zone. */
  readonly zoneArn: string;
  /** The records' normalized name. */
  readonly recordName: string;
  /** The records' type. */
  readonly recordType: string;
}

/** The resources of one fleet a handler's grants name. */
export interface GrantContext {
  readonly stack: Stack;
  /** The fleet's two Auto Scaling groups: ARNs whose generated id is a wildcard. */
  readonly groupArns: string[];
  /** The fleet's release parameters (image and version, both colours). */
  readonly parameterArns: string[];
  /** The fleet's lock table. */
  readonly tableArn: string;
  /** The fleet's two launch templates. */
  readonly launchTemplateArns: string[];
  /** The role the fleet's instances launch with. */
  readonly instanceRoleArn: string;
  /** The production catch-all rule (listener-rule switch only). */
  readonly productionRuleArn?: string;
  /** The test catch-all rule (listener-rule switch only). */
  readonly testRuleArn?: string;
  /** The fleet's records (Route 53 switch only). */
  readonly dns?: GrantDnsContext;
  /**
   * The fleet's notification topic (fleets with `notifications`): a handler that publishes to it
   * needs `sns:Publish` on it, and with `notificationKeyArn` `kms:GenerateDataKey*` and `kms:Decrypt` on that key.
   */
  readonly notificationTopicArn?: string;
  /** The KMS key of the notification topic, when it is encrypted with a key of this app. */
  readonly notificationKeyArn?: string;
}

/** What a fleet's state machine adds to the context once it exists. */
export interface MachineGrantContext {
  readonly stack: Stack;
  /** The ARNs of the executions of the fleet's state machine. */
  readonly executionsArn: string;
}

/**
 * What a spec grants with, bound to one handler's role (see `CutoverHandlers.grants`): one
 * statement per action group and conditions, each fleet adding its resources to it.
 */
export interface HandlerGrants {
  allow(actions: string[], resources: string[], conditions?: Record<string, Record<string, unknown>>): void;
  /** One statement whose condition lists every fleet's values. */
  allowWithListedCondition(actions: string[], resources: string[], operator: string, conditionKey: string, values: string[]): void;
  /** `states:DescribeExecution` in a policy of its own (the default policy may not name a state machine). */
  allowDescribeExecutions(executionsArn: string, ackId: string): void;
  /** A cdk-nag acknowledgement on the role. */
  acknowledge(id: string, reason: string): void;
}

/** One cutover handler: its function's timeout and placement, and its role's grants. */
export interface HandlerSpec {
  readonly timeout: HandlerTimeoutKind;
  /** Whether the function runs in the fleet's VPC (one function per VPC and timeout). */
  readonly inVpc: boolean;
  /** A fleet's resources for the handler's role, in the order its statements appear. */
  readonly grants: (g: HandlerGrants, fleet: GrantContext) => void;
  /** Grants that name the fleet's state machine, given once it exists. */
  readonly machineGrants?: (g: HandlerGrants, machine: MachineGrantContext) => void;
}

/** The seconds of a handler's function timeout for a fleet. */
export function handlerTimeoutSeconds(spec: HandlerSpec, fleet: { readonly route53: boolean; readonly smokeBudgetSeconds: number }): number {
  switch (spec.timeout) {
    case 'smoke': return smokeFunctionTimeoutSeconds(fleet.smokeBudgetSeconds);
    case 'route53': return fleet.route53 ? DNS_TASK_TIMEOUT_SECONDS : TASK_TIMEOUT_SECONDS;
    case 'task': return TASK_TIMEOUT_SECONDS;
  }
}

// The grants handlers have in common.

/** The lock table; every task that changes the fleet first checks that its execution still holds the lock. */
function table(g: HandlerGrants, c: GrantContext, actions: string[]): void {
  g.allow(actions.map((a) => `dynamodb:${a}`), [c.tableArn]);
}

/** Describe/read calls without resource-level permissions. */
function describe(g: HandlerGrants, actions: string[]): void {
  g.allow(actions, ['*']);
  g.acknowledge('AwsSolutions-IAM5[Resource::*]',
    'Describe and read actions that support no resource-level permissions; every mutating action of this role is scoped to the fleets\' own ARNs.');
}

/** Reading production traffic without resource-level permissions: the production rule (none with Route 53). */
function readsTraffic(c: GrantContext): string[] {
  return c.dns ? [] : ['elasticloadbalancing:DescribeRules'];
}

/** Reading production traffic with resource-level permissions: the Route 53 records. */
function readTraffic(g: HandlerGrants, c: GrantContext): void {
  if (c.dns) g.allow(['route53:ListResourceRecordSets'], [c.dns.zoneArn]);
}

/** Moving production traffic: the production rule, or the Route 53 records. */
function moveTraffic(g: HandlerGrants, c: GrantContext): void {
  if (!c.dns) {
    g.allow(['elasticloadbalancing:ModifyRule'], [c.productionRuleArn!]);
    return;
  }
  readTraffic(g, c);
  // Only UPSERTs of this fleet's two records, by name and type.
  // (A statement per fleet: its conditions name the fleet's records.)
  g.allow(['route53:ChangeResourceRecordSets'], [c.dns.zoneArn], {
    'ForAllValues:StringEquals': {
      'route53:ChangeResourceRecordSetsNormalizedRecordNames': [c.dns.recordName],
      'route53:ChangeResourceRecordSetsRecordTypes': [c.dns.recordType],
      'route53:ChangeResourceRecordSetsActions': ['UPSERT'],
    },
  });
  const changes = Arn.format({ service: 'route53', region: '', account: '', resource: 'change', resourceName: '*' }, c.stack);
  g.allow(['route53:GetChange'], [changes]);
  g.acknowledge(`AwsSolutions-IAM5[Resource::${nagResource(c.stack, changes)}]`,
    'Read-only GetChange: Route 53 change ids are generated per call, so they cannot be named in advance.');
}

/**
 * Publishing the TrafficWeight metric after a weight change. PutMetricData has no resource-level
 * permissions; the `cloudwatch:namespace` condition key limits it to the fleets' namespace
 * (CloudWatch user guide, "Using condition keys to limit access to CloudWatch namespaces"). Called
 * before any other grant of the role, so the role's `Resource::*` acknowledgement names it too.
 */
function publishesTrafficMetric(g: HandlerGrants): void {
  g.allow(['cloudwatch:PutMetricData'], ['*'], { StringEquals: { 'cloudwatch:namespace': TRAFFIC_WEIGHT_METRIC.namespace } });
  g.acknowledge('AwsSolutions-IAM5[Resource::*]',
    `Describe and read actions, and cloudwatch:PutMetricData limited by condition to the ${TRAFFIC_WEIGHT_METRIC.namespace} namespace, support no resource-level permissions; every other mutating action of this role is scoped to the fleets' own ARNs.`);
}

/** Setting the capacity of the fleet's groups. Group ARNs carry a generated id before the name: only that part is a wildcard. */
function scaling(g: HandlerGrants, c: GrantContext): void {
  g.allow(['autoscaling:UpdateAutoScalingGroup'], c.groupArns);
  for (const arn of c.groupArns) {
    g.acknowledge(`AwsSolutions-IAM5[Resource::${nagResource(c.stack, arn)}]`,
      "Auto Scaling group ARNs start with a generated id; the wildcard stands for that id only, the group name is a fleet's.");
  }
}

/**
 * Every cutover handler: its timeout, VPC placement and IAM grants. The workflow builds each
 * function and each grant from this table; the functions themselves (bundle, runtime, log group,
 * role) are `CutoverHandlers`'.
 */
export const HANDLER_SPECS: { readonly [name in HandlerName]: HandlerSpec } = {
  'start': {
    timeout: 'task',
    inVpc: false,
    grants: (g, c) => table(g, c, ['PutItem']),
    // Whether the lock's owner still runs.
    machineGrants: (g, m) => g.allowDescribeExecutions(m.executionsArn, `AwsSolutions-IAM5[Resource::${nagResource(m.stack, m.executionsArn)}]`),
  },
  'find-live': {
    timeout: 'task',
    inVpc: false,
    grants: (g, c) => {
      // Records the colour a stop gives traffic back to; a rollback reads the record of the colour the last cutover left.
      table(g, c, ['UpdateItem', 'GetItem']);
      describe(g, [...readsTraffic(c), 'elasticloadbalancing:DescribeTargetHealth', 'autoscaling:DescribeAutoScalingGroups']);
      readTraffic(g, c);
      g.allow(['ssm:GetParameters', 'ssm:GetParameter'], c.parameterArns);
    },
  },
  'prepare': {
    timeout: 'task',
    inVpc: false,
    grants: (g, c) => {
      // Retires a previous-colour record naming the colour it is about to change.
      table(g, c, ['GetItem', 'UpdateItem']);
      describe(g, [...readsTraffic(c), 'autoscaling:DescribeAutoScalingGroups']);
      g.allow(['ssm:GetParameters', 'ssm:GetParameter', 'ssm:PutParameter'], c.parameterArns);
      if (c.testRuleArn) g.allow(['elasticloadbalancing:ModifyRule'], [c.testRuleArn]);
      scaling(g, c);
      // Writing an aws:ec2:image parameter needs ec2:DescribeImages (SSM PutParameter reference);
      // launch times of the target's instances tell which were launched with the release.
      describe(g, ['ec2:DescribeImages', 'ec2:DescribeLaunchTemplates', 'ec2:DescribeInstances']);
      // "Prepare" makes the latest launch template version the one the colour launches: the
      // template's default version, and the group's launch template version.
      g.allow(['ec2:ModifyLaunchTemplate'], c.launchTemplateArns);
      // A group update that names a launch template is authorized as a launch from it: the caller
      // needs ec2:RunInstances, ec2:CreateTags for the tags the launch applies, and iam:PassRole for
      // the instance profile's role (EC2 Auto Scaling user guide, "Amazon EC2 Auto Scaling API
      // permissions" and "Control Amazon EC2 launch template usage in Auto Scaling groups").
      // RunInstances authorizes many resource types (subnet, security group, volume, image...):
      // any of them, but only when the launch uses one of this fleet's templates.
      const ec2Any = Arn.format({ service: 'ec2', resource: '*', resourceName: '*' }, c.stack);
      const imagesAny = Arn.format({ service: 'ec2', account: '', resource: 'image', resourceName: '*' }, c.stack);
      // One statement whose condition lists the launch templates of every fleet of the stack.
      g.allowWithListedCondition(['ec2:RunInstances'], [ec2Any, imagesAny], 'ArnLike', 'ec2:LaunchTemplate', c.launchTemplateArns);
      g.allow(['ec2:CreateTags'], [ec2Any], { StringEquals: { 'ec2:CreateAction': 'RunInstances' } });
      g.allow(['iam:PassRole'], [c.instanceRoleArn], { StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } });
      for (const arn of [ec2Any, imagesAny]) {
        g.acknowledge(`AwsSolutions-IAM5[Resource::${nagResource(c.stack, arn)}]`,
          'Pointing a group at a launch template version is authorized as a launch (RunInstances, and CreateTags on launch only): limited by condition to launches from the fleets\' launch templates; the instances\' resource ids are not known in advance.');
      }
    },
  },
  'check-health': {
    timeout: 'task',
    inVpc: false,
    grants: (g, c) => {
      table(g, c, ['GetItem']);
      describe(g, ['elasticloadbalancing:DescribeTargetHealth', 'autoscaling:DescribeAutoScalingGroups', 'ec2:DescribeInstances']);
      scaling(g, c);
    },
  },
  'smoke-test': {
    timeout: 'smoke',
    // Calls the test listener from inside the VPC; its network interface permissions come with
    // the placement (CutoverHandlers.function).
    inVpc: true,
    grants: () => undefined,
  },
  'shift': {
    timeout: 'route53',
    inVpc: false,
    grants: (g, c) => {
      publishesTrafficMetric(g);
      // A rollback execution's shift updates the record of the colour traffic left.
      table(g, c, ['GetItem', 'UpdateItem']);
      if (readsTraffic(c).length > 0) describe(g, readsTraffic(c));
      moveTraffic(g, c);
    },
  },
  'check-alarms': {
    timeout: 'task',
    inVpc: false,
    // Every poll also looks at the new colour's health, as the health wait does.
    grants: (g) => describe(g, ['cloudwatch:DescribeAlarms', 'elasticloadbalancing:DescribeTargetHealth', 'autoscaling:DescribeAutoScalingGroups']),
  },
  'roll-back': {
    timeout: 'route53',
    inVpc: false,
    grants: (g, c) => {
      publishesTrafficMetric(g);
      table(g, c, ['GetItem', 'UpdateItem']);
      if (readsTraffic(c).length > 0) describe(g, readsTraffic(c));
      moveTraffic(g, c);
    },
  },
  'scale-to-zero': {
    timeout: 'task',
    inVpc: false,
    grants: (g, c) => {
      table(g, c, ['GetItem']);
      describe(g, [...readsTraffic(c), 'autoscaling:DescribeAutoScalingGroups']);
      readTraffic(g, c);
      scaling(g, c);
    },
  },
  'keep-warm': {
    timeout: 'task',
    inVpc: false,
    // Marks the lock KeepingWarm and records the colour traffic left (a new item).
    grants: (g, c) => table(g, c, ['UpdateItem', 'PutItem']),
  },
  'retire-previous': {
    timeout: 'task',
    inVpc: false,
    grants: (g, c) => {
      table(g, c, ['GetItem', 'UpdateItem']);
      // Retiring looks at both colours' health first.
      describe(g, [...readsTraffic(c), 'elasticloadbalancing:DescribeTargetHealth', 'autoscaling:DescribeAutoScalingGroups']);
      readTraffic(g, c);
      scaling(g, c);
    },
  },
  'release-lock': {
    timeout: 'task',
    inVpc: false,
    // The result record is written in a transaction with a check of the lock's owner.
    grants: (g, c) => table(g, c, ['DeleteItem', 'PutItem', 'ConditionCheckItem', 'GetItem']),
  },
  'approval-gate': {
    timeout: 'task',
    inVpc: false,
    grants: (g, c) => {
      // Checks the lock and sets or removes its `pause`; reads the approval record.
      table(g, c, ['GetItem', 'UpdateItem']);
      // Between shift steps every poll watches alarms and the new colour's health, as check-alarms does.
      describe(g, ['cloudwatch:DescribeAlarms', 'elasticloadbalancing:DescribeTargetHealth', 'autoscaling:DescribeAutoScalingGroups']);
      // One message per pause, to the fleet's own topic only.
      if (c.notificationTopicArn) g.allow(['sns:Publish'], [c.notificationTopicArn]);
      // A publisher to a topic encrypted with a customer managed key needs that key (Amazon SNS
      // Developer Guide, "Key management": publishers need kms:GenerateDataKey* and kms:Decrypt).
      if (c.notificationKeyArn) g.allow(['kms:GenerateDataKey*', 'kms:Decrypt'], [c.notificationKeyArn]);
    },
  },
  'history-widget': {
    timeout: 'task',
    inVpc: false,
    // Reads the release history: Query on the lock table's History index only.
    grants: (g, c) => g.allow(['dynamodb:Query'], [`${c.tableArn}/index/${HISTORY_INDEX_NAME}`]),
  },
  'recover': {
    timeout: 'route53',
    inVpc: false,
    // Production traffic, both colours' health and capacity, the lock and records.
    grants: (g, c) => {
      publishesTrafficMetric(g);
      table(g, c, ['GetItem', 'UpdateItem', 'PutItem', 'DeleteItem']);
      describe(g, [...readsTraffic(c), 'elasticloadbalancing:DescribeTargetHealth', 'autoscaling:DescribeAutoScalingGroups']);
      moveTraffic(g, c);
      scaling(g, c);
    },
  },
};
