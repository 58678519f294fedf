import { readFileSync } from 'node:fs';

/** Config problems as the user sees them: `file:line path: what is wrong and how to fix it`. */

export interface Problem {
  line?: number | undefined;
  /** YAML path such as queries[0].metrics[1].name; empty for the whole file. */
  path: string;
  message: string;
}

export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: Problem[],
  ) {
    super(problems.map((p) => formatProblem(file, p)).join('\n'));
    this.name = 'ConfigError';
  }
}

/** Reads a config file, or throws a ConfigError naming it and why ("cannot read the <what>: no such file"). */
export function readConfigText(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [{ path: '', message: `cannot read the ${what}: ${readErrorText(err)}` }]);
  }
}

const READ_ERRORS: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EISDIR: 'it is a directory, not a file',
  ENOTDIR: 'a part of the path is not a directory',
};

/** Why a file could not be read, in words: the usual causes spelled out, else the system's own message. */
export function readErrorText(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  return (code && READ_ERRORS[code]) || (err as Error).message || String(err);
}

export function formatProblem(file: string, p: Problem): string {
  const where = p.line !== undefined ? `${file}:${p.line}` : file;
  return p.path ? `${where} ${p.path}: ${p.message}` : `${where}: ${p.message}`;
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out;
}
