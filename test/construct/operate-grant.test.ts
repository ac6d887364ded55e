import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as route53 from 'aws-cdk-lib/aws-route53';
import { BlueGreenFleet, TrafficSwitch } from '../../lib';
import { APPROVAL_RECORD_KEY_SUFFIX, HISTORY_INDEX_NAME } from '../../lib/private/contract';
import { baseProps, fleetStack, roleStatements } from './fleet-fixture';

const MUTATING = /^[a-z0-9-]+:(?!Describe|Get|List|Query)/;

describe('grantOperate: what the cdk-ec2-blue-green command line needs, for this fleet only', () => {
  const { stack, fleet } = fleetStack();
  const operator = new iam.Role(stack, 'Operator', { assumedBy: new iam.AccountRootPrincipal() });
  fleet.grantOperate(operator);
  const template = Template.fromStack(stack);
  const statements = roleStatements(stack, operator);
  const smId = stack.getLogicalId(fleet.cutover.stateMachine.node.defaultChild as any);
  const tableId = Object.keys(template.findResources('AWS::DynamoDB::Table'))[0];
  const fleetId = JSON.parse(JSON.stringify(stack.resolve((fleet as any).fleetId)));
  const withAction = (action: string) => statements.filter((s) => [s.Action].flat().includes(action));

  test('start, list and describe on its state machine; describe, history and stop on its executions', () => {
    expect(withAction('states:StartExecution')).toEqual([{ Effect: 'Allow', Action: ['states:StartExecution', 'states:DescribeStateMachine', 'states:ListExecutions'], Resource: { Ref: smId } }]);
    const [executions] = withAction('states:StopExecution');
    expect(executions.Action).toEqual(['states:DescribeExecution', 'states:GetExecutionHistory', 'states:StopExecution']);
    expect(JSON.stringify(executions.Resource)).toContain(`{"Fn::GetAtt":["${smId}","Name"]},":*"`);
    expect(JSON.stringify(executions.Resource)).toContain(':execution:');
  });

  test('the table: read any item, write only the approval record (dynamodb:LeadingKeys), query only the History index', () => {
    expect(withAction('dynamodb:GetItem')).toEqual([{ Effect: 'Allow', Action: 'dynamodb:GetItem', Resource: { 'Fn::GetAtt': [tableId, 'Arn'] } }]);
    expect(withAction('dynamodb:PutItem')).toEqual([{
      Effect: 'Allow',
      Action: 'dynamodb:PutItem',
      Resource: { 'Fn::GetAtt': [tableId, 'Arn'] },
      Condition: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [`${fleetId}${APPROVAL_RECORD_KEY_SUFFIX}`] } },
    }]);
    expect(withAction('dynamodb:Query')).toEqual([{ Effect: 'Allow', Action: 'dynamodb:Query', Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [tableId, 'Arn'] }, `/index/${HISTORY_INDEX_NAME}`]] } }]);
  });

  test('changes only three things, each scoped: StartExecution, StopExecution and the approval record; the rest reads', () => {
    const mutating = statements.flatMap((s) => [s.Action].flat().filter((a: string) => MUTATING.test(a)).map((a: string) => ({ a, resource: s.Resource })));
    expect(mutating.map((m) => m.a).sort()).toEqual(['dynamodb:PutItem', 'states:StartExecution', 'states:StopExecution']);
    for (const m of mutating) expect(m.resource).not.toBe('*');
    expect(statements.flatMap((s) => [s.Action].flat()).filter((a: string) => a.endsWith('*'))).toEqual([]);
  });

  test('reads the release parameters, the status describes, and finds the state machine in its own stack', () => {
    expect(withAction('ssm:GetParameters')[0].Resource).toHaveLength(4);
    expect(withAction('cloudwatch:DescribeAlarms')[0].Action).toEqual(['elasticloadbalancing:DescribeRules', 'elasticloadbalancing:DescribeTargetHealth', 'autoscaling:DescribeAutoScalingGroups', 'cloudwatch:DescribeAlarms']);
    expect(withAction('cloudformation:ListStackResources')).toEqual([{ Effect: 'Allow', Action: 'cloudformation:ListStackResources', Resource: { Ref: 'AWS::StackId' } }]);
    expect(withAction('route53:ListResourceRecordSets')).toEqual([]);
  });

  test('with Route 53 switching, the records of its zone', () => {
    const app = new App();
    const r53 = new Stack(app, 'TestStack', { env: { account: '123456789012', region: 'us-east-1' } });
    const zone = route53.HostedZone.fromHostedZoneAttributes(r53, 'Zone', { hostedZoneId: 'Z0123456789ABCDEFGHIJ', zoneName: 'example.com' });
    const dnsFleet = new BlueGreenFleet(r53, 'Web', { ...baseProps(new ec2.Vpc(r53, 'Vpc', { maxAzs: 2, natGateways: 1 })), trafficSwitch: TrafficSwitch.route53({ zone, recordName: 'www' }) });
    const role = new iam.Role(r53, 'Operator', { assumedBy: new iam.AccountRootPrincipal() });
    dnsFleet.grantOperate(role);
    const [records] = roleStatements(r53, role).filter((s) => [s.Action].flat().includes('route53:ListResourceRecordSets'));
    expect(JSON.stringify(records.Resource)).toContain('hostedzone/Z0123456789ABCDEFGHIJ');
  });
});
