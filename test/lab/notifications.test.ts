import { CloudWatchClient, ListMetricsCommand } from '@aws-sdk/client-cloudwatch';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { Duration } from 'aws-cdk-lib';
import { SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, DeleteMessageCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { CutoverErrorName } from '../../lib';
import { STATE_NAMES } from '../../lib/cutover-workflow';
import { APPROVAL_RECORD_KEY_SUFFIX, CutoverNotification, LOCK_PARTITION_KEY } from '../../lib/private/contract';
import { Lab } from '../../lab/lab';
import { REGION } from '../../lab/stack';
import { alarmName, LAB_PROPS } from './lab-fixture';

/**
 * Notifications end to end: the example with `notifications: {}` deployed into moto, its topic
 * subscribed by an SQS queue (SNS delivers to an SQS subscription an envelope whose `Message` is
 * what was published: SNS developer guide, "Fanout to Amazon SQS queues"), and the lab playing
 * EventBridge: the "Step Functions Execution Status Change" event of each execution goes to the
 * template's rules, and the notification rule's transformed input is published to the topic.
 */
let lab: Lab;
let sqs: SQSClient;
let queueUrl: string;

const PROPS = { ...LAB_PROPS, fleet: { notifications: {} } };

/** Every message the queue holds now, as published (the SNS envelope's Message, parsed). */
async function notifications(): Promise<CutoverNotification[]> {
  const out: CutoverNotification[] = [];
  for (;;) {
    const got = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
    if (!got.Messages?.length) return out;
    for (const m of got.Messages) {
      out.push(JSON.parse(JSON.parse(m.Body!).Message));
      await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle! }));
    }
  }
}

beforeAll(async () => {
  lab = await Lab.start(PROPS);
  const config = { endpoint: lab.moto.endpoint, region: REGION, credentials: { accessKeyId: 'lab', secretAccessKey: 'lab' } };
  sqs = new SQSClient(config);
  queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: 'cutover-notifications' }))).QueueUrl!;
  const queueArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
  await new SNSClient(config).send(new SubscribeCommand({ TopicArn: lab.config.notificationTopicArn!, Protocol: 'sqs', Endpoint: queueArn }));
}, 120_000);
afterAll(async () => { await lab?.stop(); });

describe('cutover notifications', () => {
  test('the fleet configuration names the topic the rule publishes to', () => {
    expect(lab.config.notificationTopicArn).toMatch(/^arn:aws:sns:us-east-1:123456789012:/);
  });

  test('a succeeded cutover publishes exactly one message: fleet, SUCCEEDED, no error, the release asked for, the releases, a console link', async () => {
    const result = await lab.runCutover({ version: '2.0.0' });
    expect(result.status).toBe('SUCCEEDED');

    const messages = await notifications();
    expect(messages).toHaveLength(1);
    const [m] = messages;
    const name = result.executionId.split(':').pop();
    expect(m).toMatchObject({
      summary: `Blue/green cutover ${name} of ${lab.config.fleetId} ended SUCCEEDED`,
      fleet: lab.config.fleetId,
      execution: name,
      status: 'SUCCEEDED',
      error: null,
      cause: null,
      executionArn: result.executionId,
      console: `https://${REGION}.console.aws.amazon.com/states/home?region=${REGION}#/v2/executions/details/${result.executionId}`,
    });
    expect(JSON.parse(m.input!)).toEqual({ version: '2.0.0' });
    expect(JSON.parse(m.output!)).toMatchObject({ action: 'deploy', live: 'green', previous: 'blue', liveRelease: { version: '2.0.0' } });
    // Only the notification rule matched a SUCCEEDED event: the recovery rule watches stopped executions.
    expect(result.statusEvent?.matched).toEqual([expect.stringMatching(/NotifyOutcome/)]);
    expect(result.statusEvent?.invocations).toEqual([]);
  });

  test('the shift published the TrafficWeight metric after moving traffic, as telemetry rather than a traffic change', async () => {
    const result = await lab.runCutover({ version: '2.1.0' });
    await notifications();

    const shiftCalls = result.calls.filter((c) => c.stage === STATE_NAMES.shift(100) && !c.injected && !c.denied);
    const modify = shiftCalls.findIndex((c) => c.action === 'ModifyRule');
    const metric = shiftCalls.findIndex((c) => c.action === 'PutMetricData');
    expect(modify).toBeGreaterThanOrEqual(0);
    expect(metric).toBeGreaterThan(modify);
    expect(shiftCalls[metric]).toMatchObject({ telemetry: true, mutating: false });
    expect(shiftCalls.filter((c) => c.mutating).map((c) => c.action)).toEqual(['ModifyRule']);
    const cloudWatch = new CloudWatchClient({ endpoint: lab.moto.endpoint, region: REGION, credentials: { accessKeyId: 'lab', secretAccessKey: 'lab' } });
    const metrics = await cloudWatch.send(new ListMetricsCommand({ Namespace: 'BlueGreenFleet', MetricName: 'TrafficWeight' }));
    const dimensions = (metrics.Metrics ?? []).map((x) => Object.fromEntries((x.Dimensions ?? []).map((d) => [d.Name, d.Value])));
    expect(dimensions).toEqual(expect.arrayContaining([{ Fleet: lab.config.fleetId, Colour: 'blue' }, { Fleet: lab.config.fleetId, Colour: 'green' }]));
  });

  test('an alarm rollback publishes exactly one message: FAILED, RolledBack, its cause, and a console link', async () => {
    const live = (await lab.liveColour())!;
    const target = live === 'blue' ? 'green' : 'blue';
    const alarm = lab.config.colours[target].alarmNames.find((n) => n.includes('ServerErrors'))!;
    expect(alarm).toBe(alarmName(lab, `${target}-5xx` as 'blue-5xx' | 'green-5xx'));
    const result = await lab.runCutover({ version: '3.0.0' }, {
      beforeTask: async (state, n) => { if (state === STATE_NAMES.bake && n === 0) await lab.setAlarm(alarm, 'ALARM'); },
    });
    await lab.setAlarm(alarm, 'OK');
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe(CutoverErrorName.ROLLED_BACK);

    const messages = await notifications();
    expect(messages).toHaveLength(1);
    const [m] = messages;
    expect(m).toMatchObject({
      fleet: lab.config.fleetId,
      status: 'FAILED',
      error: CutoverErrorName.ROLLED_BACK,
      cause: result.cause,
      output: null,
      console: `https://${REGION}.console.aws.amazon.com/states/home?region=${REGION}#/v2/executions/details/${result.executionId}`,
    });
    expect(m.cause).toContain(alarm);
    expect(JSON.parse(m.input!)).toEqual({ version: '3.0.0' });
    // The recovery rule matched too (a FAILED execution), and found nothing to recover.
    expect(result.statusEvent?.invocations.map((i) => i.output?.outcome)).toEqual(['nothing']);
  });

  test('a pause publishes one message naming the pause and the commands that decide it; the rejection then one outcome message', async () => {
    // The same topic and queue; the state machine redeployed with a pause before the shift.
    await lab.redeploy({ ...PROPS, cutover: { ...LAB_PROPS.cutover, approval: { timeout: Duration.minutes(10) } } });
    const pause = STATE_NAMES.approval();
    const result = await lab.runCutover({ version: '4.0.0' }, {
      afterTask: async (state, n) => {
        if (state !== pause || n !== 0) return;
        await lab.clients.dynamoDb.send(new PutItemCommand({
          TableName: lab.config.lockTableName,
          Item: {
            [LOCK_PARTITION_KEY]: { S: `${lab.config.fleetId}${APPROVAL_RECORD_KEY_SUFFIX}` },
            executionId: { S: (await lab.lock())!.owner!.S! },
            pause: { S: pause },
            decision: { S: 'reject' },
            by: { S: 'alice' },
            at: { S: new Date().toISOString() },
          },
        }));
      },
    });
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe(CutoverErrorName.APPROVAL_REJECTED);

    const messages: any[] = await notifications();
    expect(messages).toHaveLength(2);
    const machine = result.executionId.replace(':execution:', ':stateMachine:').split(':').slice(0, -1).join(':');
    const paused = messages.find((m) => m.pause !== undefined);
    expect(paused).toMatchObject({
      fleetId: lab.config.fleetId,
      executionId: result.executionId,
      pause,
      onTimeout: 'roll-back',
      approve: `npx cdk-ec2-blue-green approve --state-machine ${machine}`,
      reject: `npx cdk-ec2-blue-green reject --state-machine ${machine}`,
      console: `https://${REGION}.console.aws.amazon.com/states/home?region=${REGION}#/v2/executions/details/${result.executionId}`,
    });
    expect(Date.parse(paused.until) - Date.parse(paused.since)).toBe(600_000);
    const outcome = messages.find((m) => m.status !== undefined);
    expect(outcome).toMatchObject({ fleet: lab.config.fleetId, status: 'FAILED', error: CutoverErrorName.APPROVAL_REJECTED, executionArn: result.executionId });
    // The gate's Publish went through the IAM gate with the role the template gives it.
    const published = result.calls.filter((c) => c.action === 'Publish' && c.stage === pause);
    expect(published).toHaveLength(1);
    expect(published[0].denied).toBeFalsy();
  });
});

