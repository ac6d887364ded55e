import { ChildProcess, spawn } from 'child_process';
import * as net from 'net';

/** A free TCP port on the loopback interface. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** `moto_server` on a free loopback port, started and stopped by the lab. */
export class MotoServer {
  private process?: ChildProcess;
  public port = 0;

  public get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  public async start(): Promise<void> {
    this.port = await freePort();
    const output: string[] = [];
    this.process = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(this.port)], {
      env: { ...process.env, MOTO_PORT: String(this.port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.process.stdout?.on('data', (d) => output.push(String(d)));
    this.process.stderr?.on('data', (d) => output.push(String(d)));
    const exited = new Promise<never>((_, reject) => this.process!.once('exit', (code) => reject(new Error(
      `moto_server exited with code ${code} before it was ready (install it with: pip install 'moto[server]'):\n${output.join('').slice(-2000)}`))));
    exited.catch(() => undefined);
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      try {
        const res = await Promise.race([fetch(`${this.endpoint}/moto-api/`), exited]);
        if (res.status < 500) return;
      } catch (e) {
        if ((e as Error).message.startsWith('moto_server exited')) throw e;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`moto_server did not answer on ${this.endpoint} within 30 s`);
  }

  /** Clears every resource in the emulator. */
  public async reset(): Promise<void> {
    await fetch(`${this.endpoint}/moto-api/reset`, { method: 'POST' });
  }

  public async stop(): Promise<void> {
    const p = this.process;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill('SIGTERM');
      setTimeout(() => p.kill('SIGKILL'), 3000).unref();
    });
  }
}
