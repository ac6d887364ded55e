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
 * resolved to literal values: `Ref AWS::Partition` to `aws`, and each function's `Arn` to a
 * Lambda ARN named after its logical id.
 */
export function exampleDefinition(): { definition: any; template: any } {
  const app = new App();
  const stack = new ExampleStack(app, 'BlueGreenExample');
  const template = Template.fromStack(stack).toJSON();
  const [sm] = Object.values<any>(template.Resources).filter((r) => r.Type === 'AWS::StepFunctions::StateMachine');
  const [sep, parts] = sm.Properties.DefinitionString['Fn::Join'];
  const text = parts.map((p: any) => {
    if (typeof p === 'string') return p;
    if (p.Ref === 'AWS::Partition') return 'aws';
    if (p['Fn::GetAtt']?.[1] === 'Arn') return `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${p['Fn::GetAtt'][0]}`;
    throw new Error(`unresolved reference in the definition: ${JSON.stringify(p)}`);
  }).join(sep);
  return { definition: JSON.parse(text), template };
}
