/**
 * Fleet operations shared by the handlers. Each takes its clients as parameters, and each
 * mutating one reads the current state first and only calls AWS when it differs, so a
 * retried task changes nothing the second time.
 */
import {
  AutoScalingClient,
  AutoScalingGroup,
  DescribeAutoScalingGroupsCommand,
  Instance,
  UpdateAutoScalingGroupCommand,
} from '@aws-sdk/client-auto-scaling';
import {
  Action,
  DescribeRulesCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  ModifyRuleCommand,
  TargetGroupStickinessConfig,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { GetParametersCommand, Parameter, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import {
  Colour,
  COLOURS,
  ColourConfig,
  ColourRelease,
  CutoverState,
  FleetConfig,
  GroupCapacity,
  IMAGE_ID_PATTERN,
  StageTiming,
  VERSION_PATTERN,
} from '../../lib/private/contract';
import { FleetStateConflict, truncate } from './errors';
import { STATE_NAMES } from '../../lib/private/stage-names';

// ---------------------------------------------------------------------------
// Listener rule weights.
// ---------------------------------------------------------------------------

/** Percent of a rule's traffic each colour receives (0-100 each). */
export interface RuleWeights {
  readonly blue: number;
  readonly green: number;
}

/** What a weight change did. */
export interface WeightChange {
  /** Whether ModifyRule was called. */
  readonly changed: boolean;
  /** The weights before the change. */
  readonly before: RuleWeights;
  /** How long the ModifyRule call took, when there was one. */
  readonly callMs?: number;
}

interface ParsedRule {
  readonly actions: Action[];
  readonly forwardIndex: number;
  readonly weights: RuleWeights;
  /** Target groups in the rule that belong to neither colour, with their raw weights. */
  readonly foreign: { arn: string; weight: number }[];
  /** Whether the forward action names both colours' target groups explicitly in a ForwardConfig. */
  readonly explicit: boolean;
}

async function describeRule(elbv2: ElasticLoadBalancingV2Client, ruleArn: string, config: FleetConfig): Promise<ParsedRule> {
  const out = await elbv2.send(new DescribeRulesCommand({ RuleArns: [ruleArn] }));
  const rule = out.Rules?.find((r) => r.RuleArn === ruleArn) ?? out.Rules?.[0];
  if (!rule) {
    throw new FleetStateConflict(`Listener rule ${ruleArn} of fleet '${config.fleetId}' does not exist: it was deleted outside the stack; redeploy the stack to restore it. Nothing was changed.`);
  }
  const actions = rule.Actions ?? [];
  const forwardIndex = actions.findIndex((a) => a.Type === 'forward');
  if (forwardIndex < 0) {
    throw new FleetStateConflict(
      `Listener rule ${ruleArn} of fleet '${config.fleetId}' has no forward action (it was changed by hand): ` +
      'make it forward to the blue and green target groups again. Nothing was changed.',
    );
  }
  const forward = actions[forwardIndex];
  const raw: { arn: string; weight: number }[] = forward.ForwardConfig?.TargetGroups?.length
    // A target group without a weight has weight 1 (the ELB default).
    ? forward.ForwardConfig.TargetGroups.map((tg) => ({ arn: tg.TargetGroupArn ?? '', weight: tg.Weight ?? 1 }))
    : forward.TargetGroupArn ? [{ arn: forward.TargetGroupArn, weight: 1 }] : [];
  const rawOf = (colour: Colour) => raw.filter((t) => t.arn === config.colours[colour].targetGroupArn).reduce((s, t) => s + t.weight, 0);
  const foreign = raw.filter((t) => !COLOURS.some((c) => config.colours[c].targetGroupArn === t.arn));
  const total = raw.reduce((s, t) => s + t.weight, 0);
  const blue = total > 0 ? Math.round((rawOf(Colour.BLUE) * 100) / total) : 0;
  const green = total > 0 ? Math.round((rawOf(Colour.GREEN) * 100) / total) : 0;
  const explicit = COLOURS.every((c) => (forward.ForwardConfig?.TargetGroups ?? []).filter((t) => t.TargetGroupArn === config.colours[c].targetGroupArn).length === 1);
  return { actions, forwardIndex, weights: { blue, green }, foreign, explicit };
}

/**
 * Reads which percentage of a listener rule's traffic goes to each colour.
 * Throws FleetStateConflict if the rule forwards to a target group of neither colour.
 */
export async function readRuleWeights(elbv2: ElasticLoadBalancingV2Client, ruleArn: string, config: FleetConfig): Promise<RuleWeights> {
  const parsed = await describeRule(elbv2, ruleArn, config);
  const foreign = parsed.foreign.filter((t) => t.weight > 0);
  if (foreign.length > 0) {
    throw new FleetStateConflict(
      `Listener rule ${ruleArn} of fleet '${config.fleetId}' forwards traffic to ${foreign.map((t) => t.arn).join(', ')}, ` +
      'which is neither the blue nor the green target group: remove it from the rule by hand, then start again. Nothing was changed.',
    );
  }
  return parsed.weights;
}

/** Target-group stickiness of a forward action, as ModifyRule takes it. */
export type Stickiness = TargetGroupStickinessConfig;

/**
 * The production rule's stickiness for `weights`: on while traffic is split (when the fleet has a
 * stickiness duration), off whenever one colour has everything, so no client stays pinned to the
 * colour traffic left. Undefined when the fleet config says nothing: the rule's setting is kept.
 */
export function productionStickiness(config: FleetConfig, weights: RuleWeights): Stickiness | undefined {
  if (config.stickinessSeconds === undefined) return undefined;
  const split = weights.blue > 0 && weights.green > 0;
  return split && config.stickinessSeconds > 0 ? { Enabled: true, DurationSeconds: config.stickinessSeconds } : { Enabled: false };
}

function sameStickiness(current: Stickiness | undefined, wanted: Stickiness | undefined): boolean {
  if (wanted === undefined) return true;
  const enabled = current?.Enabled ?? false;
  return enabled === (wanted.Enabled ?? false) && (!enabled || current?.DurationSeconds === wanted.DurationSeconds);
}

/**
 * Sets a listener rule's weights with one ModifyRule call, only when they (or the stickiness
 * asked for) differ from the current ones. The forward action always names both target groups
 * (the idle one at weight 0 stays attached to the load balancer, so it is health-checked before
 * it serves); the rule's other actions are kept, and so is its stickiness unless `stickiness` is given.
 */
export async function setRuleWeights(
  elbv2: ElasticLoadBalancingV2Client,
  ruleArn: string,
  config: FleetConfig,
  weights: RuleWeights,
  now: () => Date = () => new Date(),
  stickiness?: Stickiness,
): Promise<WeightChange> {
  for (const c of COLOURS) {
    if (!Number.isInteger(weights[c]) || weights[c] < 0 || weights[c] > 100) {
      throw new RangeError(`setRuleWeights: the ${c} weight must be an integer from 0 to 100, got ${weights[c]}.`);
    }
  }
  const parsed = await describeRule(elbv2, ruleArn, config);
  const before = parsed.weights;
  const current = parsed.actions[parsed.forwardIndex];
  const same = parsed.foreign.length === 0 && parsed.explicit && COLOURS.every((c) => before[c] === weights[c])
    && sameStickiness(current.ForwardConfig?.TargetGroupStickinessConfig, stickiness);
  if (same) return { changed: false, before };

  const forward: Action = {
    Type: 'forward',
    Order: current.Order,
    ForwardConfig: {
      TargetGroups: COLOURS.map((c) => ({ TargetGroupArn: config.colours[c].targetGroupArn, Weight: weights[c] })),
      TargetGroupStickinessConfig: stickiness ?? current.ForwardConfig?.TargetGroupStickinessConfig,
    },
  };
  const actions = parsed.actions.map((a, i) => (i === parsed.forwardIndex ? forward : keepAsIs(a)));
  const started = now().getTime();
  await elbv2.send(new ModifyRuleCommand({ RuleArn: ruleArn, Actions: actions }));
  return { changed: true, before, callMs: now().getTime() - started };
}

/** Another action of the rule, as it must be sent back to keep it unchanged. */
function keepAsIs(action: Action): Action {
  // DescribeRules never returns an OIDC client secret: ask ModifyRule to keep the stored one.
  if (action.AuthenticateOidcConfig && action.AuthenticateOidcConfig.ClientSecret === undefined) {
    return { ...action, AuthenticateOidcConfig: { ...action.AuthenticateOidcConfig, UseExistingClientSecret: true } };
  }
  return action;
}

/** The colour at 100 percent, or undefined when traffic is split (or goes nowhere). */
export function colourAtFull(weights: RuleWeights): Colour | undefined {
  return COLOURS.find((c) => weights[c] === 100);
}

/** Weights sending `percent` to `colour` and the rest to the other colour. */
export function weightsFor(colour: Colour, percent: number): RuleWeights {
  return colour === Colour.BLUE ? { blue: percent, green: 100 - percent } : { blue: 100 - percent, green: percent };
}

// ---------------------------------------------------------------------------
// Auto Scaling groups.
// ---------------------------------------------------------------------------

async function describeGroup(asg: AutoScalingClient, groupName: string): Promise<AutoScalingGroup> {
  const out = await asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [groupName] }));
  const group = out.AutoScalingGroups?.find((g) => g.AutoScalingGroupName === groupName);
  if (!group) {
    throw new FleetStateConflict(`Auto Scaling group ${groupName} does not exist: it was deleted outside the stack; redeploy the stack to restore it.`);
  }
  return group;
}

function capacityOf(group: AutoScalingGroup): GroupCapacity {
  return { min: group.MinSize ?? 0, max: group.MaxSize ?? 0, desired: group.DesiredCapacity ?? 0 };
}

/** Min, max and desired of a group. */
export async function readCapacity(asg: AutoScalingClient, groupName: string): Promise<GroupCapacity> {
  return capacityOf(await describeGroup(asg, groupName));
}

/** What a capacity change did. */
export interface CapacityChange {
  readonly changed: boolean;
  readonly before: GroupCapacity;
  readonly after: GroupCapacity;
}

/**
 * Sets the given fields of a group's capacity (omitted fields stay as they are), and optionally
 * the launch template version it launches, with one UpdateAutoScalingGroup call, only when
 * something differs.
 */
export async function setCapacity(
  asg: AutoScalingClient,
  groupName: string,
  capacity: Partial<GroupCapacity>,
  launchTemplate?: { readonly id: string; readonly version: string },
): Promise<CapacityChange> {
  const group = await describeGroup(asg, groupName);
  const before = capacityOf(group);
  const after: GroupCapacity = {
    min: capacity.min ?? before.min,
    max: capacity.max ?? before.max,
    desired: capacity.desired ?? before.desired,
  };
  const current = group.LaunchTemplate;
  const templateChanges = launchTemplate !== undefined && (current?.LaunchTemplateId !== launchTemplate.id || current?.Version !== launchTemplate.version);
  if (!templateChanges && after.min === before.min && after.max === before.max && after.desired === before.desired) {
    return { changed: false, before, after };
  }
  await asg.send(new UpdateAutoScalingGroupCommand({
    AutoScalingGroupName: groupName,
    MinSize: after.min,
    MaxSize: after.max,
    DesiredCapacity: after.desired,
    ...(templateChanges ? { LaunchTemplate: { LaunchTemplateId: launchTemplate.id, Version: launchTemplate.version } } : {}),
  }));
  return { changed: true, before, after };
}

/**
 * The size of a colour being prepared: the configured minimum and maximum, and at least as many
 * instances as the live colour runs now (within the maximum, which grows to fit if the live
 * colour was scaled beyond it).
 */
export function targetCapacity(config: FleetConfig, live: GroupCapacity): GroupCapacity {
  const desired = Math.max(live.desired, config.minCapacity);
  return { min: config.minCapacity, max: Math.max(config.maxCapacity, desired), desired };
}

/** The instances of a group, as the group reports them (only instances that belong to it). */
export async function groupInstances(asg: AutoScalingClient, groupName: string): Promise<Instance[]> {
  return (await describeGroup(asg, groupName)).Instances ?? [];
}

// ---------------------------------------------------------------------------
// Target health.
// ---------------------------------------------------------------------------

/** One instance's state in a target group. */
export interface TargetStatus {
  readonly state: string;
  readonly reason?: string;
  readonly description?: string;
}

/**
 * Target group states of the given instances, keyed by instance id. Targets of other
 * instances are ignored: a scaled-in instance may stay registered (and even reported
 * healthy) after it left the group.
 */
export async function targetStates(
  elbv2: ElasticLoadBalancingV2Client,
  targetGroupArn: string,
  instanceIds: readonly string[],
): Promise<Map<string, TargetStatus>> {
  const wanted = new Set(instanceIds);
  const out = await elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: targetGroupArn }));
  const states = new Map<string, TargetStatus>();
  for (const d of out.TargetHealthDescriptions ?? []) {
    const id = d.Target?.Id;
    if (!id || !wanted.has(id)) continue;
    const status: TargetStatus = { state: d.TargetHealth?.State ?? 'unknown', reason: d.TargetHealth?.Reason, description: d.TargetHealth?.Description };
    // An instance registered on several ports counts as healthy only if every registration is.
    const seen = states.get(id);
    if (!seen || seen.state === 'healthy') states.set(id, status);
  }
  return states;
}

/** How many of the given instances are healthy in the target group. */
export async function healthyTargets(
  elbv2: ElasticLoadBalancingV2Client,
  targetGroupArn: string,
  instanceIds: readonly string[],
): Promise<number> {
  const states = await targetStates(elbv2, targetGroupArn, instanceIds);
  return [...states.values()].filter((s) => s.state === 'healthy').length;
}

/** Health of one colour: its group and its target group seen together. */
export interface ColourHealth {
  readonly capacity: GroupCapacity;
  /** Instances of the group in the InService lifecycle state. */
  readonly inService: number;
  /** Instances InService and Healthy in the group and `healthy` in the target group. */
  readonly healthyTargets: number;
  /** desired > 0, and every desired instance is InService and healthy in its target group. */
  readonly healthy: boolean;
  /** Why instances are not counted, such as `i-abc: unhealthy Target.FailedHealthChecks`. */
  readonly problems: string[];
  /**
   * Instances of the group that do not serve the release (only when assessed against one), such
   * as `i-abc: launched 2025-03-01T11:00:00.000Z, before the release was written (...)`.
   */
  readonly stale: string[];
  /**
   * Instances still joining: launching (`Pending*`), or InService and `initial` in the target
   * group (registered, health checks not yet passed). A colour that scales out shows these.
   */
  readonly joining: number;
  /**
   * Problems of instances that should be serving and are not: InService but unhealthy in the
   * group, not registered, or in a target state other than `healthy` and `initial` (`unhealthy`,
   * `unused` for a stopped instance, `draining` for a deregistered one, `unavailable`).
   */
  readonly failing: string[];
}

/**
 * Whether a colour that serves traffic still does: no instance that should be serving is failing,
 * at least one target is healthy, and the healthy ones plus those still joining make the desired
 * count. Instances launching or leaving (a scale-out or scale-in by the group's own policies) are
 * not failures; an instance stopped, deregistered or failing its health checks is.
 */
export function stillServing(seen: ColourHealth): boolean {
  return seen.failing.length === 0 && seen.healthyTargets >= 1 && seen.healthyTargets + seen.joining >= seen.capacity.desired;
}

/** `2 of 2 instances healthy in the green target group (i-1: unused Target.InvalidState)`, at most `max` problems named. */
export function describeColourHealth(seen: ColourHealth, colour: Colour, max = 5): string {
  const problems = seen.failing.length > 0 ? seen.failing : seen.problems;
  const shown = problems.slice(0, max).join(', ') + (problems.length > max ? ` and ${problems.length - max} more` : '');
  return `${seen.healthyTargets} of ${seen.capacity.desired} instances healthy in the ${colour} target group` +
    (shown ? ` (${shown})` : '') +
    `; ${seen.inService} InService in the Auto Scaling group` +
    (seen.joining > 0 ? `, ${seen.joining} still joining` : '');
}

/**
 * Which of a group's instances do not serve a release, with why, keyed by instance id
 * (`staleInstances` in release-instances.ts, bound to an EC2 client and a release).
 */
export type StaleInstances = (instances: readonly Instance[]) => Promise<Map<string, string>>;

/**
 * Looks at one colour's group and target group together. With `staleOf`, only instances that
 * serve the release count (see `staleInstances` in release-instances.ts); the others are listed
 * in `stale`, and the colour is not healthy while it has any. The EC2 side lives in its own
 * module so that the handlers that never ask about a release do not bundle the EC2 client.
 */
export async function assessColour(
  asg: AutoScalingClient,
  elbv2: ElasticLoadBalancingV2Client,
  colour: ColourConfig,
  staleOf?: StaleInstances,
): Promise<ColourHealth> {
  const group = await describeGroup(asg, colour.autoScalingGroupName);
  const capacity = capacityOf(group);
  const all = (group.Instances ?? []).filter((i): i is Instance & { InstanceId: string } => !!i.InstanceId);
  const staleById = staleOf ? await staleOf(all) : new Map<string, string>();
  const stale = [...staleById].map(([id, why]) => `${id}: ${why}`);
  const instances = all.filter((i) => !staleById.has(i.InstanceId));
  const states = instances.length > 0
    ? await targetStates(elbv2, colour.targetGroupArn, instances.map((i) => i.InstanceId))
    : new Map<string, TargetStatus>();
  let inService = 0;
  let healthy = 0;
  let joining = 0;
  const problems: string[] = [];
  const failing: string[] = [];
  const fail = (problem: string) => { problems.push(problem); failing.push(problem); };
  for (const i of instances) {
    const target = states.get(i.InstanceId);
    if (i.LifecycleState === 'InService') inService++;
    if (i.LifecycleState !== 'InService') {
      // Launching counts as joining; leaving (Terminating, Standby, Detaching) is neither
      // serving nor a failure: the desired count says whether enough are left.
      if (i.LifecycleState?.startsWith('Pending')) joining++;
      problems.push(`${i.InstanceId}: ${i.LifecycleState ?? 'unknown lifecycle state'}`);
    } else if (i.HealthStatus !== 'Healthy') {
      fail(`${i.InstanceId}: ${i.HealthStatus ?? 'unknown'} in the Auto Scaling group`);
    } else if (!target) {
      fail(`${i.InstanceId}: not registered in the target group`);
    } else if (target.state === 'initial') {
      joining++;
      problems.push(`${i.InstanceId}: ${[target.state, target.reason].filter(Boolean).join(' ')}`);
    } else if (target.state !== 'healthy') {
      fail(`${i.InstanceId}: ${[target.state, target.reason].filter(Boolean).join(' ')}`);
    } else {
      healthy++;
    }
  }
  return {
    capacity,
    inService,
    healthyTargets: healthy,
    healthy: capacity.desired > 0 && stale.length === 0 && healthy === capacity.desired && inService === capacity.desired,
    problems,
    stale,
    joining,
    failing,
  };
}

// ---------------------------------------------------------------------------
// Releases (SSM parameters).
// ---------------------------------------------------------------------------

async function getParameters(ssm: SSMClient, names: string[]): Promise<Map<string, Parameter>> {
  const found = new Map<string, Parameter>();
  // GetParameters takes at most 10 names.
  for (let i = 0; i < names.length; i += 10) {
    const out = await ssm.send(new GetParametersCommand({ Names: names.slice(i, i + 10) }));
    for (const p of out.Parameters ?? []) if (p.Name) found.set(p.Name, p);
  }
  const missing = names.filter((n) => !found.has(n));
  if (missing.length > 0) {
    throw new FleetStateConflict(`SSM parameter${missing.length > 1 ? 's' : ''} ${missing.join(', ')} ${missing.length > 1 ? 'do' : 'does'} not exist: redeploy the stack to create ${missing.length > 1 ? 'them' : 'it'}. Nothing was changed.`);
  }
  return found;
}

/** Releases of several colours, with one GetParameters call per five colours. */
export async function readReleases(ssm: SSMClient, colours: readonly ColourConfig[]): Promise<ColourRelease[]> {
  const params = await getParameters(ssm, colours.flatMap((c) => [c.imageParameterName, c.versionParameterName]));
  return colours.map((c) => ({
    imageId: params.get(c.imageParameterName)?.Value ?? '',
    version: params.get(c.versionParameterName)?.Value ?? '',
  }));
}

/** What one colour runs, from its parameters. */
export async function readRelease(ssm: SSMClient, colour: ColourConfig): Promise<ColourRelease> {
  return (await readReleases(ssm, [colour]))[0];
}

/**
 * Checks a release read back from a colour's parameters with the patterns the execution input
 * must match: a value someone put there by hand (`1.0;curl x|sh`) must never be copied into the
 * other colour or reported as a release. Throws FleetStateConflict naming the parameter, its
 * value and the fix; the caller has changed nothing yet.
 */
export function checkStoredRelease(colour: Colour, config: ColourConfig, release: ColourRelease): void {
  const bad: string[] = [];
  if (!IMAGE_ID_PATTERN.test(release.imageId)) {
    bad.push(`${config.imageParameterName} holds ${JSON.stringify(truncate(release.imageId))}, which is not an AMI id ('ami-' followed by 8 or 17 hex digits)`);
  }
  if (!VERSION_PATTERN.test(release.version)) {
    bad.push(`${config.versionParameterName} holds ${JSON.stringify(truncate(release.version))}, which is not a version (1 to 128 letters, digits and . _ + - starting with a letter or digit)`);
  }
  if (bad.length === 0) return;
  throw new FleetStateConflict(
    `The ${colour} colour's release parameters were changed outside the workflow: ${bad.join('; ')}. ` +
    'The workflow copies and reports these values, so it will not run with them. ' +
    `Put the release ${colour} really runs back with aws ssm put-parameter --overwrite --name <parameter> --value <value>, then start again. Nothing was changed.`,
  );
}

/** When a colour's release parameters last changed: the later LastModifiedDate of the two. */
export async function releaseWrittenAt(ssm: SSMClient, colour: ColourConfig): Promise<Date> {
  const params = await getParameters(ssm, [colour.imageParameterName, colour.versionParameterName]);
  const times = [...params.values()].map((p) => p.LastModifiedDate?.getTime());
  if (times.some((t) => t === undefined)) {
    throw new FleetStateConflict(`SSM reported no LastModifiedDate for ${colour.imageParameterName} or ${colour.versionParameterName}: the workflow cannot tell which instances were launched with the release. The colour was not started; the live colour was not touched.`);
  }
  return new Date(Math.max(...(times as number[])));
}

/** Writes a colour's parameters; only the ones that differ are put. Returns the names written. */
export async function writeRelease(ssm: SSMClient, colour: ColourConfig, release: ColourRelease): Promise<string[]> {
  const params = await getParameters(ssm, [colour.imageParameterName, colour.versionParameterName]);
  const written: string[] = [];
  for (const [name, value] of [[colour.imageParameterName, release.imageId], [colour.versionParameterName, release.version]] as const) {
    const current = params.get(name);
    if (current?.Value === value) continue;
    await ssm.send(new PutParameterCommand({
      Name: name,
      Value: value,
      Type: 'String',
      // Keep the data type the parameter was created with.
      DataType: current?.DataType,
      Overwrite: true,
    }));
    written.push(name);
  }
  return written;
}

// ---------------------------------------------------------------------------
// State helpers.
// ---------------------------------------------------------------------------

/**
 * Appends a stage's timing to the state's stages. A stage polled in a loop (health, bake)
 * extends its last entry instead of adding one per poll.
 */
export function appendStage(stages: readonly StageTiming[] | undefined, stage: string, startedAt: Date, endedAt: Date): StageTiming[] {
  const list = [...(stages ?? [])];
  const last = list[list.length - 1];
  if (last && last.stage === stage) {
    list[list.length - 1] = { stage, startedAt: last.startedAt, endedAt: endedAt.toISOString() };
  } else {
    list.push({ stage, startedAt: startedAt.toISOString(), endedAt: endedAt.toISOString() });
  }
  return list;
}

/** The state's live and target colours, which every handler after find-live needs. */
export function colours(state: CutoverState): { live: Colour; target: Colour } {
  if (!state.live || !state.target) {
    throw new TypeError(`The state has no live or target colour (live=${state.live}, target=${state.target}): this task must run after "${STATE_NAMES.findLive}".`);
  }
  return { live: state.live, target: state.target };
}

/** Adds seconds to a date, as ISO 8601. */
export function isoPlusSeconds(date: Date, seconds: number): string {
  return new Date(date.getTime() + seconds * 1000).toISOString();
}

/** The list with `colour` added once. */
export function withColour(list: readonly Colour[] | undefined, colour: Colour): Colour[] {
  return list?.includes(colour) ? [...list] : [...(list ?? []), colour];
}
