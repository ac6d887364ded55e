import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { ExampleStack } from '../../bin/example-stack';

// aws-local-stepfunctions 3 uses Promise.withResolvers (Node 22+); Node 20 needs this polyfill.
if (!(Promise as any).withResolvers) {
  (Promise as any).withResolvers = function withResolvers<T>() {
    let resolve!: (v: T) => void; let reject!: (e: unknown) => void;
    const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej; });
    return { promise, resolve, reject };
  };
}

export const ACCOUNT = '123456789012';
export const REGION = 'us-east-1';

/**
 * The example app's synthesized state machine definition, with CloudFormation references
 * resolved to literal values: `Ref AWS::Partition` to `aws`, each function's `Arn` to a Lambda
 * ARN named after its logical id, and the other references of the fleet configuration the
 * definition carries to placeholders named after theirs (`Ref X` to `X`, `Fn::GetAtt [X, A]` to
 * `X.A`).
 */
export function exampleDefinition(): { definition: any; template: any } {
  const app = new App();
  const stack = new ExampleStack(app, 'BlueGreenExample');
  const template = Template.fromStack(stack).toJSON();
  const [sm] = Object.values<any>(template.Resources).filter((r) => r.Type === 'AWS::StepFunctions::StateMachine');
  const resolve = (p: any): string => {
    if (typeof p === 'string') return p;
    if (p.Ref === 'AWS::Partition') return 'aws';
    if (p.Ref === 'AWS::Region') return REGION;
    if (p.Ref === 'AWS::AccountId') return ACCOUNT;
    if (typeof p.Ref === 'string' && template.Resources[p.Ref]) return p.Ref;
    const [id, attribute] = p['Fn::GetAtt'] ?? [];
    if (attribute === 'Arn' && template.Resources[id]?.Type === 'AWS::Lambda::Function') return `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${id}`;
    if (attribute && template.Resources[id]) return `${id}.${attribute}`;
    if (p['Fn::Join']) return p['Fn::Join'][1].map(resolve).join(p['Fn::Join'][0]);
    throw new Error(`unresolved reference in the definition: ${JSON.stringify(p)}`);
  };
  return { definition: JSON.parse(resolve(sm.Properties.DefinitionString)), template };
}
