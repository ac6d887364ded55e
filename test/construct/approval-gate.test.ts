import { App, Duration, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { ApprovalGate, ApprovalTimeoutAction, FleetWarnings, TrafficShift } from '../../lib';
import { STATE_NAMES } from '../../lib/cutover-workflow';
import { CutoverOptions } from '../../lib/cutover-options';
import { HANDLER_SPECS } from '../../lib/private/handler-specs';
import { cutoverTimeoutSeconds, taskWorstCaseSeconds, TASK_TIMEOUT_SECONDS } from '../../lib/private/validation';
import { cutoverSettings } from '../../lib/private/settings';
import { fleetStack, onlyProblem, propsError } from './fleet-fixture';

/** The state machine definition with every token replaced by a placeholder. */
function definitionOf(template: Template): any {
  const [sm] = Object.values(template.findResources('AWS::StepFunctions::StateMachine'));
  const join = sm.Properties.DefinitionString['Fn::Join'];
  return JSON.parse(join[1].map((p: any) => (typeof p === 'string' ? p : 'TOKEN')).join(join[0]));
}

function build(cutover: CutoverOptions) {
  const { stack } = fleetStack({ cutover });
  const template = Template.fromStack(stack);
  return { stack, template, definition: definitionOf(template) };
}

const gateFunctions = (template: Template) => Object.values(template.findResources('AWS::Lambda::Function', { Properties: { Description: 'Blue/green cutover: approval-gate' } }));
const approvalStates = (definition: any) => Object.keys(definition.States).filter((n) => /approval|decision|Decided/i.test(n));
const catchTargets = (definition: any, name: string) => (definition.States[name].Catch ?? []).map((c: any) => c.Next);

describe('without cutover.approval', () => {
  test.each<[string, CutoverOptions, number]>([
    ['all at once', {}, 100],
    ['a canary', { trafficShift: TrafficShift.canary({ percent: 10, bake: Duration.minutes(1) }) }, 10],
  ])('%s has no approval state and no approval-gate function', (_name, cutover, firstStep) => {
    const { template, definition } = build(cutover);
    expect(approvalStates(definition)).toEqual([]);
    expect(gateFunctions(template)).toHaveLength(0);
    expect(definition.States[STATE_NAMES.smoke].Next).toBe(STATE_NAMES.shift(firstStep));
  });
});

describe('a pause before the shift', () => {
  const { template, definition } = build({ approval: { timeout: Duration.hours(2) } });
  const N = STATE_NAMES;

  test('sits between the smoke tests and the first shift: task, Choice, Wait of the poll interval', () => {
    expect(approvalStates(definition).sort()).toEqual([N.approval(), N.approvalVerdict(), N.waitApproval()].sort());
    expect(definition.States[N.smoke].Next).toBe(N.approval());
    expect(definition.States[N.approval()]).toMatchObject({
      Type: 'Task',
      Next: N.approvalVerdict(),
      Parameters: { 'state.$': '$', 'timeoutSeconds': 7200, 'onTimeout': 'roll-back' },
    });
    expect(definition.States[N.approval()].Parameters.weight).toBeUndefined();
    expect(definition.States[N.approvalVerdict()]).toEqual({
      Type: 'Choice',
      Choices: [{ Variable: '$.approval.done', BooleanEquals: true, Next: N.shift(100) }],
      Default: N.waitApproval(),
    });
    expect(definition.States[N.waitApproval()]).toEqual({ Type: 'Wait', Seconds: 10, Next: N.approval() });
  });

  test('a rejection, a timeout that rolls back or any failure scales the idle colour down (nothing moved yet)', () => {
    expect(catchTargets(definition, N.approval())).toEqual([N.superseded, N.scaleIdleDown]);
    expect(definition.States[N.approval()].Catch[1]).toMatchObject({ ErrorEquals: ['States.ALL'], ResultPath: '$.error' });
  });

  test('adds one approval-gate function, which reads and updates the lock table and reads alarms', () => {
    const [fn] = gateFunctions(template);
    expect(fn.Properties.Timeout).toBe(TASK_TIMEOUT_SECONDS);
    const role = fn.Properties.Role['Fn::GetAtt'][0];
    const [policy] = Object.values(template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: role }] } }));
    const actions = policy.Properties.PolicyDocument.Statement.flatMap((s: any) => [s.Action].flat());
    expect(actions).toEqual(expect.arrayContaining(['dynamodb:GetItem', 'dynamodb:UpdateItem', 'cloudwatch:DescribeAlarms']));
    expect(actions.filter((a: string) => a.startsWith('sns:'))).toEqual([]);
  });

  test('counts its timeout and its polls in the state machine timeout', () => {
    const plain = cutoverSettings({});
    const gated = cutoverSettings({ approval: { timeout: Duration.hours(2) } });
    const task = taskWorstCaseSeconds(TASK_TIMEOUT_SECONDS);
    expect(gated.timeoutSeconds - plain.timeoutSeconds).toBe(7200 + 10 + 2 * task);
    expect(definition.TimeoutSeconds).toBe(gated.timeoutSeconds);
  });
});

describe('pauses between canary or linear steps', () => {
  const N = STATE_NAMES;

  test('follow each partial step once it held; an alarm, a rejection or a failure moves traffic back', () => {
    const { definition } = build({
      trafficShift: TrafficShift.linear({ percentPerStep: 40, stepInterval: Duration.minutes(1) }),
      approval: { timeout: Duration.minutes(30), beforeShift: false, betweenSteps: true, onTimeout: ApprovalTimeoutAction.CONTINUE, pollInterval: Duration.seconds(30) },
    });
    expect(definition.States[N.smoke].Next).toBe(N.shift(40));
    for (const [weight, next] of [[40, N.shift(80)], [80, N.shift(100)]] as const) {
      expect(definition.States[N.watchVerdict(weight)].Choices).toContainEqual({ Variable: '$.shiftStep.done', BooleanEquals: true, Next: N.approval(weight) });
      expect(definition.States[N.approval(weight)].Parameters).toEqual({ 'state.$': '$', 'weight': weight, 'timeoutSeconds': 1800, 'onTimeout': 'continue' });
      expect(definition.States[N.approvalVerdict(weight)]).toEqual({
        Type: 'Choice',
        Choices: [
          { Variable: '$.alarm', IsPresent: true, Next: N.rollBack },
          { Variable: '$.approval.done', BooleanEquals: true, Next: next },
        ],
        Default: N.waitApproval(weight),
      });
      expect(definition.States[N.waitApproval(weight)]).toEqual({ Type: 'Wait', Seconds: 30, Next: N.approval(weight) });
      expect(catchTargets(definition, N.approval(weight))).toEqual([N.superseded, N.rollBack]);
    }
    expect(definition.States[N.approval()]).toBeUndefined();
  });

  test('both kinds of pause together, and the timeout counts every pause', () => {
    const cutover: CutoverOptions = {
      trafficShift: TrafficShift.canary({ percent: 10, bake: Duration.minutes(5) }),
      approval: { timeout: Duration.hours(1), betweenSteps: true },
    };
    const { definition } = build(cutover);
    expect(definition.States[N.smoke].Next).toBe(N.approval());
    expect(definition.States[N.approvalVerdict()].Choices[0].Next).toBe(N.shift(10));
    expect(definition.States[N.approval(10)]).toBeDefined();
    const settings = cutoverSettings(cutover);
    const { approval: _approval, ...without } = cutover;
    const task = taskWorstCaseSeconds(TASK_TIMEOUT_SECONDS);
    expect(settings.timeoutSeconds - cutoverTimeoutSeconds(cutoverSettings(without).timing)).toBe(2 * (3600 + 10 + 2 * task));
  });
});

describe('the approval-gate grants', () => {
  function grantsWith(notificationTopicArn?: string) {
    const allowed: Array<{ actions: string[]; resources: string[] }> = [];
    const stack = new Stack(new App(), 'S');
    HANDLER_SPECS['approval-gate'].grants({
      allow: (actions, resources) => { allowed.push({ actions, resources }); },
      allowWithListedCondition: () => undefined,
      allowDescribeExecutions: () => undefined,
      acknowledge: () => undefined,
    }, {
      stack, groupArns: [], parameterArns: [], tableArn: 'arn:table', launchTemplateArns: [], instanceRoleArn: 'arn:role',
      ...(notificationTopicArn ? { notificationTopicArn } : {}),
    });
    return allowed;
  }

  test('sns:Publish on the fleet topic only, and only when the fleet has one', () => {
    expect(grantsWith().flatMap((g) => g.actions).filter((a) => a.startsWith('sns:'))).toEqual([]);
    expect(grantsWith('arn:aws:sns:us-east-1:123456789012:web').filter((g) => g.actions.includes('sns:Publish')))
      .toEqual([{ actions: ['sns:Publish'], resources: ['arn:aws:sns:us-east-1:123456789012:web'] }]);
  });
});

describe('cutover.approval validation', () => {
  const error = (approval: Partial<ApprovalGate>, extra: CutoverOptions = {}) => onlyProblem(propsError(() => ({ cutover: { ...extra, approval: approval as ApprovalGate } })));

  test.each([
    ['no timeout', {}, 'cutover.approval.timeout is missing: set how long a pause waits for a decision, such as Duration.hours(1).'],
    ['a timeout of 0', { timeout: Duration.seconds(0) }, 'cutover.approval.timeout is 0 seconds: set it to at least 1 second, such as Duration.hours(1).'],
    ['a timeout in milliseconds', { timeout: Duration.millis(1500) }, 'cutover.approval.timeout is 1500 ms: use a whole number of seconds, such as Duration.seconds(2); Step Functions waits in whole seconds.'],
    ['a timeout shorter than the poll interval', { timeout: Duration.seconds(5) },
      'cutover.approval.timeout (5 seconds) is shorter than cutover.pollInterval (10 seconds): a pause would look for a decision only once. Set the timeout to at least the poll interval.'],
    ['a poll interval of 0', { timeout: Duration.minutes(5), pollInterval: Duration.seconds(0) }, 'cutover.approval.pollInterval is 0 seconds: set it to at least 1 second, such as Duration.seconds(30).'],
    ['an unknown onTimeout', { timeout: Duration.minutes(5), onTimeout: 'wait' as ApprovalTimeoutAction }, 'cutover.approval.onTimeout is "wait": use ApprovalTimeoutAction.ROLL_BACK or ApprovalTimeoutAction.CONTINUE.'],
    ['no pause at all', { timeout: Duration.minutes(5), beforeShift: false },
      'cutover.approval pauses nowhere: beforeShift is false and betweenSteps is not set. Set beforeShift to true, or betweenSteps to true with a canary or linear shift, or remove approval.'],
  ])('rejects %s', (_name, approval, message) => {
    expect(error(approval)).toBe(message);
  });

  test('rejects pauses only between steps of a shift that has none', () => {
    const message = propsError(() => ({ cutover: { approval: { timeout: Duration.minutes(5), beforeShift: false, betweenSteps: true } } }));
    expect(message).toContain('cutover.approval pauses nowhere: beforeShift is false and cutover.trafficShift moves all traffic at once, so betweenSteps has no steps.');
  });

  test('rejects pauses whose polls overflow the execution history, naming the approval poll interval that fits', () => {
    expect(error({ timeout: Duration.days(30), pollInterval: Duration.seconds(60) }))
      .toMatch(/^cutover\.approval\.pollInterval \(60 seconds\) makes the workflow look for a decision up to 43201 times .* raise approval\.pollInterval to at least \d+ seconds, or shorten approval\.timeout\.$/);
  });

  test('rejects pauses that poll at the cutover pollInterval too often, pointing at approval.pollInterval too', () => {
    expect(error({ timeout: Duration.days(3) }))
      .toMatch(/^cutover\.pollInterval \(10 seconds\) makes the workflow check health and alarms up to \d+ times \(healthyTimeout, each shift step and bakeTime, and every approval pause, divided by pollInterval\).* raise pollInterval to at least \d+ seconds, .*\(or set approval\.pollInterval, or shorten approval\.timeout\)\.$/);
  });

  test('rejects pauses longer than a Step Functions execution may run', () => {
    expect(error({ timeout: Duration.days(400), pollInterval: Duration.days(1) })).toMatch(/^cutover: the workflow can run for up to 4\d\d\.\d days .*every approval pause's timeout.*shorten keepPreviousWarm, bakeTime, approval\.timeout or the shift steps\.$/);
  });

  test('warns, and pauses only before the shift, when betweenSteps is set with an all-at-once shift', () => {
    const { stack, definition } = build({ approval: { timeout: Duration.minutes(5), betweenSteps: true } });
    const warnings = Annotations.fromStack(stack).findWarning('/TestStack/Web', Match.stringLikeRegexp('.*')).map((w) => w.entry.data);
    expect(warnings).toEqual([
      `cutover.approval.betweenSteps is set but cutover.trafficShift moves all traffic at once: there are no steps to pause between. Remove betweenSteps, or use TrafficShift.canary() or TrafficShift.linear(). [ack: ${FleetWarnings.APPROVAL_BETWEEN_STEPS_NEVER_USED}]`,
    ]);
    expect(approvalStates(definition).sort()).toEqual([STATE_NAMES.approval(), STATE_NAMES.approvalVerdict(), STATE_NAMES.waitApproval()].sort());
  });

  test('accepts the smallest pause validation allows: 1 second, polled every second', () => {
    expect(() => build({ pollInterval: Duration.seconds(1), healthyTimeout: Duration.seconds(1), approval: { timeout: Duration.seconds(1) } })).not.toThrow();
  });
});
