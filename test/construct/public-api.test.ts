import { Annotations as CdkAnnotations, App, Stack } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as lib from '../../lib';
import { BlueGreenFleet, CutoverAction, CutoverExecutionInput, CutoverExecutionOutput, FleetErrorName, FleetWarnings } from '../../lib';
import { CutoverInput, CutoverSummary } from '../../lib/private/contract';
import { WARNING_IDS } from '../../lib/private/validation';
import { baseProps, fleetStack } from './fleet-fixture';

describe('the public API (lib/index.ts)', () => {
  test('exports exactly these values at run time (types are erased)', () => {
    expect(Object.keys(lib).sort()).toEqual([
      'ApprovalTimeoutAction', 'BlueGreenFleet', 'Colour', 'CutoverAction', 'CutoverErrorName', 'CutoverWorkflow', 'DnsRecords', 'FleetColour',
      'FleetErrorName', 'FleetWarnings', 'SmokeCheck', 'TrafficShift', 'TrafficSwitch',
    ]);
  });

  test('FleetWarnings names every warning id the validation emits, and nothing else', () => {
    const statics = Object.entries(FleetWarnings).map(([, v]) => v).sort();
    expect(statics).toEqual(Object.values(WARNING_IDS).sort());
  });

  test('a warning is acknowledged by its FleetWarnings id', () => {
    const { stack, fleet } = fleetStack({ capacity: { minCapacity: 0, maxCapacity: 2 } });
    const warnings = (): unknown[] => Annotations.fromStack(stack).findWarning('/TestStack/Web', Match.stringLikeRegexp('.*'));
    expect(warnings()).toHaveLength(1);
    CdkAnnotations.of(fleet).acknowledgeWarning(FleetWarnings.MIN_CAPACITY_ZERO, 'a schedule scales it up');
    expect(warnings()).toHaveLength(0);
  });

  test('invalid props throw an error named FleetErrorName.INVALID_PROPS, with the same message as before', () => {
    expect(FleetErrorName.INVALID_PROPS).toBe('BlueGreenFleetPropsError');
    const app = new App();
    const stack = new Stack(app, 'TestStack', { env: { account: '123456789012', region: 'us-east-1' } });
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
    let thrown: any;
    try {
      new BlueGreenFleet(stack, 'Web', { ...baseProps(vpc), capacity: { minCapacity: 0, maxCapacity: 0 } });
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(Error);
    expect(thrown.name).toBe(FleetErrorName.INVALID_PROPS);
    expect(thrown.message).toMatch(/^Invalid BlueGreenFleet props at TestStack\/Web:\n {2}- /);
    expect(thrown.problems.length).toBeGreaterThan(0);
  });

  test('the execution input and output types agree with the handlers\' contract', () => {
    // Compile-time checks: a public input is a valid handler input, and the output has the
    // summary's fields (the action as CutoverAction, whose values are the summary's strings).
    const input: CutoverExecutionInput = { version: '1.4.2', action: CutoverAction.DEPLOY };
    const asHandlerInput: CutoverInput = input;
    type SameKeys<A, B> = [keyof A] extends [keyof B] ? ([keyof B] extends [keyof A] ? true : false) : false;
    const sameOutputKeys: SameKeys<CutoverExecutionOutput, CutoverSummary> = true;
    const outputFromSummary = (s: CutoverSummary): CutoverExecutionOutput => ({ ...s, action: s.action as CutoverAction });
    expect(asHandlerInput.action).toBe('deploy');
    expect(sameOutputKeys).toBe(true);
    expect(typeof outputFromSummary).toBe('function');
    expect(Object.values(CutoverAction).sort()).toEqual(['deploy', 'rollback']);
  });
});
