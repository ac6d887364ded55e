import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { BlueGreenFleet, BlueGreenFleetProps } from '../../lib';

/** The props every test starts from; a test overrides only what its scenario is about. */
export function baseProps(vpc: ec2.IVpc): BlueGreenFleetProps {
  return {
    vpc,
    instanceType: new ec2.InstanceType('t3.small'),
    machineImage: ec2.MachineImage.genericLinux({ 'us-east-1': 'ami-0123456789abcdef0' }),
  };
}

/** A stack in us-east-1 with a two-AZ VPC, and a fleet built from `overrides`. */
export function fleetStack(overrides: Partial<BlueGreenFleetProps> = {}): { stack: Stack; fleet: BlueGreenFleet; vpc: ec2.Vpc } {
  const app = new App();
  const stack = new Stack(app, 'TestStack', { env: { account: '123456789012', region: 'us-east-1' } });
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
  const fleet = new BlueGreenFleet(stack, 'Web', { ...baseProps(vpc), ...overrides });
  return { stack, fleet, vpc };
}

/** Builds a fleet with `overrides` and returns the error message it throws. */
export function propsError(overrides: (vpc: ec2.IVpc) => Partial<BlueGreenFleetProps>): string {
  const app = new App();
  const stack = new Stack(app, 'TestStack', { env: { account: '123456789012', region: 'us-east-1' } });
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
  try {
    new BlueGreenFleet(stack, 'Web', { ...baseProps(vpc), ...overrides(vpc) });
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected the fleet to reject its props');
}

/** The one problem line of a props error (without the header and bullet). */
export function onlyProblem(message: string): string {
  const lines = message.split('\n');
  if (lines.length !== 2) throw new Error(`expected exactly one problem, got:\n${message}`);
  return lines[1].replace(/^ {2}- /, '');
}

/** The statements of the policies attached to `role`. */
export function roleStatements(stack: Stack, role: iam.Role): any[] {
  const roleId = stack.getLogicalId(role.node.defaultChild as iam.CfnRole);
  return Object.values<any>(Template.fromStack(stack).findResources('AWS::IAM::Policy'))
    .filter((p) => p.Properties.Roles.some((r: any) => r.Ref === roleId))
    .flatMap((p) => p.Properties.PolicyDocument.Statement);
}

/** The IAM actions fleet.grantOperate gives a role (a listener-rule fleet). */
export function operateActions(): string[] {
  const { stack, fleet } = fleetStack();
  const operator = new iam.Role(stack, 'Operator', { assumedBy: new iam.AccountRootPrincipal() });
  fleet.grantOperate(operator);
  return roleStatements(stack, operator).flatMap((s) => [s.Action].flat());
}
