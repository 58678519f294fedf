import { ConfigError } from '../config/errors.js';
import { type LoadedConfig, loadConfigFile } from '../config/load.js';
import { StartRefused } from '../runtime/serve.js';
import { describeOwners } from './port-owner.js';

/** Exits 1 with every problem on stderr and no stack trace: what a user sees for a bad config. */
export function loadOrExit(file: string): LoadedConfig {
  try {
    return loadConfigFile(file);
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message);
    throw err;
  }
}

export function parsePort(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    fail(`--port: '${text}' is not a port number (0-65535; 0 picks a free one)`);
  }
  return n;
}

export function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

/** Why serve or demo could not start, in words: a refused config, a bad web config, a taken port. */
export function startError(err: unknown, port: number): string {
  if (err instanceof ConfigError || err instanceof StartRefused) return err.message;
  return listenError(err, port);
}

/** A listen error in words, e.g. the port is taken. */
export function listenError(err: unknown, port: number): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE')
    return `port ${port} is already in use${describeOwners(port)}; stop that process or pick another port with --port`;
  if (code === 'EACCES') return `no permission to listen on port ${port}; pick a port above 1024 with --port`;
  return `cannot start: ${(err as Error).message}`;
}
