import { Stack } from 'aws-cdk-lib';

/** A resource as cdk-nag names it in a finding id: references as `<LogicalId>` / `<LogicalId.Attr>`. */
export function nagResource(stack: Stack, value: string): string {
  const render = (v: any): string => {
    if (typeof v === 'string') return v;
    if (v.Ref) return `<${v.Ref}>`;
    if (v['Fn::GetAtt']) return `<${v['Fn::GetAtt'].join('.')}>`;
    if (v['Fn::Join']) return v['Fn::Join'][1].map(render).join(v['Fn::Join'][0]);
    throw new Error(`cannot name ${JSON.stringify(v)} for cdk-nag`);
  };
  return render(stack.resolve(value));
}

