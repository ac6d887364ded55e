/**
 * Provider of the fleet's write-once custom resources:
 *
 * - `Custom::BlueGreenParameter`: a colour's image or version parameter. Written once, on create;
 *   afterwards only the cutover workflow writes it (DESIGN invariant 6). The image parameter has
 *   the data type `aws:ec2:image`, which launch templates that resolve their image with
 *   `resolve:ssm:` require (EC2 Auto Scaling user guide, "Use AWS Systems Manager parameters
 *   instead of AMI IDs in launch templates": other data types fail the launch with
 *   `SsmInvalidParameter: Unsupported data type`). A new name (a changed `parameterPrefix`)
 *   copies the value the old name holds now, so what each colour runs is kept.
 * - `Custom::BlueGreenInitialCapacity`: sizes the first live colour of a new fleet, once. The
 *   groups' template sizes never name a colour's role (both have `MinSize` 0), so a later
 *   capacity change cannot land on the idle colour; the workflow sizes a colour when it prepares it.
 */
import { AutoScalingClient, DescribeAutoScalingGroupsCommand, UpdateAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { AddTagsToResourceCommand, DeleteParameterCommand, GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { InitialCapacityProperties, PARAMETER_TAG_KEY, ParameterProperties } from '../../lib/private/contract';
import { answer, CloudFormationResponse, FAILED_CREATE_ID, Responder, ResourceResult } from '../common/cfn-response';
import { logger } from '../common/logger';

export interface FleetResourcesDeps {
  readonly ssm: SSMClient;
  readonly autoScaling: AutoScalingClient;
  readonly cloudFormation: CloudFormationClient;
}

export { FAILED_CREATE_ID } from '../common/cfn-response';

const DATA_TYPES = ['text', 'aws:ec2:image'] as const;

function errorName(e: unknown): string | undefined {
  return (e as { name?: string } | undefined)?.name;
}

/** The parameter's settings, from the resource properties. */
export function parseParameter(props: Record<string, unknown> | undefined): ParameterProperties {
  const p = (props ?? {}) as unknown as ParameterProperties;
  const problems: string[] = [];
  if (typeof p.Name !== 'string' || !p.Name.startsWith('/')) problems.push('Name must be a parameter name starting with /');
  if (typeof p.Value !== 'string' || p.Value === '') problems.push('Value must be a non-empty string');
  if (!DATA_TYPES.includes(p.DataType)) problems.push(`DataType must be one of ${DATA_TYPES.join(', ')}`);
  if (problems.length > 0) throw new Error(`Invalid Custom::BlueGreenParameter properties: ${problems.join('; ')}.`);
  return p;
}

async function readParameter(ssm: SSMClient, name: string): Promise<{ value: string; dataType: string } | undefined> {
  try {
    const out = await ssm.send(new GetParameterCommand({ Name: name }));
    return { value: out.Parameter?.Value ?? '', dataType: out.Parameter?.DataType ?? 'text' };
  } catch (e) {
    if (errorName(e) === 'ParameterNotFound') return undefined;
    throw e;
  }
}

async function putParameter(ssm: SSMClient, p: ParameterProperties, value: string): Promise<void> {
  const existing = await readParameter(ssm, p.Name);
  if (existing && existing.dataType !== p.DataType) {
    // SSM cannot change the data type of an existing parameter (PutParameter reference).
    throw new Error(
      `Parameter ${p.Name} exists with data type '${existing.dataType}', and this fleet needs '${p.DataType}'. ` +
      'SSM cannot change the data type of a parameter: delete it (or choose another parameterPrefix) and deploy again.',
    );
  }
  if (existing?.value !== value) {
    await ssm.send(new PutParameterCommand({
      Name: p.Name,
      Value: value,
      Type: 'String',
      DataType: p.DataType,
      Overwrite: true,
      ...(p.Description ? { Description: p.Description } : {}),
    }));
  }
  // The tag lets the provider read the parameter again after a prefix rename (its only read
  // permission beyond the template's names is conditioned on it). PutParameter cannot tag
  // when it overwrites, so the tag is added separately (idempotent).
  await ssm.send(new AddTagsToResourceCommand({ ResourceType: 'Parameter', ResourceId: p.Name, Tags: [{ Key: PARAMETER_TAG_KEY, Value: 'true' }] }));
}

/** Whether CloudFormation is deleting the whole stack (as opposed to cleaning up after an update). */
async function stackIsBeingDeleted(cfn: CloudFormationClient, stackId: string): Promise<boolean> {
  const stack = (await cfn.send(new DescribeStacksCommand({ StackName: stackId }))).Stacks?.[0];
  return stack?.StackStatus?.startsWith('DELETE_') ?? false;
}

async function onParameter(event: CloudFormationCustomResourceEvent, deps: FleetResourcesDeps): Promise<ResourceResult> {
  switch (event.RequestType) {
    case 'Create': {
      const p = parseParameter(event.ResourceProperties);
      await putParameter(deps.ssm, p, p.Value);
      logger.info('Parameter created', { name: p.Name, dataType: p.DataType });
      return { physicalResourceId: p.Name };
    }
    case 'Update': {
      const p = parseParameter(event.ResourceProperties);
      const oldName = event.PhysicalResourceId;
      if (p.Name === oldName) {
        // Write-once: the value belongs to the workflow now; a new initial value changes nothing.
        logger.info('Parameter kept as it is', { name: p.Name });
        return { physicalResourceId: p.Name };
      }
      // A new name: it gets what the old name holds now (what the colour runs), or the initial
      // value if the old one is gone. CloudFormation then sends a Delete for the old name.
      const current = await readParameter(deps.ssm, oldName);
      await putParameter(deps.ssm, p, current?.value ?? p.Value);
      logger.info('Parameter renamed, value kept', { from: oldName, to: p.Name, copied: current !== undefined });
      return { physicalResourceId: p.Name };
    }
    case 'Delete': {
      const name = event.PhysicalResourceId;
      if (name.startsWith(FAILED_CREATE_ID)) return { physicalResourceId: name };
      // After a rename, the live colour's launch template version still resolves the old name
      // until that colour is released again: keep it. Only a stack deletion removes it.
      if (!(await stackIsBeingDeleted(deps.cloudFormation, event.StackId))) {
        logger.warn('Old parameter kept: the launch template version a colour runs may still resolve it; delete it once both colours have been released since the rename', { name });
        return { physicalResourceId: name };
      }
      try {
        await deps.ssm.send(new DeleteParameterCommand({ Name: name }));
      } catch (e) {
        if (errorName(e) !== 'ParameterNotFound') throw e;
      }
      logger.info('Parameter deleted', { name });
      return { physicalResourceId: name };
    }
  }
}

/** The initial sizes, from the resource properties (CloudFormation passes numbers as strings). */
export function parseInitialCapacity(props: Record<string, unknown> | undefined): { group: string; others: string[]; min: number; max: number } {
  const p = (props ?? {}) as unknown as InitialCapacityProperties;
  const min = Number(p.MinCapacity);
  const max = Number(p.MaxCapacity);
  const problems: string[] = [];
  if (typeof p.AutoScalingGroupName !== 'string' || p.AutoScalingGroupName === '') problems.push('AutoScalingGroupName must be a non-empty string');
  if (!Array.isArray(p.OtherGroupNames)) problems.push('OtherGroupNames must be a list');
  if (!Number.isInteger(min) || min < 0) problems.push('MinCapacity must be a whole number');
  if (!Number.isInteger(max) || max < min) problems.push('MaxCapacity must be a whole number at least MinCapacity');
  if (problems.length > 0) throw new Error(`Invalid Custom::BlueGreenInitialCapacity properties: ${problems.join('; ')}.`);
  return { group: p.AutoScalingGroupName, others: p.OtherGroupNames, min, max };
}

async function onInitialCapacity(event: CloudFormationCustomResourceEvent, deps: FleetResourcesDeps): Promise<ResourceResult> {
  const physicalResourceId = event.RequestType === 'Create' ? `initial-capacity-${event.LogicalResourceId}` : event.PhysicalResourceId;
  // Only ever on create, and only for a fleet where no colour runs anything yet: an existing fleet
  // (this resource added by an upgrade) is sized by its cutovers, never by a deploy.
  if (event.RequestType !== 'Create') return { physicalResourceId };
  const c = parseInitialCapacity(event.ResourceProperties);
  const out = await deps.autoScaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [c.group, ...c.others] }));
  const groups = out.AutoScalingGroups ?? [];
  if (!groups.some((g) => g.AutoScalingGroupName === c.group)) throw new Error(`Auto Scaling group ${c.group} does not exist.`);
  const running = groups.filter((g) => (g.DesiredCapacity ?? 0) > 0 || (g.MinSize ?? 0) > 0);
  if (running.length > 0) {
    logger.info('A colour already runs: initial capacity not applied', { running: running.map((g) => g.AutoScalingGroupName) });
    return { physicalResourceId };
  }
  await deps.autoScaling.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: c.group, MinSize: c.min, MaxSize: c.max, DesiredCapacity: c.min }));
  logger.info('Initial capacity applied', { group: c.group, min: c.min, max: c.max });
  return { physicalResourceId };
}

/** Creates, updates or deletes one resource. Throws with a message CloudFormation shows on failure. */
export async function onEvent(event: CloudFormationCustomResourceEvent, deps: FleetResourcesDeps): Promise<ResourceResult> {
  switch (event.ResourceType) {
    case 'Custom::BlueGreenParameter': return onParameter(event, deps);
    case 'Custom::BlueGreenInitialCapacity': return onInitialCapacity(event, deps);
    default: throw new Error(`This provider does not handle ${event.ResourceType}.`);
  }
}

/** Runs the event and always answers CloudFormation, so a failure never leaves the stack waiting. */
export async function handleEvent(event: CloudFormationCustomResourceEvent, deps: FleetResourcesDeps & { readonly respond: Responder }): Promise<CloudFormationResponse> {
  return answer(event, deps.respond, () => onEvent(event, deps), logger);
}
