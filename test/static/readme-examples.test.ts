import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';

/**
 * Every TypeScript example in the README compiles against the library: each ```ts block is
 * placed in a CDK stack's constructor (a block of props, such as `cutover: { ... },`, inside a
 * `BlueGreenFleetProps` object) where the names the README's prose introduces exist, with
 * `cdk-ec2-blue-green` resolving to lib/, and type-checked with the project's compiler settings.
 */
const root = path.join(__dirname, '..', '..');
const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');

/** The ```ts blocks, with the line each starts on. */
export function tsBlocks(text: string): Array<{ line: number; code: string }> {
  const blocks: Array<{ line: number; code: string }> = [];
  const re = /^```ts\n([\s\S]*?)^```$/gm;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    blocks.push({ line: text.slice(0, m.index).split('\n').length, code: m[1] });
  }
  return blocks;
}

/** The module an example is checked as: imports, the names the prose assumes, and the block in a stack. */
export function exampleModule(code: string): string {
  const header = [
    "import { Duration, Stack } from 'aws-cdk-lib';",
    "import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';",
    "import * as ec2 from 'aws-cdk-lib/aws-ec2';",
    "import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';",
    "import * as iam from 'aws-cdk-lib/aws-iam';",
    "import * as logs from 'aws-cdk-lib/aws-logs';",
    "import * as route53 from 'aws-cdk-lib/aws-route53';",
    "import { Construct } from 'constructs';",
  ];
  if (/^import /m.test(code)) return `${header.join('\n')}\n${code}\nexport {};\n`;
  const lib = "import { ApprovalTimeoutAction, BlueGreenFleet, BlueGreenFleetProps, SmokeCheck, TrafficShift, TrafficSwitch } from 'cdk-ec2-blue-green';";
  // A block of props (`name: value,` lines) is a part of the fleet's props.
  const body = /^[A-Za-z]+: /.test(code.trim()) ? `const props: Partial<BlueGreenFleetProps> = {\n${code}};\nvoid props;` : code;
  return `${header.join('\n')}
${lib}
declare const vpc: ec2.IVpc;
declare const instanceType: ec2.InstanceType;
declare const machineImage: ec2.IMachineImage;
declare const userData: ec2.UserData;
declare const certificates: elbv2.IListenerCertificate[];
void [Duration, cloudwatch, iam, logs, route53, BlueGreenFleet, SmokeCheck, TrafficShift, TrafficSwitch, vpc, instanceType, machineImage, userData, certificates];
export class ExampleStack extends Stack {
  constructor(scope: Construct) {
    super(scope, 'Example');
${body}
  }
}
`;
}

/** Type-checks `files` (name to source) with the project's settings; returns the diagnostics as text. */
function typeCheck(files: Record<string, string>): string[] {
  const config = ts.readConfigFile(path.join(root, 'tsconfig.json'), ts.sys.readFile).config;
  const { options } = ts.parseJsonConfigFileContent(config, ts.sys, root);
  Object.assign(options, { noEmit: true, noUnusedLocals: false, baseUrl: root, paths: { 'cdk-ec2-blue-green': ['lib/index.ts'] } });
  const host = ts.createCompilerHost(options);
  const read = host.readFile.bind(host);
  const exists = host.fileExists.bind(host);
  host.readFile = (f) => (files[path.resolve(f)] ?? read(f));
  host.fileExists = (f) => path.resolve(f) in files || exists(f);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (f, lang, onError) => (path.resolve(f) in files ? ts.createSourceFile(f, files[path.resolve(f)], lang, true) : getSourceFile(f, lang, onError));
  const program = ts.createProgram(Object.keys(files), options, host);
  return ts.getPreEmitDiagnostics(program)
    .filter((d) => d.file && path.resolve(d.file.fileName) in files)
    .map((d) => {
      const { line } = d.file!.getLineAndCharacterOfPosition(d.start ?? 0);
      return `${path.basename(d.file!.fileName)}:${line + 1}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    });
}

describe('the README\'s TypeScript examples', () => {
  const blocks = tsBlocks(readme);

  test('there are examples to check (the quick look, the import line, the strategies, Route 53, shared listeners)', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(6);
  });

  test('each compiles against the library', () => {
    const files = Object.fromEntries(blocks.map((b) => [path.join(root, 'test', 'static', `readme-example-line-${b.line}.ts`), exampleModule(b.code)]));
    expect(typeCheck(files)).toEqual([]);
  }, 120_000);

  test('the check can fail: a misspelt prop and a wrong type are reported against their example', () => {
    const file = path.join(root, 'test', 'static', 'readme-example-broken.ts');
    const diagnostics = typeCheck({ [file]: exampleModule("new BlueGreenFleet(this, 'Web', { vpc, instanceType, machineImage, capacty: { minCapacity: '2' } });") });
    expect(diagnostics.join('\n')).toMatch(/readme-example-broken\.ts:\d+: .*'capacty' does not exist/);
  }, 120_000);
});
