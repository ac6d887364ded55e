import { randomUUID } from 'crypto';
import * as path from 'path';
import { AutoScalingClient, DescribeAutoScalingGroupsCommand, UpdateAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import { SetAlarmStateCommand, StateValue } from '@aws-sdk/client-cloudwatch';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { StopInstancesCommand } from '@aws-sdk/client-ec2';
import { DescribeRulesCommand, ModifyRuleCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { ChangeResourceRecordSetsCommand, CreateHostedZoneCommand, ListResourceRecordSetsCommand, ResourceRecordSet } from '@aws-sdk/client-route-53';
import { CreateEventBusCommand, EventBridgeClient, PutEventsCommand, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { CreateQueueCommand, DeleteMessageCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { GetParametersCommand } from '@aws-sdk/client-ssm';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { StateMachine } from 'aws-local-stepfunctions';
import { ExampleStack, ExampleStackProps } from '../bin/example-stack';
import { STATE_NAMES } from '../lib/cutover-workflow';
import { Colour, COLOURS, DNS_SET_IDENTIFIERS, FleetConfig, HandlerName, LOCK_PARTITION_KEY, SMOKE_TEST_ENDPOINT_ENV, smokeTestEndpointEnv } from '../lib/private/contract';
import { desiredRecord } from '../lambda/common/dns';
import { ColourApps, ListenerEmulator } from './apps';
import { CustomResourceRunner } from './custom-resources';
import { IamGate } from './iam-gate';
import { MotoServer } from './moto';
import { CallRecorder, RecordedCall } from './recorder';
import { ACCOUNT, clientsFor, Clients, deployStack, DeployedStack, REGION, updateStack } from './stack';

// aws-local-stepfunctions 3 uses Promise.withResolvers (Node 22+); on Node 20 this polyfill
// is all it needs.
if (!(Promise as any).withResolvers) {
  (Promise as any).withResolvers = function withResolvers<T>() {
    let resolve!: (v: T) => void;
    let reject!: (e: unknown) => void;
    const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej; });
    return { promise, resolve, reject };
  };
}

// The SDK warns once per process that releases after January 2027 need Node 22.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const BUNDLES = path.join(__dirname, '..', 'dist', 'lambda-bundles');

/** Props of the lab's example stack. */
export interface LabProps extends Omit<ExampleStackProps, 'route53'> {
  /**
   * Switch traffic with Route 53 weighted records: the lab creates the zone in moto, and each
   * colour gets its own load balancer (emulated, like the shared listener).
   * @default - the listener rule switch
   */
  readonly dns?: { readonly zoneName: string; readonly recordName: string; readonly ttl?: Duration };
}

/** Hooks a scenario uses to inject faults at a chosen moment. */
export interface RunHooks {
  /** Runs before a state's task (n = how many times that state has run before, from 0). */
  readonly beforeTask?: (state: string, n: number) => Promise<void> | void;
  /** Runs after a state's task returned. */
  readonly afterTask?: (state: string, n: number, output: any) => Promise<void> | void;
  /** Return an error to make the task fail with it instead of running the handler (a crash). */
  readonly crash?: (state: string, n: number) => Error | undefined;
  /** Keep the definition's Wait times (the demo) instead of running them at 0 (the tests). */
  readonly realWaits?: boolean;
  /** Invoke every task's handler twice with the same input (as a Step Functions retry would). */
  readonly repeatEachTask?: boolean;
  /** With repeatEachTask: the AWS calls the second invocation made. */
  readonly onRepeat?: (state: string, calls: RecordedCall[]) => void;
  /**
   * Stops the execution from outside before a state's task runs, as the console's Stop button
   * (ABORTED) or the state machine's timeout (TIMED_OUT) would: the task never runs.
   */
  readonly stop?: (state: string, n: number) => 'ABORTED' | 'TIMED_OUT' | undefined;
  /**
   * Deliver the execution status change event to the template's EventBridge rules when the
   * execution ends, as Step Functions does (default true).
   */
  readonly statusEvents?: boolean;
}

/** What the EventBridge rules did with an execution's status change event. */
export interface StatusEventDelivery {
  /** Rules (logical ids) whose pattern moto matched. */
  readonly matched: string[];
  /** Each invocation of a rule's target function: its input, output or error, and its AWS calls. */
  readonly invocations: Array<{ rule: string; input: any; output?: any; error?: string; calls: RecordedCall[] }>;
  /** Each message a rule's SNS topic target published (to the topic in moto): the transformed input, as JSON text. */
  readonly published: Array<{ rule: string; topicArn: string; message: string }>;
}

/** What one execution did. */
export interface ExecutionResult {
  /** The execution's ARN. */
  readonly executionId: string;
  readonly status: 'SUCCEEDED' | 'FAILED' | 'ABORTED' | 'TIMED_OUT';
  readonly output?: any;
  readonly error?: string;
  readonly cause?: string;
  /** States entered, in order. */
  readonly states: string[];
  /** When each state was entered (ms since the execution started), in order. */
  readonly timeline: Array<{ state: string; at: number }>;
  /** State transitions (states entered). */
  readonly transitions: number;
  /** Lambda tasks invoked. */
  readonly invocations: number;
  /** AWS calls the handlers made during this execution. */
  readonly calls: RecordedCall[];
  readonly durationMs: number;
  /** What the EventBridge rules did with the status change event. */
  readonly statusEvent?: StatusEventDelivery;
}

/** One execution as the lab's Step Functions API reports it. */
export interface LabExecution {
  readonly name: string;
  status: string;
  readonly startDate: Date;
  stopDate?: Date;
  /** The execution input, as JSON text. */
  input: string;
  output?: string;
  error?: string;
  cause?: string;
  /** History events, in the shape GetExecutionHistory returns them (timestamps in epoch seconds). */
  readonly events: Array<Record<string, any>>;
  /** Stops the running execution from outside (StopExecution). */
  stop?: (status: 'ABORTED' | 'TIMED_OUT', detail: { error?: string; cause?: string }) => void;
  /** The execution's result, once it ended and its status change event was delivered. */
  done?: Promise<ExecutionResult>;
  /** Set when a run started through the API threw (the lab's own checks). */
  failure?: Error;
}

const STATE_MACHINE_ARN = /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[^:]+$/;
const EXECUTION_ARN = /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:execution:[^:]+:[^:]+$/;

/** The Step Functions history event type prefix of a state type (TaskStateEntered, PassStateExited...). */
function stateEventType(stateType: string, what: 'Entered' | 'Exited'): string {
  return `${stateType}State${what}`;
}

/**
 * An aws-local-stepfunctions event as a Step Functions history event (API reference, HistoryEvent)
 * without its id and timestamp; undefined for events the lab does not report. The execution's
 * terminal event is added when the run ends (see terminalEvent).
 */
function historyEvent(e: any, roleArn: string): Record<string, any> | undefined {
  switch (e.type) {
    case 'ExecutionStarted':
      return { type: 'ExecutionStarted', executionStartedEventDetails: { input: JSON.stringify(e.input ?? {}), inputDetails: { truncated: false }, roleArn } };
    case 'StateEntered':
      return { type: stateEventType(e.state.type, 'Entered'), stateEnteredEventDetails: { name: e.state.name, input: JSON.stringify(e.state.input ?? null), inputDetails: { truncated: false } } };
    case 'StateExited':
      // A Fail state has no exit event in Step Functions: the execution fails.
      if (e.state.type === 'Fail') return undefined;
      return { type: stateEventType(e.state.type, 'Exited'), stateExitedEventDetails: { name: e.state.name, output: JSON.stringify(e.state.output ?? null), outputDetails: { truncated: false } } };
    case 'StateFailed':
      if (e.state.type !== 'Task') return undefined;
      return { type: 'LambdaFunctionFailed', lambdaFunctionFailedEventDetails: { error: e.Error, cause: typeof e.Cause === 'string' ? e.Cause : JSON.stringify(e.Cause ?? null) } };
    default:
      return undefined;
  }
}

/** The history event an execution ends with. */
function terminalEvent(result: ExecutionResult): Record<string, any> {
  const detail = { ...(result.error !== undefined ? { error: result.error } : {}), ...(result.cause !== undefined ? { cause: result.cause } : {}) };
  switch (result.status) {
    case 'SUCCEEDED': return { type: 'ExecutionSucceeded', executionSucceededEventDetails: { output: JSON.stringify(result.output ?? null), outputDetails: { truncated: false } } };
    case 'FAILED': return { type: 'ExecutionFailed', executionFailedEventDetails: detail };
    case 'ABORTED': return { type: 'ExecutionAborted', executionAbortedEventDetails: detail };
    case 'TIMED_OUT': return { type: 'ExecutionTimedOut', executionTimedOutEventDetails: detail };
  }
}

/** Appends a history event with its id, the id of the one before and its timestamp (epoch seconds). */
function pushEvent(record: LabExecution, event: Record<string, any>, at: number): void {
  const id = record.events.length + 1;
  record.events.push({ timestamp: at / 1000, id, previousEventId: id - 1, ...event });
}

/** A history event without its input and output (includeExecutionData false). */
function withoutData(e: Record<string, any>): Record<string, any> {
  const out: Record<string, any> = {};
  for (const [k, v] of Object.entries(e)) {
    out[k] = v && typeof v === 'object' && k.endsWith('EventDetails')
      ? Object.fromEntries(Object.entries(v).filter(([f]) => !['input', 'output', 'inputDetails', 'outputDetails'].includes(f)))
      : v;
  }
  return out;
}

interface BoundFunction {
  /** Logical id of the function in the template: the IAM gate judges its calls by this function's role. */
  readonly logicalId: string;
  readonly handlerName: HandlerName;
  readonly environment: Record<string, string>;
}

/**
 * The local lab: moto_server as AWS, the example app's synthesized template deployed into it,
 * the synthesized state machine run by aws-local-stepfunctions with every task bound to the
 * real handler bundle, and two small HTTP apps playing the blue and green versions behind an
 * emulated listener data plane.
 */
export class Lab {
  public static async start(props: LabProps = {}): Promise<Lab> {
    const lab = new Lab(props);
    Lab.started.add(lab);
    await lab.boot();
    return lab;
  }

  /**
   * Every lab started in this process (stopped ones too), so a test fixture can check each
   * one's IAM denials after every test; the fixture removes them when it is done.
   */
  public static readonly started = new Set<Lab>();

  public readonly moto = new MotoServer();
  public recorder!: CallRecorder;
  public clients!: Clients;
  public autoScaling!: AutoScalingClient;
  public template!: any;
  public deployed!: DeployedStack;
  public definition!: any;
  public config!: FleetConfig;
  public apps!: ColourApps;
  public testListener!: ListenerEmulator;
  public productionListener!: ListenerEmulator;
  /** With Route 53 switching: each colour's own load balancer (its catch-all rule), the colour's smoke test endpoint. */
  public readonly colourBalancers = {} as Record<Colour, ListenerEmulator>;
  /** The hosted zone the lab created for Route 53 switching. */
  public hostedZoneId?: string;
  private colourRuleArns: Record<Colour, string> = { blue: '', green: '' };
  private providers!: CustomResourceRunner;
  private functions = new Map<string, BoundFunction>();
  private handlers = new Map<HandlerName, (event: any, context: any) => Promise<any>>();
  private executions = 0;
  /** The lab's executions, as the Step Functions API reports them (see {@link answerStepFunctions}). */
  public readonly executionRecords = new Map<string, LabExecution>();
  /**
   * Hooks for the next execution started through the Step Functions API (StartExecution), taken
   * by it: e.g. a `beforeTask` that awaits a promise holds the run at a state. Waits run at 0
   * unless these ask for `realWaits`.
   */
  public nextRunHooks?: RunHooks;
  private bootedAt = new Date();
  private eventBridge?: EventBridgeClient;
  private sqs?: SQSClient;
  private sns?: SNSClient;
  /** The fleet in use, by construct id (see {@link useFleet}). */
  private fleet?: string;
  private constructor(private props: LabProps) {}

  private async boot(): Promise<void> {
    await this.moto.start();
    try {
      this.recorder = new CallRecorder(this.moto.endpoint);
      await this.recorder.start();
      this.recorder.stepFunctions = (action, request) => this.answerStepFunctions(action, request);
      this.clients = clientsFor(this.moto.endpoint);
      this.autoScaling = new AutoScalingClient({ endpoint: this.moto.endpoint, region: REGION, credentials: { accessKeyId: 'lab', secretAccessKey: 'lab' } });
      this.apps = new ColourApps(this.clients.ssm, () => this.config);
      await this.apps.start();
      this.testListener = new ListenerEmulator(this.clients.elbv2, () => this.config.testRuleArn, () => this.config, this.apps);
      this.productionListener = new ListenerEmulator(this.clients.elbv2, () => this.config.productionRuleArn, () => this.config, this.apps);
      await this.testListener.start();
      await this.productionListener.start();
      for (const c of COLOURS) {
        this.colourBalancers[c] = new ListenerEmulator(this.clients.elbv2, () => this.colourRuleArns[c], () => this.config, this.apps);
        await this.colourBalancers[c].start();
      }
      this.pointSdkAtRecorder();
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const records = require(path.join(BUNDLES, 'dns-records', 'index.js')).handler;
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const fleetResources = require(path.join(BUNDLES, 'fleet-resources', 'index.js')).handler;
      this.providers = new CustomResourceRunner({
        'Custom::BlueGreenDnsRecords': records,
        'Custom::BlueGreenParameter': fleetResources,
        'Custom::BlueGreenInitialCapacity': fleetResources,
      }, 'BlueGreenExample', {
        // The provider's calls are judged by its own function's role, in the template being deployed.
        beforeInvoke: (b) => {
          this.recorder.gate.bindTemplate(b.template, b.resolve, (roleId) => b.physical[roleId] ?? roleId);
          this.recorder.principal = b.functionId;
        },
        afterInvoke: () => { this.recorder.principal = undefined; },
      });
      await this.deploy(this.props);
      this.recorder.clear();
      this.loadHandlers();
    } catch (e) {
      await this.stop();
      throw e;
    }
  }

  /** Creates the zone (Route 53 switching), synthesizes the example and deploys it into moto. */
  private async deploy(props: LabProps): Promise<void> {
    this.props = props;
    this.hostedZoneId = undefined;
    if (props.dns) {
      const zone = await this.clients.route53.send(new CreateHostedZoneCommand({ Name: props.dns.zoneName, CallerReference: `lab-${Date.now()}-${Math.random()}` }));
      this.hostedZoneId = zone.HostedZone!.Id!.replace(/^\/hostedzone\//, '');
    }
    this.template = synthesize(this.stackProps(props));
    this.recorder.stage = 'cdk deploy';
    this.deployed = await deployStack(this.clients, this.template, this.providers);
    this.bind();
  }

  /** The example stack's props for lab props (the zone the lab created). */
  private stackProps(props: LabProps): ExampleStackProps {
    const { dns, ...rest } = props;
    if (!dns) return rest;
    return { ...rest, route53: { hostedZoneId: this.hostedZoneId!, zoneName: dns.zoneName, recordName: dns.recordName, ttl: dns.ttl } };
  }

  /**
   * Resolves the handlers' environment and the state machine definition from the template, and
   * reads the fleet's configuration where the handlers get it: the start task's payload.
   */
  private bind(): void {
    const resources = this.template.Resources as Record<string, any>;
    this.functions.clear();
    for (const [id, r] of Object.entries<any>(resources)) {
      if (r.Type !== 'AWS::Lambda::Function') continue;
      const name = /^Blue\/green cutover: (.+)$/.exec(r.Properties.Description ?? '')?.[1] as HandlerName | undefined;
      if (!name) continue;
      const arn = this.deployed.resolver.resolve({ 'Fn::GetAtt': [id, 'Arn'] });
      this.functions.set(arn, { logicalId: id, handlerName: name, environment: this.deployed.resolver.resolve(r.Properties.Environment?.Variables ?? {}) });
    }
    this.recorder.gate.bindTemplate(this.template, (v) => this.deployed.resolver.resolve(v), (roleId) => this.deployed.physical[roleId] ?? roleId);
    // A redeploy may bring a handler the first template had not (an optional one, such as approval-gate).
    if (this.handlers.size > 0) this.loadHandlers();
    const sm = resources[this.stateMachineId()];
    this.definition = JSON.parse(this.deployed.resolver.resolve(sm.Properties.DefinitionString));
    const config = this.definition.States[STATE_NAMES.start]?.Parameters?.config;
    if (!config) throw new Error(`the lab found no fleet configuration in the payload of '${STATE_NAMES.start}'`);
    this.config = config;

    // Each colour's own catch-all rule (Route 53 switching): the rule that forwards to its target group.
    this.colourRuleArns = { blue: '', green: '' };
    if (this.config.route53) {
      for (const [id, r] of Object.entries<any>(resources)) {
        if (r.Type !== 'AWS::ElasticLoadBalancingV2::ListenerRule') continue;
        const targetGroups = JSON.stringify(this.deployed.resolver.resolve(r.Properties.Actions));
        for (const c of COLOURS) if (targetGroups.includes(this.config.colours[c].targetGroupArn)) this.colourRuleArns[c] = this.deployed.physical[id];
      }
      const missing = COLOURS.filter((c) => !this.colourRuleArns[c]);
      if (missing.length) throw new Error(`the lab found no catch-all rule of the ${missing.join(' and ')} load balancer`);
    }
    // Smoke tests reach the test listener, or with Route 53 switching the target colour's own load balancer.
    for (const c of COLOURS) {
      if (this.config.route53) process.env[smokeTestEndpointEnv(c)] = this.colourBalancers[c].url;
      else delete process.env[smokeTestEndpointEnv(c)];
    }
    if (this.config.route53) delete process.env[SMOKE_TEST_ENDPOINT_ENV];
    else process.env[SMOKE_TEST_ENDPOINT_ENV] = this.testListener.url;
  }

  /** Points every SDK client in this process (the bundles' included) at the recording proxy. */
  private pointSdkAtRecorder(): void {
    Object.assign(process.env, {
      AWS_ENDPOINT_URL: this.recorder.endpoint,
      AWS_REGION: REGION,
      AWS_ACCESS_KEY_ID: 'lab',
      AWS_SECRET_ACCESS_KEY: 'lab',
      AWS_DISABLE_REQUEST_COMPRESSION: 'true',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    });
    process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
  }

  /** Loads the real handler bundles, with their SDK clients pointed at the recording proxy. */
  private loadHandlers(): void {
    for (const { handlerName } of this.functions.values()) {
      if (!this.handlers.has(handlerName)) {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        this.handlers.set(handlerName, require(path.join(BUNDLES, handlerName, 'index.js')).handler);
      }
    }
  }

  /** Starts over: an empty emulator with the stack deployed afresh (about 5 s). */
  public async reset(props: LabProps = this.props): Promise<void> {
    await this.moto.reset();
    this.recorder.clear();
    this.apps.behaviour.blue = 'ok';
    this.apps.behaviour.green = 'ok';
    await this.deploy(props);
    this.recorder.clear();
  }

  public async stop(): Promise<void> {
    for (const c of COLOURS) await this.colourBalancers[c]?.stop();
    await this.productionListener?.stop();
    await this.testListener?.stop();
    await this.apps?.stop();
    await this.recorder?.stop();
    await this.moto.stop();
  }

  /**
   * Runs one execution of the synthesized state machine, waits and retry intervals at 0,
   * each task bound to its real handler.
   */
  public async runCutover(input: unknown, hooks: RunHooks = {}): Promise<ExecutionResult> {
    return this.startRun(input, hooks).done;
  }

  /**
   * Starts one execution (see {@link runCutover}) and returns at once: its ARN, its record (what
   * the Step Functions API reports about it) and a promise of its result, which settles once the
   * execution ended and its status change event was delivered.
   */
  private startRun(input: unknown, hooks: RunHooks, name?: string): { executionId: string; record: LabExecution; done: Promise<ExecutionResult> } {
    const stateMachineArn = this.stateMachineArn();
    const runName = name ?? `run-${++this.executions}`;
    const executionId = `arn:aws:states:${REGION}:${ACCOUNT}:execution:${stateMachineArn.split(':').pop()}:${runName}`;
    const record: LabExecution = { name: runName, status: 'RUNNING', startDate: new Date(), input: JSON.stringify(input ?? {}), events: [] };
    this.executionRecords.set(executionId, record);
    let stoppedAs: 'ABORTED' | 'TIMED_OUT' | undefined;
    let stoppedAt = '';
    let stopDetail: { error?: string; cause?: string } = {};
    const hung: Array<(e: Error) => void> = [];
    let execution: ReturnType<StateMachine['run']> | undefined;
    const stop = (as: 'ABORTED' | 'TIMED_OUT', where: string, detail: { error?: string; cause?: string } = {}) => {
      if (stoppedAs) return;
      stoppedAs = as;
      stoppedAt = where;
      stopDetail = detail;
      execution!.abort();
    };
    // The task never answers while the execution is stopped; it is settled once the execution has
    // ended, so the interpreter's task timer (TimeoutSeconds) does not outlive the run.
    // A task the stop caught in a hook after the run had ended fails at once (nothing awaits it).
    let finished = false;
    const hang = () => (finished ? Promise.reject(new Error('the lab stopped the execution')) : new Promise<any>((_, reject) => { hung.push(reject); }));
    const seen = new Map<string, number>();
    const states: string[] = [];
    const timeline: Array<{ state: string; at: number }> = [];
    let invocations = 0;
    let lostConfig: string | undefined;
    let current = '';
    const handlers: Record<string, (input: any) => Promise<any>> = {};
    const waits: Record<string, number> = {};
    const retries: Record<string, number> = {};
    for (const [stateName, state] of Object.entries<any>(this.definition.States)) {
      if (state.Type === 'Wait' && !hooks.realWaits) waits[stateName] = 0;
      if (state.Type !== 'Task') continue;
      retries[stateName] = 0;
      const fn = this.functions.get(state.Resource);
      handlers[stateName] = async (event: any) => {
        const n = seen.get(stateName) ?? 0;
        seen.set(stateName, n + 1);
        await hooks.beforeTask?.(stateName, n);
        // Stopped (StopExecution) while the hook held the task: it never runs.
        if (stoppedAs) return hang();
        const stopAs = hooks.stop?.(stateName, n);
        if (stopAs) {
          // Stopped from outside while this state was being entered: its task never runs.
          stop(stopAs, stateName);
          return hang();
        }
        invocations++;
        const crash = hooks.crash?.(stateName, n);
        if (crash) throw crash;
        if (!fn) throw new Error(`the lab has no handler bound to ${state.Resource} (state '${stateName}')`);
        this.recorder.stage = stateName;
        Object.assign(process.env, fn.environment);
        const handler = this.handlers.get(fn.handlerName)!;
        const context = { functionName: fn.handlerName, awsRequestId: `${executionId}/${stateName}/${n}` };
        // The handler's calls are its function's, for the IAM gate; nothing else may call through the proxy.
        const invoke = async (e: any) => {
          this.recorder.principal = fn.logicalId;
          try {
            return await handler(e, context);
          } finally {
            this.recorder.principal = undefined;
          }
        };
        let output = await invoke(event);
        if (hooks.repeatEachTask) {
          const before = this.recorder.calls.length;
          this.recorder.stage = stateName;
          output = await invoke(JSON.parse(JSON.stringify(event)));
          hooks.onRepeat?.(stateName, this.recorder.calls.slice(before));
        }
        // Every task passes the definition's configuration on, unchanged, to the next.
        if (JSON.stringify(output?.config) !== JSON.stringify(this.config)) {
          lostConfig ??= `the lab: task '${stateName}' returned a state without the fleet configuration it was given`;
          throw new Error(lostConfig);
        }
        await hooks.afterTask?.(stateName, n, output);
        return output;
      };
    }
    record.stop = (status, detail) => stop(status, current, detail);
    const firstCall = this.recorder.calls.length;
    const startedAt = Date.now();
    const machine = new StateMachine(this.definition);
    const roleArn = this.stateMachineRoleArn();
    execution = machine.run(input as any, {
      context: { Execution: { Id: executionId, Name: runName, StartTime: record.startDate.toISOString() } } as any,
      overrides: { taskResourceLocalHandlers: handlers, waitTimeOverrides: waits, retryIntervalOverrides: retries },
    });
    const events = (async () => {
      for await (const e of execution.eventLogs) {
        if (process.env.LAB_DEBUG && (e.type === 'StateFailed' || e.type === 'StateCaught')) console.log('LAB', e.type, (e as any).state?.name, (e as any).Error, (e as any).Cause);
        if (e.type === 'StateEntered') {
          current = (e as any).state.name;
          states.push((e as any).state.name);
          timeline.push({ state: (e as any).state.name, at: e.timestamp - startedAt });
        }
        const mapped = historyEvent(e, roleArn);
        if (mapped) pushEvent(record, mapped, e.timestamp);
      }
    })();
    const done = (async (): Promise<ExecutionResult> => {
      let result: ExecutionResult;
      try {
        const output = await execution.result;
        result = { executionId, status: 'SUCCEEDED', output, states, timeline, transitions: 0, invocations, calls: [], durationMs: 0 };
      } catch (e: any) {
        const inner = e.cause ?? e;
        // A stopped execution has no error of its own (Step Functions reports none for Stop without one).
        result = stoppedAs
          ? { executionId, status: stoppedAs, ...(stopDetail.error ? { error: stopDetail.error } : {}), cause: stopDetail.cause ?? `stopped from outside (${stoppedAs}) before '${stoppedAt}' ran`, states, timeline, transitions: 0, invocations, calls: [], durationMs: 0 }
          : { executionId, status: 'FAILED', error: inner.name, cause: inner.message, states, timeline, transitions: 0, invocations, calls: [], durationMs: 0 };
      }
      finished = true;
      for (const reject of hung) reject(new Error(`the lab stopped the execution before '${stoppedAt}'`));
      await events.catch(() => undefined);
      const stopDate = record.stopDate ?? new Date();
      const calls = this.recorder.calls.slice(firstCall);
      const durationMs = Date.now() - startedAt;
      // The status event is delivered before the API reports the execution ended, so a caller that
      // starts the next execution once DescribeExecution says this one ended (the CLI's deploy
      // --wait) never runs it while the recovery rule's target runs: the recorder attributes calls
      // to one principal at a time, and would judge one's calls against the other's role. On AWS
      // the two may overlap; the lock decides between them (test/lab/fault-matrix.test.ts).
      let statusEvent: Awaited<ReturnType<Lab['deliverStatusEvent']>> | undefined;
      try {
        if (!lostConfig && hooks.statusEvents !== false) {
          statusEvent = await this.deliverStatusEvent(executionId, result.status, { output: result.output, error: result.error, cause: result.cause });
        }
      } finally {
        record.status = result.status;
        record.stopDate = stopDate;
        if (result.output !== undefined) record.output = JSON.stringify(result.output);
        if (result.error !== undefined) record.error = result.error;
        if (result.cause !== undefined) record.cause = result.cause;
        pushEvent(record, terminalEvent(result), stopDate.getTime());
      }
      if (lostConfig) throw new Error(lostConfig);
      return { ...result, states, transitions: states.length, calls, durationMs, ...(statusEvent ? { statusEvent } : {}) };
    })();
    record.done = done;
    return { executionId, record, done };
  }

  /** The state machine's ARN, as the template resolves it in the lab. */
  public stateMachineArn(): string {
    return this.deployed.resolver.resolve({ Ref: this.stateMachineId() });
  }

  /**
   * With several fleets in the stack (`sharedListener`): run and inspect the fleet whose construct
   * id is `fleet` (`Web` or `Api`) from now on: its state machine, configuration, rules, groups and lock.
   */
  public useFleet(fleet: string): void {
    this.fleet = fleet;
    this.bind();
  }

  /** Logical id of the state machine of the fleet in use (the first in the template unless {@link useFleet} chose one). */
  private stateMachineId(): string {
    const ids = Object.entries<any>(this.template.Resources).filter(([, r]) => r.Type === 'AWS::StepFunctions::StateMachine').map(([id]) => id);
    const id = this.fleet === undefined ? ids[0] : ids.find((i) => i.startsWith(this.fleet!));
    if (!id) throw new Error(`the lab found no state machine${this.fleet ? ` of the fleet ${this.fleet}` : ''} in the template`);
    return id;
  }

  /** Marks a lab execution as ended (as a stop from the console would, without running anything). */
  public setExecutionStatus(executionId: string, status: string): void {
    const record = this.executionRecords.get(executionId);
    if (!record) throw new Error(`the lab has no execution ${executionId}`);
    record.status = status;
  }

  /** The ARN of the state machine's role, as the template resolves it. */
  private stateMachineRoleArn(): string {
    const sm = (this.template.Resources as Record<string, any>)[this.stateMachineId()];
    return String(this.deployed.resolver.resolve(sm.Properties.RoleArn) ?? '');
  }

  /**
   * The Step Functions API (JSON 1.0) for the lab's executions, which run in
   * aws-local-stepfunctions and not in moto, in the shapes of the Step Functions API reference:
   * StartExecution, DescribeExecution, GetExecutionHistory, StopExecution, ListExecutions and
   * DescribeStateMachine. Timestamps are epoch seconds, errors carry `__type`. Other actions, and
   * DescribeStateMachine of another state machine, go on to moto.
   */
  private answerStepFunctions(action: string, request: any): { status: number; body: unknown } | undefined {
    const fail = (type: string, message: string) => ({ status: 400, body: { __type: type, message } });
    const seconds = (d: Date) => d.getTime() / 1000;
    const stateMachineArn = this.stateMachineArn();
    const checkMachine = (arn: unknown) => {
      if (typeof arn !== 'string' || !STATE_MACHINE_ARN.test(arn)) return fail('InvalidArn', `Invalid Arn: 'Resource type not valid in this context: ${String(arn)}'`);
      if (arn !== stateMachineArn) return fail('StateMachineDoesNotExist', `State Machine Does Not Exist: '${arn}'`);
      return undefined;
    };
    const findExecution = (arn: unknown): LabExecution | { status: number; body: unknown } => {
      if (typeof arn !== 'string' || !EXECUTION_ARN.test(arn)) return fail('InvalidArn', `Invalid Arn: 'Resource type not valid in this context: ${String(arn)}'`);
      return this.executionRecords.get(arn) ?? fail('ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`);
    };
    const isAnswer = (v: unknown): v is { status: number; body: unknown } => typeof (v as any)?.status === 'number';
    const summary = (arn: string, r: LabExecution) => ({
      executionArn: arn,
      stateMachineArn,
      name: r.name,
      status: r.status,
      startDate: seconds(r.startDate),
      ...(r.stopDate && r.status !== 'RUNNING' ? { stopDate: seconds(r.stopDate) } : {}),
    });
    switch (action) {
      case 'StartExecution': {
        const bad = checkMachine(request.stateMachineArn);
        if (bad) return bad;
        const input = request.input ?? '{}';
        let parsed: unknown;
        try {
          parsed = JSON.parse(input);
        } catch (e) {
          return fail('InvalidExecutionInput', `Invalid State Machine Execution Input: '${(e as Error).message}'`);
        }
        const name = request.name as string | undefined;
        if (name !== undefined && (typeof name !== 'string' || !/^[^\s<>{}[\]?*"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]{1,80}$/.test(name))) {
          return fail('InvalidName', `Invalid Name: '${String(name)}'`);
        }
        if (name !== undefined) {
          const arn = `arn:aws:states:${REGION}:${ACCOUNT}:execution:${stateMachineArn.split(':').pop()}:${name}`;
          const existing = this.executionRecords.get(arn);
          // Same name, same input, still running: the call is idempotent; otherwise the name is taken.
          if (existing && existing.status === 'RUNNING' && existing.input === input) return { status: 200, body: { executionArn: arn, startDate: seconds(existing.startDate) } };
          if (existing) return fail('ExecutionAlreadyExists', `Execution Already Exists: '${arn}'`);
        }
        const hooks = this.nextRunHooks ?? {};
        this.nextRunHooks = undefined;
        const run = this.startRun(parsed, hooks, name ?? randomUUID());
        // The execution input exactly as given.
        run.record.input = input;
        run.done.catch((e) => { run.record.failure = e as Error; });
        return { status: 200, body: { executionArn: run.executionId, startDate: seconds(run.record.startDate) } };
      }
      case 'DescribeExecution': {
        const r = findExecution(request.executionArn);
        if (isAnswer(r)) return r;
        return {
          status: 200,
          body: {
            ...summary(request.executionArn, r),
            input: r.input,
            inputDetails: { included: true },
            ...(r.output !== undefined ? { output: r.output, outputDetails: { included: true } } : {}),
            ...(r.error !== undefined ? { error: r.error } : {}),
            ...(r.cause !== undefined ? { cause: r.cause } : {}),
          },
        };
      }
      case 'GetExecutionHistory': {
        const r = findExecution(request.executionArn);
        if (isAnswer(r)) return r;
        const max = Math.min(Number(request.maxResults) || 100, 1000);
        let offset = 0;
        if (request.nextToken !== undefined) {
          offset = Number(Buffer.from(String(request.nextToken), 'base64').toString('utf8').replace(/^lab:/, ''));
          if (!Number.isInteger(offset) || offset < 0) return fail('InvalidToken', `Invalid Token: '${request.nextToken}'`);
        }
        const ordered = request.reverseOrder ? [...r.events].reverse() : r.events;
        const withData = request.includeExecutionData !== false;
        const page = ordered.slice(offset, offset + max).map((e) => (withData ? e : withoutData(e)));
        const next = offset + max < ordered.length ? Buffer.from(`lab:${offset + max}`).toString('base64') : undefined;
        return { status: 200, body: { events: page, ...(next ? { nextToken: next } : {}) } };
      }
      case 'StopExecution': {
        const r = findExecution(request.executionArn);
        if (isAnswer(r)) return r;
        if (r.status === 'RUNNING') {
          // As the console's Stop: ABORTED at once; the run ends, and its status change event goes to the rules.
          r.status = 'ABORTED';
          r.stopDate = new Date();
          if (request.error !== undefined) r.error = String(request.error);
          if (request.cause !== undefined) r.cause = String(request.cause);
          r.stop?.('ABORTED', { error: request.error, cause: request.cause });
        }
        return { status: 200, body: { stopDate: seconds(r.stopDate ?? new Date()) } };
      }
      case 'ListExecutions': {
        const bad = checkMachine(request.stateMachineArn);
        if (bad) return bad;
        const max = Math.min(Number(request.maxResults) || 100, 1000);
        const all = [...this.executionRecords.entries()]
          .filter(([arn, r]) => arn.includes(`:execution:${stateMachineArn.split(':').pop()}:`) && (!request.statusFilter || r.status === request.statusFilter))
          // Newest first, as Step Functions lists them.
          .sort(([, a], [, b]) => b.startDate.getTime() - a.startDate.getTime());
        let offset = 0;
        if (request.nextToken !== undefined) offset = Number(Buffer.from(String(request.nextToken), 'base64').toString('utf8').replace(/^lab:/, '')) || 0;
        const page = all.slice(offset, offset + max).map(([arn, r]) => summary(arn, r));
        const next = offset + max < all.length ? Buffer.from(`lab:${offset + max}`).toString('base64') : undefined;
        return { status: 200, body: { executions: page, ...(next ? { nextToken: next } : {}) } };
      }
      case 'DescribeStateMachine': {
        // Another state machine is moto's (a test may create one there).
        if (request.stateMachineArn !== stateMachineArn && STATE_MACHINE_ARN.test(String(request.stateMachineArn))) return undefined;
        const bad = checkMachine(request.stateMachineArn);
        if (bad) return bad;
        return {
          status: 200,
          body: {
            stateMachineArn,
            name: stateMachineArn.split(':').pop(),
            status: 'ACTIVE',
            definition: JSON.stringify(this.definition),
            roleArn: this.stateMachineRoleArn(),
            type: 'STANDARD',
            creationDate: seconds(this.bootedAt),
          },
        };
      }
      default:
        return undefined;
    }
  }

  /** A lab execution's record, to await or inspect (an execution started through the API too). */
  public execution(executionArn: string): LabExecution {
    const r = this.executionRecords.get(executionArn);
    if (!r) throw new Error(`the lab has no execution ${executionArn}`);
    return r;
  }

  /**
   * Delivers a "Step Functions Execution Status Change" event (EventBridge events reference, "AWS
   * Step Functions events") to the template's rules. Which rules match is moto's EventBridge
   * matching: the lab puts each rule's pattern on a bus of its own in moto, with an SQS queue as
   * target, and sends the event there. The matched rule's input transformer is then applied as the
   * EventBridge API reference (InputTransformer) says: a placeholder outside quotes becomes the
   * value's JSON, inside quotes its text. (moto 5.2 inserts strings without their quotes, which
   * turns the templates CDK writes into invalid JSON, so the lab does not use moto's transformer.)
   * The target function runs up to three times on error, as an asynchronous Lambda invocation; a
   * topic target gets the transformed input published to the topic in moto. The detail carries the
   * output of a SUCCEEDED execution (JSON text) and the error and cause of a FAILED one, null otherwise.
   */
  public async deliverStatusEvent(executionId: string, status: string, ended: { output?: unknown; error?: string; cause?: string } = {}): Promise<StatusEventDelivery> {
    const record = this.executionRecords.get(executionId);
    const now = new Date();
    const event = {
      'version': '0',
      'id': `lab-${Math.random().toString(16).slice(2)}`,
      'detail-type': 'Step Functions Execution Status Change',
      'source': 'aws.states',
      'account': ACCOUNT,
      'time': now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      'region': REGION,
      'resources': [executionId],
      'detail': {
        executionArn: executionId,
        stateMachineArn: this.stateMachineArn(),
        name: record?.name ?? executionId.split(':').pop(),
        status,
        startDate: record?.startDate.getTime() ?? now.getTime(),
        stopDate: now.getTime(),
        input: record?.input ?? '{}',
        output: status === 'SUCCEEDED' ? JSON.stringify(ended.output ?? null) : null,
        error: status === 'FAILED' ? ended.error ?? null : null,
        cause: status === 'FAILED' ? ended.cause ?? null : null,
      },
    };
    const delivery: StatusEventDelivery = { matched: [], invocations: [], published: [] };
    const resources = this.template.Resources as Record<string, any>;
    for (const [ruleId, rule] of Object.entries<any>(resources)) {
      if (rule.Type !== 'AWS::Events::Rule') continue;
      const pattern = this.deployed.resolver.resolve(rule.Properties.EventPattern);
      if (!(await this.motoMatches(ruleId, pattern, event))) continue;
      delivery.matched.push(ruleId);
      for (const target of rule.Properties.Targets ?? []) {
        const arn = this.deployed.resolver.resolve(target.Arn);
        const transformer = target.InputTransformer ? this.deployed.resolver.resolve(target.InputTransformer) : undefined;
        const input = transformer ? transformInput(transformer.InputPathsMap ?? {}, transformer.InputTemplate, event) : event;
        if (typeof arn === 'string' && arn.startsWith('arn:aws:sns:')) {
          // EventBridge publishes the transformed input as the message (an object as its JSON text).
          this.sns ??= new SNSClient({ endpoint: this.moto.endpoint, region: REGION, credentials: { accessKeyId: 'lab', secretAccessKey: 'lab' } });
          const message = typeof input === 'string' ? input : JSON.stringify(input);
          await this.sns.send(new PublishCommand({ TopicArn: arn, Message: message }));
          delivery.published.push({ rule: ruleId, topicArn: arn, message });
          continue;
        }
        const fn = this.functions.get(arn);
        if (!fn) throw new Error(`the lab: rule ${ruleId} targets ${JSON.stringify(target.Arn)}, which is neither a handler function it runs nor a topic`);
        const handler = this.handlers.get(fn.handlerName)!;
        for (let attempt = 0; attempt < 3; attempt++) {
          const first = this.recorder.calls.length;
          this.recorder.stage = `EventBridge ${ruleId}`;
          this.recorder.principal = fn.logicalId;
          Object.assign(process.env, fn.environment);
          try {
            const output = await handler(JSON.parse(JSON.stringify(input)), { functionName: fn.handlerName, awsRequestId: `${event.id}/${attempt}` });
            delivery.invocations.push({ rule: ruleId, input, output, calls: this.recorder.calls.slice(first) });
            break;
          } catch (e) {
            delivery.invocations.push({ rule: ruleId, input, error: `${(e as Error).name}: ${(e as Error).message}`, calls: this.recorder.calls.slice(first) });
          } finally {
            this.recorder.principal = undefined;
          }
        }
      }
    }
    return delivery;
  }

  /** Whether moto's EventBridge matches `event` against `pattern` (a bus, rule and SQS queue of the lab's own). */
  private async motoMatches(ruleId: string, pattern: unknown, event: Record<string, any>): Promise<boolean> {
    const config = { endpoint: this.moto.endpoint, region: REGION, credentials: { accessKeyId: 'lab', secretAccessKey: 'lab' } };
    this.eventBridge ??= new EventBridgeClient(config);
    this.sqs ??= new SQSClient(config);
    const bus = 'lab-status-events';
    await this.eventBridge.send(new CreateEventBusCommand({ Name: bus })).catch((e) => { if (e.name !== 'ResourceAlreadyExistsException') throw e; });
    const queueUrl = (await this.sqs.send(new CreateQueueCommand({ QueueName: `lab-${ruleId}`.slice(0, 80) }))).QueueUrl!;
    const queueArn = (await this.sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
    await this.eventBridge.send(new PutRuleCommand({ Name: ruleId.slice(0, 64), EventBusName: bus, EventPattern: JSON.stringify(pattern) }));
    await this.eventBridge.send(new PutTargetsCommand({ Rule: ruleId.slice(0, 64), EventBusName: bus, Targets: [{ Id: 'lab', Arn: queueArn }] }));
    await this.eventBridge.send(new PutEventsCommand({
      Entries: [{ EventBusName: bus, Source: event.source, DetailType: event['detail-type'], Detail: JSON.stringify(event.detail), Resources: event.resources, Time: new Date(event.time) }],
    }));
    const out = await this.sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
    for (const m of out.Messages ?? []) await this.sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle! }));
    return (out.Messages ?? []).length > 0;
  }

  // ---- The IAM gate ----

  /** The gate every handler call passes (see lab/iam-gate.ts). */
  public get iam(): IamGate {
    return this.recorder.gate;
  }

  /** Throws with every call the IAM gate denied since the last check (and forgets them). */
  public assertNoDenials(): void {
    const denials = this.recorder.gate.takeDenials();
    if (denials.length) throw new Error(IamGate.describe(denials));
  }

  /** Distinct `roleLogicalId action` pairs the gate evaluated and allowed, sorted. */
  public iamSummary(): string[] {
    return [...this.recorder.gate.allowed].sort();
  }

  // ---- Reading the emulator's state ----

  /**
   * Weights (percent) of the production or test rule; with Route 53 switching, production
   * means the weights of the colours' weighted records.
   */
  public async weights(rule: 'production' | 'test' = 'production'): Promise<Record<Colour, number>> {
    if (this.config.route53) {
      if (rule === 'test') throw new Error('With Route 53 switching there is no test rule: each colour has its own load balancer.');
      return this.recordWeights();
    }
    const arn = rule === 'production' ? this.config.productionRuleArn : this.config.testRuleArn;
    const r = (await this.clients.elbv2.send(new DescribeRulesCommand({ RuleArns: [arn] }))).Rules![0];
    const groups = r.Actions?.find((a) => a.Type === 'forward')?.ForwardConfig?.TargetGroups ?? [];
    const w = (c: Colour) => groups.find((g) => g.TargetGroupArn === this.config.colours[c].targetGroupArn)?.Weight ?? 0;
    return { blue: w(Colour.BLUE), green: w(Colour.GREEN) };
  }

  /** The fleet's weighted records in moto (any type), sorted by set identifier. */
  public async records(): Promise<ResourceRecordSet[]> {
    const r53 = this.config.route53!;
    const out = await this.clients.route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: r53.hostedZoneId }));
    return (out.ResourceRecordSets ?? [])
      .filter((rs) => rs.Name?.replace(/\.$/, '') === r53.recordName && rs.SetIdentifier)
      .sort((a, b) => a.SetIdentifier!.localeCompare(b.SetIdentifier!));
  }

  /** The weights of the colours' weighted records, read from moto (0 for a missing record). */
  public async recordWeights(): Promise<Record<Colour, number>> {
    const ours = await this.records();
    const w = (c: Colour) => ours.find((rs) => rs.SetIdentifier === DNS_SET_IDENTIFIERS[c])?.Weight ?? 0;
    return { blue: w(Colour.BLUE), green: w(Colour.GREEN) };
  }

  /** The colour with all production traffic, if one has it all. */
  public async liveColour(): Promise<Colour | undefined> {
    const w = await this.weights();
    return COLOURS.find((c) => w[c] === 100);
  }

  /** Min, max, desired and in-service instances of a colour's group. */
  public async group(colour: Colour): Promise<{ min: number; max: number; desired: number; instances: string[] }> {
    const g = (await this.autoScaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [this.config.colours[colour].autoScalingGroupName] }))).AutoScalingGroups![0];
    return { min: g.MinSize!, max: g.MaxSize!, desired: g.DesiredCapacity!, instances: (g.Instances ?? []).filter((i) => i.LifecycleState === 'InService').map((i) => i.InstanceId!) };
  }

  /** A colour's image id and version parameters. */
  public async release(colour: Colour): Promise<{ imageId: string; version: string }> {
    const c = this.config.colours[colour];
    const out = await this.clients.ssm.send(new GetParametersCommand({ Names: [c.imageParameterName, c.versionParameterName] }));
    const get = (n: string) => out.Parameters!.find((p) => p.Name === n)!.Value!;
    return { imageId: get(c.imageParameterName), version: get(c.versionParameterName) };
  }

  /** The fleet's lock item, if held. */
  public async lock(): Promise<Record<string, any> | undefined> {
    const item = (await this.clients.dynamoDb.send(new GetItemCommand({ TableName: this.config.lockTableName, Key: { [LOCK_PARTITION_KEY]: { S: this.config.fleetId } } }))).Item;
    return item ?? undefined;
  }

  // ---- Faults ----

  public async setAlarm(name: string, state: 'ALARM' | 'OK'): Promise<void> {
    await this.clients.cloudWatch.send(new SetAlarmStateCommand({ AlarmName: name, StateValue: state as StateValue, StateReason: 'set by the lab' }));
  }

  /** Stops every instance of a colour: its targets become `unused`, never healthy. */
  public async stopInstances(colour: Colour): Promise<void> {
    const { instances } = await this.group(colour);
    if (instances.length) await this.clients.ec2.send(new StopInstancesCommand({ InstanceIds: instances }));
  }

  /** Changes a colour's desired count by hand (as a scaling policy would). */
  public async setDesired(colour: Colour, desired: number): Promise<void> {
    await this.autoScaling.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: this.config.colours[colour].autoScalingGroupName, DesiredCapacity: desired, MaxSize: Math.max(desired, (await this.group(colour)).max) }));
  }

  /** Sets the production weights (rule or records) by hand, outside the workflow. */
  public async setProductionWeights(weights: Record<Colour, number>): Promise<void> {
    if (this.config.route53) {
      await this.clients.route53.send(new ChangeResourceRecordSetsCommand({
        HostedZoneId: this.config.route53.hostedZoneId,
        ChangeBatch: { Changes: COLOURS.map((c) => ({ Action: 'UPSERT', ResourceRecordSet: desiredRecord(this.config.route53!, c, weights[c]) })) },
      }));
      return;
    }
    await this.clients.elbv2.send(new ModifyRuleCommand({
      RuleArn: this.config.productionRuleArn,
      Actions: [{ Type: 'forward', ForwardConfig: { TargetGroups: COLOURS.map((c) => ({ TargetGroupArn: this.config.colours[c].targetGroupArn, Weight: weights[c] })) } }],
    }));
  }

  /**
   * Redeploys the stack with changed props (an UpdateStack into moto): what `cdk deploy` would
   * do after a cutover. Returns nothing; read the state afterwards.
   */
  public async redeploy(props: LabProps): Promise<void> {
    if (!!props.dns !== !!this.props.dns) throw new Error('redeploy cannot switch between the listener rule and Route 53: reset instead');
    this.props = props;
    const template = synthesize(this.stackProps(props));
    this.recorder.stage = 'cdk deploy';
    this.deployed = await updateStack(this.clients, template, this.deployed, this.providers);
    // The handlers' config follows the template (names, records): a deploy updates the state
    // machine's definition, and executions started after it carry the new configuration.
    this.template = template;
    this.bind();
  }
}

/**
 * An EventBridge input transformer applied to an event (EventBridge API reference,
 * InputTransformer): each `<name>` of the template takes the value at its path; outside a JSON
 * string as the value's JSON, inside one as its text.
 */
export function transformInput(paths: Record<string, string>, template: string, event: any): any {
  const valueAt = (path: string) => path.replace(/^\$\.?/, '').split('.').filter(Boolean).reduce((v: any, k) => (v == null ? undefined : v[k]), event);
  let out = '';
  let inString = false;
  for (let i = 0; i < template.length; i++) {
    const c = template[i];
    if (c === '"' && template[i - 1] !== '\\') inString = !inString;
    const m = c === '<' ? /^<([A-Za-z0-9_.-]+)>/.exec(template.slice(i)) : null;
    if (m && paths[m[1]] !== undefined) {
      const value = valueAt(paths[m[1]]);
      out += inString ? JSON.stringify(typeof value === 'string' ? value : JSON.stringify(value ?? null)).slice(1, -1) : JSON.stringify(value ?? null);
      i += m[0].length - 1;
      continue;
    }
    out += c;
  }
  return JSON.parse(out);
}

/** The example app's template, synthesized in memory. */
export function synthesize(props: ExampleStackProps = {}): any {
  const app = new App();
  const stack: Stack = new ExampleStack(app, 'BlueGreenExample', props);
  return Template.fromStack(stack).toJSON();
}
