import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The built CLI, exactly as `npx mlwatch` runs it (npm test builds dist/ first). */
export const CLI = fileURLToPath(new URL('../../bin/mlwatch.js', import.meta.url));
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export function runCli(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

export interface Served {
  child: ChildProcess;
  port: number;
  url: string;
  logs: () => string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts `mlwatch <args> --port 0`-style servers and waits for the "mlwatch listening" log line. */
export async function startCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Served> {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env: { ...process.env, ...env } });
  let logs = '';
  let scheme = 'http';
  child.stdout?.on('data', (d) => {
    logs += d;
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line within 60s:\n${logs}`)), 60_000);
    child.stderr?.on('data', (d) => {
      logs += d;
      const m = /"port":(\d+),"scheme":"(https?)".*"msg":"mlwatch listening"/.exec(logs);
      if (m) {
        clearTimeout(timer);
        scheme = m[2] as string;
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited ${code} before listening:\n${logs}`));
    });
  });
  return {
    child,
    port,
    url: `${scheme}://127.0.0.1:${port}`,
    logs: () => logs,
    stop(signal: NodeJS.Signals = 'SIGTERM') {
      return new Promise((resolve) => {
        // Already gone (exited, or killed by a signal): 'exit' will not fire again.
        if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
        child.once('exit', (code) => resolve(code));
        child.kill(signal);
      });
    },
  };
}
