import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';

/** A child process of the stack, with its output kept for failure messages. */
export class Proc {
  private output = '';
  readonly child: ChildProcess;

  constructor(
    readonly name: string,
    cmd: string,
    args: string[],
    env: NodeJS.ProcessEnv = {},
  ) {
    this.child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout?.on('data', (d) => this.keep(d));
    this.child.stderr?.on('data', (d) => this.keep(d));
  }

  private keep(d: Buffer): void {
    this.output = (this.output + d.toString()).slice(-20_000);
  }

  logs(): string {
    return this.output;
  }

  stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    return new Promise((resolve) => {
      if (this.child.exitCode !== null || this.child.signalCode !== null) return resolve();
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
      this.child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      this.child.kill(signal);
    });
  }
}

/** A free TCP port on loopback (asked from the kernel, then released for the process that will bind it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** Polls an HTTP URL until it answers 200, failing with the process's output after the timeout. */
export async function waitHttpOk(url: string, proc: Proc, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return;
    } catch {}
    if (proc.child.exitCode !== null)
      throw new Error(`${proc.name} exited ${proc.child.exitCode}:\n${proc.logs()}`);
    if (Date.now() > deadline) throw new Error(`${proc.name} not ready at ${url}:\n${proc.logs()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
