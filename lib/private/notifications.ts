import { RemovalPolicy } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { CutoverNotification, NOTIFIED_STATUSES } from './contract';

export { NOTIFIED_STATUSES };

/**
 * The fleet's own notification topic: SSL only (cdk-nag AwsSolutions-SNS3), encrypted with a
 * customer managed key of its own (AwsSolutions-SNS2), rotated yearly (AwsSolutions-KMS5). Not the
 * AWS managed key `alias/aws/sns`: EventBridge publishes to an encrypted topic only if the key's
 * policy lets `events.amazonaws.com` use it (kms:GenerateDataKey*, kms:Decrypt), and the managed
 * key's policy cannot be changed (SNS developer guide, "Key management", section "Enable
 * compatibility between event sources from AWS services and encrypted topics"). That statement is
 * added by the rule's target (`SnsTopic` grants publishing, and the key's use, to EventBridge).
 */
export function createNotificationTopic(scope: Construct, removalPolicy: RemovalPolicy): sns.Topic {
  const key = new kms.Key(scope, 'NotificationsKey', {
    description: `Encrypts the blue/green cutover notifications of ${scope.node.path}`,
    enableKeyRotation: true,
    removalPolicy,
  });
  return new sns.Topic(scope, 'NotificationsTopic', {
    displayName: 'Blue/green cutover outcomes',
    masterKey: key,
    enforceSSL: true,
  });
}

/**
 * The message of one execution that ended, built by the rule's input transformer from the "Step
 * Functions Execution Status Change" event (EventBridge events reference, "AWS Step Functions
 * events"; the detail carries name, status, input and output as JSON text, error and cause, null
 * where they do not apply). A field that may be null is placed as a whole JSON value (no quotes
 * around its placeholder), so EventBridge writes it as JSON: null, or the text quoted and escaped
 * (EventBridge user guide, "Amazon EventBridge input transformation"). Only fields that are always
 * strings are placed inside text (summary, console).
 */
export function outcomeMessage(fleetId: string): events.RuleTargetInput {
  const f = (path: string) => events.EventField.fromPath(path);
  const name = f('$.detail.name');
  const status = f('$.detail.status');
  const region = f('$.region');
  const message: Record<keyof CutoverNotification, string> = {
    summary: `Blue/green cutover ${name} of ${fleetId} ended ${status}`,
    fleet: fleetId,
    execution: name,
    status,
    error: f('$.detail.error'),
    cause: f('$.detail.cause'),
    input: f('$.detail.input'),
    output: f('$.detail.output'),
    executionArn: f('$.detail.executionArn'),
    console: `https://${region}.console.aws.amazon.com/states/home?region=${region}#/v2/executions/details/${f('$.detail.executionArn')}`,
  };
  return events.RuleTargetInput.fromObject(message);
}
