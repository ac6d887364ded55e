// The public API of cdk-ec2-blue-green: named exports only, every one of them jsii-compatible
// (`npm run jsii`). Everything under ./private is internal: the handlers' contract, validation,
// the shared handler functions and the custom-resource providers.

// The construct and its props.
export { BlueGreenFleet } from './blue-green-fleet';
export type {
  BlueGreenFleetProps,
  CountAlarmOptions,
  FleetAlarmOptions,
  FleetCapacity,
  FleetHealthCheck,
  FleetListenerRule,
  FleetNotifications,
  LatencyAlarmOptions,
  ToggleAlarmOptions,
} from './fleet-props';
export { FleetColour } from './fleet-colour';
export type { FleetColourProps } from './fleet-colour';

// Traffic switching, cutover strategies and smoke checks.
export { TrafficSwitch } from './traffic-switch';
export type { Route53TrafficSwitchOptions } from './traffic-switch';
export { DnsRecords } from './dns-records';
export type { DnsRecordsProps } from './dns-records';
export { ApprovalTimeoutAction, SmokeCheck, TrafficShift } from './cutover-options';
export type { ApprovalGate, CanaryTrafficShiftOptions, CutoverOptions, HttpSmokeCheckOptions, LinearTrafficShiftOptions } from './cutover-options';

// The cutover workflow (`fleet.cutover`), its executions' input, output and error names.
export { CutoverWorkflow } from './cutover-workflow';
export { CutoverAction } from './cutover-execution';
export type { CutoverExecutionInput, CutoverExecutionOutput } from './cutover-execution';
// Defined with the handlers' contract, which uses them too.
export { Colour, CutoverErrorName } from './private/contract';
export type { ColourRelease, StageTiming } from './private/contract';

// Synth-time errors and warnings.
export { FleetErrorName } from './fleet-errors';
export { FleetWarnings } from './fleet-warnings';
