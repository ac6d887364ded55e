/**
 * Which instances of a group serve the release "Prepare" wrote, from their launch times (EC2
 * DescribeInstances). Used by "Prepare" and "Check the idle colour health" only. It is a module
 * of its own, not part of fleet.ts, so that the handlers which import fleet.ts and never ask about
 * a release do not bundle the EC2 client: one EC2 command pulls in the EC2 client's code.
 */
import { Instance } from '@aws-sdk/client-auto-scaling';
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { ReleaseLaunch } from '../../lib/private/contract';

/** EC2 reports LaunchTime in whole seconds: an instance launched in the second the release was written may have launched before it. */
export function launchedAfterFor(releasedAt: Date): string {
  return new Date(Math.ceil(releasedAt.getTime() / 1000) * 1000).toISOString();
}

/**
 * Launch times of instances, keyed by id (DescribeInstances; Auto Scaling's DescribeAutoScalingGroups
 * reports none). An instance EC2 no longer reports has no entry.
 */
export async function launchTimes(ec2: EC2Client, instanceIds: readonly string[]): Promise<Map<string, Date>> {
  const times = new Map<string, Date>();
  // DescribeInstances takes up to 1000 ids; a group holds far fewer, but page anyway.
  for (let i = 0; i < instanceIds.length; i += 200) {
    let token: string | undefined;
    do {
      const out = await ec2.send(new DescribeInstancesCommand({ InstanceIds: instanceIds.slice(i, i + 200), NextToken: token }));
      for (const r of out.Reservations ?? []) for (const inst of r.Instances ?? []) if (inst.InstanceId && inst.LaunchTime) times.set(inst.InstanceId, inst.LaunchTime);
      token = out.NextToken;
    } while (token);
  }
  return times;
}

/**
 * The instances of a group that cannot serve the release "Prepare" wrote, with why: launched
 * from another launch template version than the one "Prepare" set, or launched before the
 * release's parameters took their values (such an instance resolved the old image at launch and
 * read the old version at boot). An instance whose launch time EC2 does not report is not counted either.
 */
export async function staleInstances(ec2: EC2Client, instances: readonly Instance[], launch: ReleaseLaunch): Promise<Map<string, string>> {
  const stale = new Map<string, string>();
  const ids = instances.map((i) => i.InstanceId).filter((id): id is string => !!id);
  if (ids.length === 0) return stale;
  const times = await launchTimes(ec2, ids);
  const after = Date.parse(launch.launchedAfter);
  for (const i of instances) {
    if (!i.InstanceId) continue;
    const version = i.LaunchTemplate?.Version;
    const launched = times.get(i.InstanceId);
    if (version !== launch.launchTemplateVersion) {
      stale.set(i.InstanceId, `launch template version ${version ?? 'unknown'}, not ${launch.launchTemplateVersion}`);
    } else if (!launched) {
      stale.set(i.InstanceId, 'no launch time reported by EC2');
    } else if (launched.getTime() < after) {
      stale.set(i.InstanceId, `launched ${launched.toISOString()}, before the release was written (${launch.releasedAt})`);
    }
  }
  return stale;
}
