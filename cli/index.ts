import * as readline from 'readline';
import { main } from './main';

// The bin: the process's streams and environment; Ctrl-C ends --watch (a second one exits).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const stop = new AbortController();
process.on('SIGINT', () => {
  if (stop.signal.aborted) process.exit(130);
  stop.abort();
});

const confirm = process.stdin.isTTY
  ? (question: string) => new Promise<boolean>((resolve) => {
    const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
    rl.question(question, (answer) => { rl.close(); resolve(/^y(es)?$/i.test(answer.trim())); });
  })
  : undefined;

main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env, confirm, signal: stop.signal })
  .then((code) => { process.exitCode = code; }, (e) => { process.stderr.write(`${e?.stack ?? e}\n`); process.exitCode = 2; });
