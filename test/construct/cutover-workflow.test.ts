import { Duration } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import { SmokeCheck, TrafficShift } from '../../lib';
import { STATE_NAMES } from '../../lib/cutover-workflow';
import { HANDLERS, HISTORY_INDEX_NAME, retryWaitSeconds, ROLLBACK_ANY_ERROR_RETRY, ROLLBACK_TRANSIENT_RETRY, THROTTLING_RETRY, TRANSIENT_ERRORS, TRANSIENT_RETRY } from '../../lib/private/contract';
import { DEPLOY_TIME_VALUE_BYTES, FLEET_CONFIG_BUDGET_BYTES } from '../../lib/private/fleet-config-size';
import {
  DNS_TASK_TIMEOUT_SECONDS, rollbackWorstCaseSeconds, TASK_TIMEOUT_MARGIN_SECONDS, TASK_TIMEOUT_SECONDS, transientRevertWorstCaseSeconds,
} from '../../lib/private/validation';
import { fleetStack } from './fleet-fixture';

/** The state machine definition with every token replaced by a placeholder. */
function definitionOf(template: Template): any {
  const [sm] = Object.values(template.findResources('AWS::StepFunctions::StateMachine'));
  const join = sm.Properties.DefinitionString['Fn::Join'];
  return JSON.parse(join[1].map((p: any) => (typeof p === 'string' ? p : 'TOKEN')).join(join[0]));
}

const READ_ONLY = /^[a-z0-9-]+:(Describe|Get|List|BatchGet|Query|Scan)/;

describe('the cutover workflow', () => {
  const { stack, fleet } = fleetStack({
    cutover: { smokeChecks: [SmokeCheck.http({ path: '/health', jsonField: 'version', jsonValue: '${version}' })], bakeTime: Duration.minutes(2) },
  });
  const userAlarm = new cloudwatch.Alarm(stack, 'Orders', { metric: new cloudwatch.Metric({ namespace: 'Shop', metricName: 'FailedOrders' }), threshold: 1, evaluationPeriods: 1 });
  fleet.addRollbackAlarm(userAlarm);
  const pipeline = new iam.Role(stack, 'Pipeline', { assumedBy: new iam.AccountRootPrincipal() });
  fleet.grantStartCutover(pipeline);
  const template = Template.fromStack(stack);
  const definition = definitionOf(template);

  test('is a Standard state machine written in JSONPath (no JSONata anywhere)', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', { StateMachineType: 'STANDARD', TracingConfiguration: { Enabled: true } });
    const text = JSON.stringify(definition);
    expect(definition.QueryLanguage ?? 'JSONPath').toBe('JSONPath');
    expect(text).not.toMatch(/JSONata|\{%/);
    for (const state of Object.values<any>(definition.States)) expect(state.QueryLanguage ?? 'JSONPath').toBe('JSONPath');
  });

  test('names its states so the console tells the story', () => {
    const names = Object.keys(definition.States);
    for (const n of [STATE_NAMES.start, STATE_NAMES.findLive, STATE_NAMES.prepare, STATE_NAMES.checkHealth, STATE_NAMES.smoke,
      STATE_NAMES.shift(100), STATE_NAMES.bake, STATE_NAMES.keepWarm, STATE_NAMES.retire, STATE_NAMES.release, STATE_NAMES.succeeded,
      STATE_NAMES.rollBack, STATE_NAMES.scaleFailedDown, STATE_NAMES.rolledBack, STATE_NAMES.scaleIdleDown, STATE_NAMES.failed]) {
      expect(names).toContain(n);
    }
    expect(definition.StartAt).toBe(STATE_NAMES.start);
  });

  test('every failure after the shift goes to the rollback, every failure before it to the idle scale-down', () => {
    const catchTargets = (name: string) => (definition.States[name].Catch ?? []).map((c: any) => c.Next);
    expect(catchTargets(STATE_NAMES.shift(100))).toEqual([STATE_NAMES.superseded, STATE_NAMES.rollBack]);
    expect(catchTargets(STATE_NAMES.bake)).toEqual([STATE_NAMES.superseded, STATE_NAMES.rollBack]);
    for (const n of [STATE_NAMES.prepare, STATE_NAMES.checkHealth, STATE_NAMES.smoke]) expect(catchTargets(n)).toEqual([STATE_NAMES.superseded, STATE_NAMES.scaleIdleDown]);
    expect(definition.States[STATE_NAMES.rollBack].Next).toBe(STATE_NAMES.scaleFailedDown);
  });

  test('every Fail state that reads $.failure is reached only where $.failure is set', () => {
    const N = STATE_NAMES;
    const catchTargets = (name: string) => (definition.States[name].Catch ?? []).map((c: any) => c.Next);
    // The release-lock tasks set $.failure; when one of them fails, a Pass state sets it instead.
    expect(definition.States[N.releaseAfterFailure].Next).toBe(N.failed);
    expect(catchTargets(N.releaseAfterFailure)).toEqual([N.superseded, N.lockHeldAfterFailure]);
    expect(definition.States[N.releaseAfterRollback].Next).toBe(N.rolledBack);
    expect(catchTargets(N.releaseAfterRollback)).toEqual([N.superseded, N.rollbackFailedToo]);
    expect(definition.States[N.release].Next).toBe(N.lockReleased);
    expect(catchTargets(N.release)).toEqual([N.superseded, N.lockHeldAfterSuccess]);
    expect(definition.States[N.lockReleased].Choices).toEqual([{ Variable: '$.failure', IsPresent: true, Next: N.failed }]);
    expect(definition.States[N.lockReleased].Default).toBe(N.summarize);
    expect(definition.States[N.rollbackFailedToo].Choices).toEqual([{ Variable: '$.rollbackError', IsPresent: true, Next: N.lockHeldRollbackFailed }]);
    expect(definition.States[N.rollbackFailedToo].Default).toBe(N.lockHeldAfterRollback);
    for (const pass of [N.lockHeldAfterFailure, N.lockHeldAfterSuccess, N.lockHeldAfterRollback, N.lockHeldRollbackFailed]) {
      expect(definition.States[pass]).toMatchObject({ Type: 'Pass', ResultPath: '$.failure' });
      expect(definition.States[pass].Parameters['cause.$']).toMatch(/^States\.Format\('[^']+', \$\.[a-zA-Z.]+(, \$\.[a-zA-Z.]+)*\)$/);
    }
    // Every state that leads into a Fail state reading $.failure is one of those above.
    const intoFailure = Object.entries<any>(definition.States)
      .filter(([, s]) => [s.Next, s.Default, ...(s.Choices ?? []).map((c: any) => c.Next), ...(s.Catch ?? []).map((c: any) => c.Next)].some((n) => n === N.failed || n === N.rolledBack))
      .map(([name]) => name).sort();
    expect(intoFailure).toEqual([N.lockHeldAfterFailure, N.lockHeldAfterRollback, N.lockHeldAfterSuccess, N.lockHeldRollbackFailed, N.lockReleased, N.releaseAfterFailure, N.releaseAfterRollback].sort());
  });

  test('retries throttling with backoff and jitter on every handler task', () => {
    const tasks = Object.entries<any>(definition.States).filter(([, s]) => s.Type === 'Task');
    expect(tasks.length).toBeGreaterThanOrEqual(HANDLERS.length);
    for (const [, t] of tasks) {
      expect(t.Retry[0]).toMatchObject({ ErrorEquals: expect.arrayContaining(['Lambda.TooManyRequestsException', 'ThrottlingException']), BackoffRate: 2, JitterStrategy: 'FULL' });
    }
  });

  // Lambda developer guide, "Lambda function states": a function idle long enough is Inactive, and
  // the first invocation fails (ResourceNotReadyException; ENINotReadyException for a VPC
  // function's network interfaces) while Lambda re-creates its resources. Cutovers are weeks apart.
  test('retries a function being re-activated for minutes on every handler task', () => {
    const tasks = Object.entries<any>(definition.States).filter(([, s]) => s.Type === 'Task');
    for (const [name, t] of tasks) {
      const retry = t.Retry.find((r: any) => r.ErrorEquals.includes('Lambda.ResourceNotReadyException'));
      expect([name, retry]).toEqual([name, expect.objectContaining({
        ErrorEquals: expect.arrayContaining(['Lambda.ResourceNotReadyException', 'Lambda.ENINotReadyException']),
        IntervalSeconds: 5, BackoffRate: 2, MaxAttempts: 6, MaxDelaySeconds: 60,
      })]);
    }
  });

  // A 5xx or a reset connection that outlasts the SDK client's 5 attempts, or a hung invocation,
  // is retried by the state machine before any task gives up.
  test('retries transient errors and timeouts, and has a TimeoutSeconds over its function timeout, on every handler task', () => {
    const fnTimeout = (handler: string) => Object.values(template.findResources('AWS::Lambda::Function'))
      .find((f) => f.Properties.Description === `Blue/green cutover: ${handler}`)!.Properties.Timeout as number;
    const tasks = Object.entries<any>(definition.States).filter(([, s]) => s.Type === 'Task');
    expect(tasks.length).toBeGreaterThanOrEqual(HANDLERS.length);
    for (const [name, t] of tasks) {
      const transient = t.Retry.find((r: any) => r.ErrorEquals.includes('InternalFailure'));
      const budget = name === STATE_NAMES.rollBack || name === STATE_NAMES.rollbackShift ? ROLLBACK_TRANSIENT_RETRY : TRANSIENT_RETRY;
      expect([name, transient]).toEqual([name, {
        ErrorEquals: TRANSIENT_ERRORS,
        IntervalSeconds: budget.intervalSeconds, BackoffRate: budget.backoffRate, MaxAttempts: budget.maxAttempts,
        MaxDelaySeconds: budget.maxDelaySeconds, JitterStrategy: 'FULL',
      }]);
      for (const e of ['Sandbox.Timedout', 'States.Timeout', 'Lambda.Unknown', 'ServiceUnavailable', 'InternalError', 'TimeoutError', 'RequestTimeout']) {
        expect(t.Retry.filter((r: any) => r.ErrorEquals.includes(e)).length).toBe(1);
      }
      // States.ALL may only come last: the transient retrier before it.
      const any = t.Retry.findIndex((r: any) => r.ErrorEquals.includes('States.ALL'));
      if (any >= 0) expect(any).toBe(t.Retry.length - 1);
      const handler = name === STATE_NAMES.smoke ? 'smoke-test' : undefined;
      expect([name, t.TimeoutSeconds]).toEqual([name, (handler ? fnTimeout(handler) : TASK_TIMEOUT_SECONDS) + TASK_TIMEOUT_MARGIN_SECONDS]);
    }
    expect(definition.States[STATE_NAMES.rollBack].Retry.at(-1)).toMatchObject({ ErrorEquals: ['States.ALL'], MaxAttempts: ROLLBACK_ANY_ERROR_RETRY.maxAttempts });
  });

  test('moving traffic back has the largest retry budget; its worst case is stated', () => {
    expect(retryWaitSeconds(ROLLBACK_TRANSIENT_RETRY)).toBeGreaterThan(retryWaitSeconds(TRANSIENT_RETRY));
    expect(ROLLBACK_TRANSIENT_RETRY.maxAttempts).toBeGreaterThan(TRANSIENT_RETRY.maxAttempts);
    const fromDefinition = (name: string) => {
      const s = definition.States[name];
      const r = s.Retry.find((x: any) => x.ErrorEquals.includes('States.Timeout'));
      let waits = 0;
      for (let i = 0; i < r.MaxAttempts; i++) waits += Math.min(r.MaxDelaySeconds, r.IntervalSeconds * r.BackoffRate ** i);
      return { attempts: 1 + r.MaxAttempts, timeout: s.TimeoutSeconds, waits, total: (1 + r.MaxAttempts) * s.TimeoutSeconds + waits };
    };
    const revert = fromDefinition(STATE_NAMES.rollBack);
    const ordinary = fromDefinition(STATE_NAMES.bake);
    expect(revert.total).toBe(transientRevertWorstCaseSeconds(TASK_TIMEOUT_SECONDS));
    expect(revert.total).toBe(525);
    expect(fromDefinition(STATE_NAMES.rollbackShift).total).toBe(525);
    expect(rollbackWorstCaseSeconds(TASK_TIMEOUT_SECONDS)).toBe(1408);
    expect(transientRevertWorstCaseSeconds(DNS_TASK_TIMEOUT_SECONDS)).toBe(2205);
    // eslint-disable-next-line no-console
    console.log([
      `Transient retry budget, every task: ${ordinary.attempts} attempts of up to ${ordinary.timeout} s, ${ordinary.waits} s of waits at most: ${ordinary.total} s.`,
      `Move traffic back: ${revert.attempts} attempts of up to ${revert.timeout} s, ${revert.waits} s of waits at most: `
        + `worst case from the rollback decision to traffic back, on transient errors and timeouts: ${revert.total} s.`,
      `With every retrier of the task spent (throttling ${THROTTLING_RETRY.maxAttempts}, transient ${ROLLBACK_TRANSIENT_RETRY.maxAttempts}, `
        + `any error ${ROLLBACK_ANY_ERROR_RETRY.maxAttempts}, each attempt up to ${revert.timeout} s, plus Lambda re-activation waits): ${rollbackWorstCaseSeconds(TASK_TIMEOUT_SECONDS)} s.`,
      `With Route 53 switching (function timeout ${DNS_TASK_TIMEOUT_SECONDS} s): ${transientRevertWorstCaseSeconds(DNS_TASK_TIMEOUT_SECONDS)} s on transient errors and timeouts, `
        + `${rollbackWorstCaseSeconds(DNS_TASK_TIMEOUT_SECONDS)} s with every retrier spent.`,
    ].join('\n'));
  });

  test('one function and one role per handler', () => {
    const fns = Object.values(template.findResources('AWS::Lambda::Function')).filter((f) => String(f.Properties.Description).startsWith('Blue/green cutover'));
    expect(fns).toHaveLength(HANDLERS.length);
    expect(new Set(fns.map((f) => JSON.stringify(f.Properties.Role))).size).toBe(HANDLERS.length);
    for (const f of fns) expect(f.Properties).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'], Handler: 'index.handler' });
  });

  test('each handler gets exactly the lock table actions it uses, on the lock table only', () => {
    const table = Object.keys(template.findResources('AWS::DynamoDB::Table'))[0];
    const tableActions = (handler: string) => {
      const fn = Object.values(template.findResources('AWS::Lambda::Function')).find((f) => f.Properties.Description === `Blue/green cutover: ${handler}`)!;
      const role = fn.Properties.Role['Fn::GetAtt'][0];
      const statements = Object.values(template.findResources('AWS::IAM::Policy'))
        .filter((p) => p.Properties.Roles.some((r: any) => r.Ref === role))
        .flatMap((p) => p.Properties.PolicyDocument.Statement);
      const onTable = statements.filter((st) => JSON.stringify(st.Resource).includes(table));
      for (const st of onTable) expect(st.Resource).toEqual({ 'Fn::GetAtt': [table, 'Arn'] });
      expect(statements.filter((st) => [].concat(st.Action).some((a: string) => a.startsWith('dynamodb:')) && !onTable.includes(st))).toEqual([]);
      return onTable.flatMap((st) => [].concat(st.Action)).sort();
    };
    expect(Object.fromEntries(HANDLERS.map((h) => [h, tableActions(h)]))).toEqual({
      'start': ['dynamodb:PutItem'],
      // A rollback reads the record of the colour the last cutover left; the colour a stop goes back to is recorded on the lock.
      'find-live': ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
      // Each task that changes the fleet reads the lock first: only its holder changes anything.
      // ... and Prepare retires a previous-colour record naming the colour it is about to change.
      'prepare': ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
      'check-health': ['dynamodb:GetItem'],
      'smoke-test': [],
      // A rollback execution's move (and move back) updates the colour a stop goes back to.
      'shift': ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
      'check-alarms': [],
      'roll-back': ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
      'scale-to-zero': ['dynamodb:GetItem'],
      // The lock to KeepingWarm, then the record of the colour traffic left.
      'keep-warm': ['dynamodb:PutItem', 'dynamodb:UpdateItem'],
      // The lock to Retiring, the record to retired.
      'retire-previous': ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
      // The result in a transaction with a check of the lock's owner; a retry reads both.
      'release-lock': ['dynamodb:ConditionCheckItem', 'dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem'],
      // Reads the lock, claims it, retires the previous-colour record, records the result, releases the lock.
      'recover': ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
    });
  });

  test('no mutating IAM statement has Resource "*", but PutMetricData limited to the BlueGreenFleet namespace', () => {
    for (const policy of Object.values(template.findResources('AWS::IAM::Policy'))) {
      for (const st of policy.Properties.PolicyDocument.Statement) {
        const actions: string[] = [].concat(st.Action);
        const resources = [].concat(st.Resource);
        if (!resources.includes('*' as never)) continue;
        // PutMetricData has no resource-level permissions: its condition key is the namespace.
        const metricOnly = actions.length === 1 && actions[0] === 'cloudwatch:PutMetricData';
        if (metricOnly) expect(st.Condition).toEqual({ StringEquals: { 'cloudwatch:namespace': 'BlueGreenFleet' } });
        else expect(actions.filter((a) => !READ_ONLY.test(a) && !a.startsWith('xray:') && !a.startsWith('logs:'))).toEqual([]);
      }
    }
  });

  test('the start task carries the fleet config as a literal: rollback alarms added after construction, the smoke checks', () => {
    const start = definition.States[STATE_NAMES.start];
    expect(Object.keys(start.Parameters).sort()).toEqual(['config', 'executionId.$', 'input.$']);
    const config = start.Parameters.config;
    expect(config).toMatchObject({ fleetId: expect.any(String), lockTableName: 'TOKEN', smokeRounds: expect.any(Number) });
    expect(config.smokeChecks).toEqual([expect.objectContaining({ path: '/health', jsonField: 'version', jsonValue: '${version}' })]);
    expect(config.rollbackAlarmNames).toHaveLength(1);
    // The user's alarm, added after construction, is referenced by the config literals only.
    const raw = JSON.stringify(template.findResources('AWS::StepFunctions::StateMachine'));
    const ref = JSON.stringify({ Ref: stack.getLogicalId(userAlarm.node.defaultChild as cloudwatch.CfnAlarm) });
    expect(raw.split(ref)).toHaveLength(3);
  });

  test('every state after the start keeps the config, and the execution output leaves it out', () => {
    const start = definition.States[STATE_NAMES.start];
    // "Start failed" builds a new state: it carries the same literal for the release-lock task.
    expect(definition.States[STATE_NAMES.startFailed].Parameters.config).toEqual(start.Parameters.config);
    for (const [name, state] of Object.entries<any>(definition.States)) {
      if (name === STATE_NAMES.start || name === STATE_NAMES.summarize) continue;
      // A state that replaces the state with its Parameters (no ResultPath) must pass the state on or carry the config.
      if (!state.Parameters || 'ResultPath' in state) continue;
      if (state.Type === 'Task') expect([name, state.Parameters['state.$']]).toEqual([name, '$']);
      else expect([name, state.Parameters.config]).toEqual([name, start.Parameters.config]);
    }
    const summary = definition.States[STATE_NAMES.summarize].Parameters;
    expect(Object.keys(summary).sort()).toEqual(['action.$', 'live.$', 'liveRelease.$', 'previous.$', 'previousRelease.$', 'stages.$']);
  });

  test('no function carries the fleet config in its environment, and no environment is over 1 KB', () => {
    const fns = Object.values(template.findResources('AWS::Lambda::Function'));
    for (const f of fns) {
      const variables = f.Properties.Environment?.Variables ?? {};
      expect(JSON.stringify(variables).length).toBeLessThan(1024);
      expect(JSON.stringify(variables)).not.toMatch(/lockTableName|smokeChecks|BLUE_GREEN_FLEET_CONFIG/);
    }
    const handlers = fns.filter((f) => String(f.Properties.Description).startsWith('Blue/green cutover'));
    expect(handlers).toHaveLength(HANDLERS.length);
    for (const f of handlers) expect(f.Properties.Environment.Variables).toEqual({ POWERTOOLS_SERVICE_NAME: 'blue-green-cutover' });
  });

  test('grantStartCutover lets a role start executions of this state machine only', () => {
    const [policy] = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) => p.Properties.Roles[0].Ref === stack.getLogicalId(pipeline.node.defaultChild as iam.CfnRole));
    const start = policy.Properties.PolicyDocument.Statement.find((s: any) => s.Action === 'states:StartExecution');
    expect(start.Resource).toEqual({ Ref: expect.stringMatching(/CutoverStateMachine/) });
  });

  test('the lock table is keyed by fleet and billed per request', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', { KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }], BillingMode: 'PAY_PER_REQUEST' });
  });

  test('the lock table has one global secondary index, History: the fleet id, then when an execution ended, all attributes', () => {
    // A fleet deployed before the index existed gets it by an in-place update: GlobalSecondaryIndexes
    // of AWS::DynamoDB::Table update with no interruption (CloudFormation resource reference), and
    // DynamoDB creates or deletes one global secondary index per UpdateTable call (DynamoDB API
    // reference, UpdateTable / GlobalSecondaryIndexUpdate): so this update adds exactly one.
    const [table] = Object.values(template.findResources('AWS::DynamoDB::Table'));
    expect(table.Properties.GlobalSecondaryIndexes).toEqual([{
      IndexName: HISTORY_INDEX_NAME,
      KeySchema: [{ AttributeName: 'historyOf', KeyType: 'HASH' }, { AttributeName: 'endedAt', KeyType: 'RANGE' }],
      Projection: { ProjectionType: 'ALL' },
    }]);
    expect(table.Properties.AttributeDefinitions).toEqual(expect.arrayContaining([
      { AttributeName: 'pk', AttributeType: 'S' }, { AttributeName: 'historyOf', AttributeType: 'S' }, { AttributeName: 'endedAt', AttributeType: 'S' },
    ]));
    // The table keeps its key: the update is not a replacement.
    expect(table.Properties.KeySchema).toEqual([{ AttributeName: 'pk', KeyType: 'HASH' }]);
  });

  test('no handler role may query the table (none reads the history); grantReadHistory allows Query on the History index only', () => {
    const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap((p) => p.Properties.PolicyDocument.Statement);
    expect(statements.filter((st: any) => [st.Action].flat().some((a: string) => a.startsWith('dynamodb:Query') || a === 'dynamodb:*'))).toEqual([]);

    const other = fleetStack();
    const operator = new iam.Role(other.stack, 'Operator', { assumedBy: new iam.AccountRootPrincipal() });
    other.fleet.grantReadHistory(operator);
    const t = Template.fromStack(other.stack);
    const tableId = Object.keys(t.findResources('AWS::DynamoDB::Table'))[0];
    const [policy] = Object.values(t.findResources('AWS::IAM::Policy')).filter((p) => p.Properties.Roles[0].Ref === other.stack.getLogicalId(operator.node.defaultChild as iam.CfnRole));
    expect(policy.Properties.PolicyDocument.Statement).toEqual([{
      Effect: 'Allow',
      Action: 'dynamodb:Query',
      Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [tableId, 'Arn'] }, `/index/${HISTORY_INDEX_NAME}`]] },
    }]);
  });

  describe('a stop is a safe stop', () => {
    const logicalId = (type: string, match: (r: any) => boolean) => {
      const ids = Object.entries(template.findResources(type)).filter(([, r]) => match(r)).map(([id]) => id);
      expect(ids).toHaveLength(1);
      return ids[0];
    };
    const stateMachineId = logicalId('AWS::StepFunctions::StateMachine', () => true);
    const tableId = logicalId('AWS::DynamoDB::Table', () => true);
    const fnId = (handler: string) => logicalId('AWS::Lambda::Function', (f) => f.Properties.Description === `Blue/green cutover: ${handler}`);
    const recoveryRules = () => Object.values(template.findResources('AWS::Events::Rule')).filter((r) => r.Properties.EventPattern?.source?.includes('aws.states'));

    test('an EventBridge rule sends this state machine\'s ABORTED, TIMED_OUT and FAILED executions to the recovery handler', () => {
      const rules = recoveryRules();
      expect(rules).toHaveLength(1);
      const [rule] = rules;
      expect(rule.Properties.State).toBe('ENABLED');
      expect(rule.Properties.EventPattern).toEqual({
        'source': ['aws.states'],
        'detail-type': ['Step Functions Execution Status Change'],
        'detail': { stateMachineArn: [{ Ref: stateMachineId }], status: ['ABORTED', 'TIMED_OUT', 'FAILED'] },
      });
      expect(rule.Properties.Targets).toHaveLength(1);
      expect(rule.Properties.Targets[0].Arn).toEqual({ 'Fn::GetAtt': [fnId('recover'), 'Arn'] });
      // EventBridge may invoke the function, from this rule only.
      template.hasResourceProperties('AWS::Lambda::Permission', {
        Action: 'lambda:InvokeFunction', Principal: 'events.amazonaws.com',
        FunctionName: { 'Fn::GetAtt': [fnId('recover'), 'Arn'] },
        SourceArn: { 'Fn::GetAtt': [logicalId('AWS::Events::Rule', (r) => r.Properties.EventPattern?.source?.includes('aws.states')), 'Arn'] },
      });
    });

    test('the rule\'s input transformer builds the execution-status event: kind, fleetId, lockTableName, executionArn, status', () => {
      const { InputTransformer: transformer } = recoveryRules()[0].Properties.Targets[0];
      expect(transformer.InputPathsMap).toEqual({ 'detail-executionArn': '$.detail.executionArn', 'detail-status': '$.detail.status' });
      const [sep, parts] = transformer.InputTemplate['Fn::Join'];
      expect(parts.filter((p: unknown) => typeof p !== 'string')).toEqual([{ Ref: tableId }]);
      const text: string = parts.map((p: unknown) => (typeof p === 'string' ? p : 'LOCK_TABLE')).join(sep);
      // EventBridge puts string values of a JSON template in quotes (EventBridge user guide, "Input transformation").
      const arn = 'arn:aws:states:us-east-1:123456789012:execution:Cutover:run-1';
      const event = JSON.parse(text.replace('<detail-executionArn>', JSON.stringify(arn)).replace('<detail-status>', JSON.stringify('ABORTED')));
      expect(event).toEqual({
        kind: 'execution-status',
        // The fleet whose lock the state machine's tasks take.
        fleetId: definition.States[STATE_NAMES.start].Parameters.config.fleetId,
        lockTableName: 'LOCK_TABLE',
        executionArn: arn,
        status: 'ABORTED',
      });
      expect(event.fleetId).toEqual(expect.any(String));
      expect(event.fleetId.length).toBeGreaterThan(0);
    });

    test('the rule retries a failed invocation twice, for at most an hour', () => {
      expect(recoveryRules()[0].Properties.Targets[0].RetryPolicy).toEqual({ MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 3600 });
    });

    test('the start function may describe this state machine\'s executions, and no others', () => {
      const startRole = template.findResources('AWS::Lambda::Function')[fnId('start')].Properties.Role['Fn::GetAtt'][0];
      const statements = Object.values(template.findResources('AWS::IAM::Policy'))
        .filter((p) => p.Properties.Roles.some((r: any) => r.Ref === startRole))
        .flatMap((p) => p.Properties.PolicyDocument.Statement)
        .filter((st: any) => [].concat(st.Action).some((a: string) => a.startsWith('states:')));
      expect(statements).toHaveLength(1);
      const [st] = statements;
      expect(st.Effect).toBe('Allow');
      expect([].concat(st.Action)).toEqual(['states:DescribeExecution']);
      // arn:<partition>:states:<region>:<account>:execution:<state machine name>:*
      const [sep, parts] = st.Resource['Fn::Join'];
      expect(sep).toBe('');
      expect(parts.slice(-3)).toEqual([expect.stringMatching(/:execution:$/), { 'Fn::GetAtt': [stateMachineId, 'Name'] }, ':*']);
      expect(parts[0]).toBe('arn:');
      expect(parts.filter((p: unknown) => typeof p === 'string').join('|')).not.toMatch(/execution:\*|^\*$|\|\*\|/);
      // A policy of its own, on the start function's role only.
      const policy = Object.values(template.findResources('AWS::IAM::Policy')).find((p) => p.Properties.PolicyDocument.Statement.includes(st))!;
      expect(policy.Properties.Roles).toEqual([{ Ref: startRole }]);
    });

    test('every task but the start catches Superseded first, into the Superseded Fail state that reports what the task threw', () => {
      expect(definition.States[STATE_NAMES.superseded]).toEqual({ Type: 'Fail', ErrorPath: '$.Error', CausePath: '$.Cause' });
      const tasks = Object.entries<any>(definition.States).filter(([name, s]) => s.Type === 'Task' && name !== STATE_NAMES.start);
      expect(tasks.map(([name]) => name)).toEqual(expect.arrayContaining([
        STATE_NAMES.recover, STATE_NAMES.findLive, STATE_NAMES.prepare, STATE_NAMES.checkHealth, STATE_NAMES.smoke, STATE_NAMES.shift(100),
        STATE_NAMES.bake, STATE_NAMES.keepWarm, STATE_NAMES.retire, STATE_NAMES.release, STATE_NAMES.rollBack, STATE_NAMES.scaleFailedDown,
        STATE_NAMES.releaseAfterRollback, STATE_NAMES.scaleIdleDown, STATE_NAMES.releaseAfterFailure, STATE_NAMES.rollbackShift, STATE_NAMES.rollbackRetire,
      ]));
      // With a canary, the shift steps and their alarm watches too.
      const canary = definitionOf(Template.fromStack(fleetStack({ cutover: { trafficShift: TrafficShift.canary({ percent: 10, bake: Duration.minutes(5) }) } }).stack));
      const canaryTasks = Object.entries<any>(canary.States).filter(([name, s]) => s.Type === 'Task' && name !== STATE_NAMES.start);
      expect(canaryTasks.map(([name]) => name)).toEqual(expect.arrayContaining([STATE_NAMES.shift(10), STATE_NAMES.watch(10), STATE_NAMES.shift(100)]));
      for (const [name, t] of [...tasks, ...canaryTasks]) {
        expect([name, t.Catch?.[0]]).toEqual([name, { ErrorEquals: ['Superseded'], Next: STATE_NAMES.superseded }]);
        // Nothing else catches Superseded.
        expect([name, t.Catch.slice(1).filter((c: any) => c.ErrorEquals.includes('Superseded'))]).toEqual([name, []]);
      }
    });

    test('"Move traffic back" never retries Superseded: a retrier with MaxAttempts 0 comes before its States.ALL retrier', () => {
      const retry: any[] = definition.States[STATE_NAMES.rollBack].Retry;
      const superseded = retry.findIndex((r) => r.ErrorEquals.includes('Superseded'));
      const any = retry.findIndex((r) => r.ErrorEquals.includes('States.ALL'));
      expect(retry[superseded]).toEqual({ ErrorEquals: ['Superseded'], MaxAttempts: 0 });
      expect(any).toBeGreaterThan(superseded);
      // Every task that retries any error stops first at Superseded.
      for (const [name, t] of Object.entries<any>(definition.States).filter(([, s]) => s.Type === 'Task')) {
        const all = (t.Retry ?? []).findIndex((r: any) => r.ErrorEquals.includes('States.ALL'));
        if (all < 0) continue;
        const stop = t.Retry.findIndex((r: any) => r.ErrorEquals.includes('Superseded') && r.MaxAttempts === 0);
        expect([name, stop >= 0 && stop < all]).toEqual([name, true]);
      }
    });

    test('after the start, a taken-over lock leads to "Recover the stopped execution", which goes on to "Find the live colour"', () => {
      const N = STATE_NAMES;
      expect(definition.States[N.start].Next).toBe(N.tookOver);
      expect(definition.States[N.tookOver]).toEqual({
        Type: 'Choice',
        Choices: [{ Variable: '$.takenOver', IsPresent: true, Next: N.recover }],
        Default: N.findLive,
      });
      const recover = definition.States[N.recover];
      expect(recover.Type).toBe('Task');
      expect(recover.Next).toBe(N.findLive);
      // A recovery that cannot put the fleet back fails the cutover and releases the lock.
      expect(recover.Catch).toEqual([
        { ErrorEquals: ['Superseded'], Next: N.superseded },
        { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: N.releaseAfterFailure },
      ]);
      // The task invokes the recovery handler with the state as it is.
      const sm = Object.values(template.findResources('AWS::StepFunctions::StateMachine'))[0];
      const join = sm.Properties.DefinitionString['Fn::Join'];
      const withRefs = JSON.parse(join[1].map((p: any) => (typeof p === 'string' ? p : `REF:${p['Fn::GetAtt']?.[0] ?? p.Ref}`)).join(join[0]));
      expect(withRefs.States[N.recover].Resource).toBe(`REF:${fnId('recover')}`);
      expect(withRefs.States[N.recover].Parameters).toBeUndefined();
    });
  });
});

describe('the fleet config in the state machine', () => {
  const manyChecks = Array.from({ length: 30 }, (_, i) => SmokeCheck.http({
    path: `/check/${i}`, bodyContains: `ready-${i}`, requestHeaders: { 'x-smoke-test': `check-${i}` }, latencyBudget: Duration.millis(500),
  }));
  const addAlarms = (stack: any, fleet: any, n: number) => {
    for (let i = 0; i < n; i++) {
      fleet.addRollbackAlarm(new cloudwatch.Alarm(stack, `Business${i}`, { metric: new cloudwatch.Metric({ namespace: 'Shop', metricName: `Failures${i}` }), threshold: 1, evaluationPeriods: 1 }));
    }
  };

  test('30 smoke checks and 40 rollback alarms synthesize (over 4 KB: too much for a Lambda environment)', () => {
    const { stack, fleet } = fleetStack({ cutover: { smokeChecks: manyChecks } });
    addAlarms(stack, fleet, 40);
    const template = Template.fromStack(stack);
    const config = definitionOf(template).States[STATE_NAMES.start].Parameters.config;

    expect(config.smokeChecks).toHaveLength(30);
    expect(config.rollbackAlarmNames).toHaveLength(40);
    // Even with every deploy-time value written as 'TOKEN' it is over Lambda's 4 KB for all variables of a function.
    expect(JSON.stringify(config).length).toBeGreaterThan(4096);
    for (const f of Object.values(template.findResources('AWS::Lambda::Function'))) {
      expect(JSON.stringify(f.Properties.Environment?.Variables ?? {}).length).toBeLessThan(1024);
    }
  });

  test('a config over its budget fails synth, naming what to reduce', () => {
    const { stack, fleet } = fleetStack({ cutover: { smokeChecks: manyChecks } });
    const alarms = Math.ceil(FLEET_CONFIG_BUDGET_BYTES / DEPLOY_TIME_VALUE_BYTES);
    addAlarms(stack, fleet, alarms);

    expect(() => Template.fromStack(stack)).toThrow(new RegExp(
      'The cutover configuration of TestStack/Web/Cutover is about \\d+ bytes, over its budget of 32768 bytes ' +
      '\\(values known only at deploy time counted as 256 bytes each\\)\\. The state machine carries it in its definition ' +
      '\\(at most 1 MB\\) and in every state \\(at most 256 KB each\\)\\. Reduce what makes it large: ' +
      'smokeChecks: 30 checks, about \\d+ bytes \\(fewer checks, shorter bodyContains, fewer headers\\); ' +
      `rollback alarms \\(addRollbackAlarm\\): ${alarms}, about \\d+ bytes \\(combine them into one composite alarm, or give them shorter names\\); ` +
      "the colours' built-in alarms: 8, about \\d+ bytes\\.",
    ));
  });

  test('a header name Step Functions would read as a path fails synth', () => {
    const { stack } = fleetStack({ cutover: { smokeChecks: [SmokeCheck.http({ path: '/', requestHeaders: { 'x-trace.$': '1' } })] } });

    expect(() => Template.fromStack(stack)).toThrow(
      "Invalid smoke checks at TestStack/Web/Cutover: 'smokeChecks[0].requestHeaders.x-trace.$' ends in '.$', which Step Functions would read as a path in the state machine definition: rename the header.",
    );
  });
});
