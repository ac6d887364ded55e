import 'aws-sdk-client-mock-jest';
import { AutoScalingClient, DescribeAutoScalingGroupsCommand, UpdateAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { AddTagsToResourceCommand, DeleteParameterCommand, GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { PARAMETER_TAG_KEY } from '../../lib/private/contract';
import { handleEvent, onEvent } from '../../lambda/fleet-resources/fleet-resources';
import { logger } from '../../lambda/common/logger';

logger.setLogLevel('SILENT');

const ssmMock = mockClient(SSMClient);
const asgMock = mockClient(AutoScalingClient);
const cfnMock = mockClient(CloudFormationClient);
const deps = { ssm: new SSMClient({ region: 'eu-west-1' }), autoScaling: new AutoScalingClient({ region: 'eu-west-1' }), cloudFormation: new CloudFormationClient({ region: 'eu-west-1' }) };

/** SSM as the provider uses it: parameters by name with their data type, tags by name. */
const params = new Map<string, { Value: string; DataType: string }>();
const tags = new Map<string, string[]>();

const BASE = {
  ServiceToken: 'arn:aws:lambda:eu-west-1:111122223333:function:provider',
  ResponseURL: 'https://cloudformation-custom-resource-response.example/x',
  StackId: 'arn:aws:cloudformation:eu-west-1:111122223333:stack/web/1',
  RequestId: 'r-1',
  LogicalResourceId: 'WebBlueImageParameter',
};
const IMAGE = { ServiceToken: BASE.ServiceToken, Name: '/bg/web/blue/image-id', Value: 'ami-0123456789abcdef0', DataType: 'aws:ec2:image' };

function event(e: Record<string, unknown>): CloudFormationCustomResourceEvent {
  return { ...BASE, ResourceType: 'Custom::BlueGreenParameter', ...e } as unknown as CloudFormationCustomResourceEvent;
}

beforeEach(() => {
  for (const m of [ssmMock, asgMock, cfnMock]) m.reset();
  params.clear();
  tags.clear();
  ssmMock.on(GetParameterCommand).callsFake((input: { Name: string }) => {
    const p = params.get(input.Name);
    if (!p) throw Object.assign(new Error(`Parameter ${input.Name} not found.`), { name: 'ParameterNotFound' });
    return { Parameter: { Name: input.Name, ...p } };
  });
  ssmMock.on(PutParameterCommand).callsFake((input: { Name: string; Value: string; DataType: string }) => {
    params.set(input.Name, { Value: input.Value, DataType: input.DataType });
    return { Version: 1 };
  });
  ssmMock.on(AddTagsToResourceCommand).callsFake((input: { ResourceId: string; Tags: { Key: string }[] }) => {
    tags.set(input.ResourceId, input.Tags.map((t) => t.Key));
    return {};
  });
  ssmMock.on(DeleteParameterCommand).callsFake((input: { Name: string }) => {
    params.delete(input.Name);
    return {};
  });
  cfnMock.on(DescribeStacksCommand).resolves({ Stacks: [{ StackName: 'web', StackStatus: 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', CreationTime: new Date() }] });
});

describe('Custom::BlueGreenParameter', () => {
  // EC2 Auto Scaling user guide, "Use AWS Systems Manager parameters instead of AMI IDs in launch
  // templates": resolve:ssm: needs the aws:ec2:image data type.
  it('creates the image parameter with the aws:ec2:image data type, tagged as the fleet\'s', async () => {
    const out = await onEvent(event({ RequestType: 'Create', ResourceProperties: IMAGE }), deps);

    expect(out.physicalResourceId).toBe(IMAGE.Name);
    expect(ssmMock).toHaveReceivedCommandWith(PutParameterCommand, { Name: IMAGE.Name, Value: IMAGE.Value, Type: 'String', DataType: 'aws:ec2:image' });
    expect(tags.get(IMAGE.Name)).toEqual([PARAMETER_TAG_KEY]);
  });

  it('refuses a parameter that exists with another data type, naming the fix (SSM cannot change a data type)', async () => {
    params.set(IMAGE.Name, { Value: 'ami-0123456789abcdef0', DataType: 'text' });

    await expect(onEvent(event({ RequestType: 'Create', ResourceProperties: IMAGE }), deps)).rejects.toThrow(
      /exists with data type 'text', and this fleet needs 'aws:ec2:image'.*delete it \(or choose another parameterPrefix\)/,
    );
    expect(ssmMock).toHaveReceivedCommandTimes(PutParameterCommand, 0);
  });

  it('keeps the value the workflow wrote when an update brings a new initial value', async () => {
    params.set(IMAGE.Name, { Value: 'ami-0fedcba9876543210', DataType: 'aws:ec2:image' });

    await onEvent(event({ RequestType: 'Update', PhysicalResourceId: IMAGE.Name, ResourceProperties: { ...IMAGE, Value: 'ami-0aaaaaaaaaaaaaaaa' }, OldResourceProperties: IMAGE }), deps);

    expect(ssmMock).toHaveReceivedCommandTimes(PutParameterCommand, 0);
    expect(params.get(IMAGE.Name)!.Value).toBe('ami-0fedcba9876543210');
  });

  it('copies what the old name holds now to a new name (a changed parameterPrefix)', async () => {
    params.set(IMAGE.Name, { Value: 'ami-0fedcba9876543210', DataType: 'aws:ec2:image' });
    const renamed = { ...IMAGE, Name: '/new/web/blue/image-id' };

    const out = await onEvent(event({ RequestType: 'Update', PhysicalResourceId: IMAGE.Name, ResourceProperties: renamed, OldResourceProperties: IMAGE }), deps);

    expect(out.physicalResourceId).toBe(renamed.Name);
    expect(params.get(renamed.Name)).toEqual({ Value: 'ami-0fedcba9876543210', DataType: 'aws:ec2:image' });
  });

  it('keeps a renamed parameter on the cleanup Delete (the live colour\'s launch template version still resolves it)', async () => {
    params.set(IMAGE.Name, { Value: 'ami-0fedcba9876543210', DataType: 'aws:ec2:image' });

    await onEvent(event({ RequestType: 'Delete', PhysicalResourceId: IMAGE.Name, ResourceProperties: IMAGE }), deps);

    expect(ssmMock).toHaveReceivedCommandTimes(DeleteParameterCommand, 0);
    expect(params.has(IMAGE.Name)).toBe(true);
  });

  it('deletes the parameter when the stack itself is deleted', async () => {
    params.set(IMAGE.Name, { Value: 'ami-0fedcba9876543210', DataType: 'aws:ec2:image' });
    cfnMock.on(DescribeStacksCommand).resolves({ Stacks: [{ StackName: 'web', StackStatus: 'DELETE_IN_PROGRESS', CreationTime: new Date() }] });

    await onEvent(event({ RequestType: 'Delete', PhysicalResourceId: IMAGE.Name, ResourceProperties: IMAGE }), deps);

    expect(params.has(IMAGE.Name)).toBe(false);
  });

  it('answers FAILED with the reason, and the physical id of a failed create, when properties are bad', async () => {
    const responses: any[] = [];
    await handleEvent(event({ RequestType: 'Create', ResourceProperties: { ...IMAGE, DataType: 'ami' } }), { ...deps, respond: async (_u, r) => { responses.push(r); } });

    expect(responses).toEqual([expect.objectContaining({ Status: 'FAILED', Reason: expect.stringContaining('DataType must be one of text, aws:ec2:image'), PhysicalResourceId: 'failed-create-r-1' })]);
    expect(ssmMock).toHaveReceivedCommandTimes(PutParameterCommand, 0);
  });
});

describe('Custom::BlueGreenInitialCapacity', () => {
  const CAPACITY = { ServiceToken: BASE.ServiceToken, AutoScalingGroupName: 'web-blue', OtherGroupNames: ['web-green'], MinCapacity: '2', MaxCapacity: '6' };
  const capacityEvent = (e: Record<string, unknown>) => event({ ResourceType: 'Custom::BlueGreenInitialCapacity', LogicalResourceId: 'WebInitialCapacity', ...e });
  const groups = (blue: number, green: number) => asgMock.on(DescribeAutoScalingGroupsCommand).resolves({
    AutoScalingGroups: [['web-blue', blue], ['web-green', green]].map(([name, desired]) => ({
      AutoScalingGroupName: name as string, MinSize: 0, MaxSize: 6, DesiredCapacity: desired as number, DefaultCooldown: 300, AvailabilityZones: [], HealthCheckType: 'ELB', CreatedTime: new Date(),
    })),
  });

  it('sizes blue of a new fleet once, on create', async () => {
    groups(0, 0);

    await onEvent(capacityEvent({ RequestType: 'Create', ResourceProperties: CAPACITY }), deps);

    expect(asgMock).toHaveReceivedCommandWith(UpdateAutoScalingGroupCommand, { AutoScalingGroupName: 'web-blue', MinSize: 2, MaxSize: 6, DesiredCapacity: 2 });
  });

  it('sizes nothing when a colour already runs (the resource added to an existing fleet)', async () => {
    groups(0, 3);

    await onEvent(capacityEvent({ RequestType: 'Create', ResourceProperties: CAPACITY }), deps);

    expect(asgMock).toHaveReceivedCommandTimes(UpdateAutoScalingGroupCommand, 0);
  });

  it('never sizes anything on update or delete: capacity changes reach the fleet through cutovers', async () => {
    groups(0, 0);

    await onEvent(capacityEvent({ RequestType: 'Update', PhysicalResourceId: 'initial-capacity-WebInitialCapacity', ResourceProperties: { ...CAPACITY, MinCapacity: '4' }, OldResourceProperties: CAPACITY }), deps);
    await onEvent(capacityEvent({ RequestType: 'Delete', PhysicalResourceId: 'initial-capacity-WebInitialCapacity', ResourceProperties: CAPACITY }), deps);

    expect(asgMock).toHaveReceivedCommandTimes(DescribeAutoScalingGroupsCommand, 0);
    expect(asgMock).toHaveReceivedCommandTimes(UpdateAutoScalingGroupCommand, 0);
  });
});
