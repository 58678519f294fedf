import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import {
  datasetSection,
  jobSection,
  kpiSection,
  modelSection,
  querySection,
  servingSection,
} from '../checks/registry.js';
import type { Check } from '../checks/types.js';
import type { StateSettings } from '../state/db.js';
import type { WarehouseSettings } from '../warehouse/open.js';
import { ConfigError, formatPath, type Problem } from './errors.js';
import { configErrorMap } from './messages.js';
import { configSchema, type RawConfig } from './schema.js';
import { YamlSource } from './yaml-source.js';

export interface LoadedConfig {
  /** The path as the user gave it; every message names it that way. */
  file: string;
  raw: RawConfig;
  warehouse: WarehouseSettings & { statementTimeoutMs: number };
  /** The state store (ticket log); by default the warehouse's server, schema mlwatch. */
  state: StateSettings & { schema: string };
  defaults: { intervalMs: number; jitter: number };
  checks: Check[];
}

/** Reads, substitutes, validates and builds a config file. Throws ConfigError listing every problem. */
export function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : String(code);
    throw new ConfigError(file, [{ path: '', message: `cannot read the config file: ${why}` }]);
  }
  return loadConfigText(text, file, env, dirname(resolve(file)));
}

/** Same as loadConfigFile for text already in memory (the demo's built-in config, tests). */
export function loadConfigText(
  text: string,
  file: string,
  env: NodeJS.ProcessEnv,
  baseDir: string,
): LoadedConfig {
  const src = new YamlSource(text);
  const syntax = src.syntaxProblems();
  if (syntax.length > 0) throw new ConfigError(file, syntax);
  if (src.doc.contents === null) {
    throw new ConfigError(file, [
      { line: 1, path: '', message: 'the file is empty; it needs at least a warehouse section' },
    ]);
  }
  const envProblems = src.substituteEnv(env);
  if (envProblems.length > 0) throw new ConfigError(file, envProblems);

  const parsed = configSchema.safeParse(src.doc.toJS(), { error: configErrorMap });
  if (!parsed.success) {
    const problems: Problem[] = [];
    for (const issue of parsed.error.issues) {
      if (issue.code === 'unrecognized_keys') {
        const lines = issue.message.split('\n');
        issue.keys.forEach((key, i) => {
          const path = [...issue.path, key];
          problems.push({
            line: src.lineOf(path),
            path: formatPath(path),
            message: lines[i] ?? issue.message,
          });
        });
      } else {
        problems.push({ line: src.lineOf(issue.path), path: formatPath(issue.path), message: issue.message });
      }
    }
    problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
    throw new ConfigError(file, problems);
  }
  const raw = parsed.data;
  const password = readPassword(raw.warehouse, 'warehouse', src, file, baseDir);
  const statePassword = readPassword(raw.state, 'state', src, file, baseDir);
  const ctx = {
    defaultIntervalMs: raw.defaults.interval,
    defaultTimeoutMs: raw.warehouse.statement_timeout,
    baseDir,
    configFile: file,
  };
  const checks = [
    ...raw.datasets.flatMap((d) => datasetSection.build(d, ctx)),
    ...raw.models.flatMap((m) => modelSection.build(m, ctx)),
    ...raw.jobs.flatMap((j) => jobSection.build(j, ctx)),
    ...raw.serving.flatMap((s) => servingSection.build(s, ctx)),
    ...raw.kpis.flatMap((k) => kpiSection.build(k, ctx)),
    ...raw.queries.flatMap((q) => querySection.build(q, ctx)),
  ];
  return {
    file,
    raw,
    warehouse: {
      url: raw.warehouse.url,
      password,
      pool: raw.warehouse.pool,
      applicationName: raw.warehouse.application_name,
      connectTimeoutMs: raw.warehouse.connect_timeout,
      statementTimeoutMs: raw.warehouse.statement_timeout,
    },
    state: {
      url: raw.state.url ?? raw.warehouse.url,
      // Without a URL of its own the state store connects as the warehouse does.
      password: raw.state.url === undefined ? (statePassword ?? password) : statePassword,
      applicationName: raw.state.application_name,
      connectTimeoutMs: raw.warehouse.connect_timeout,
      schema: raw.state.schema,
    },
    defaults: { intervalMs: raw.defaults.interval, jitter: raw.defaults.jitter },
    checks,
  };
}

// A password may sit in its own file (a Docker or Kubernetes secret) so the config itself holds none.
function readPassword(
  section: { password?: string | undefined; password_file?: string | undefined },
  name: 'warehouse' | 'state',
  src: YamlSource,
  file: string,
  baseDir: string,
): string | undefined {
  const { password, password_file } = section;
  if (password !== undefined && password_file !== undefined) {
    const path = [name, 'password_file'];
    throw new ConfigError(file, [
      { line: src.lineOf(path), path: formatPath(path), message: 'give password or password_file, not both' },
    ]);
  }
  if (password_file === undefined) return password;
  const target = isAbsolute(password_file) ? password_file : resolve(baseDir, password_file);
  try {
    return readFileSync(target, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    const path = [name, 'password_file'];
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(file, [
      {
        line: src.lineOf(path),
        path: formatPath(path),
        message: `cannot read ${password_file}: ${code === 'ENOENT' ? 'no such file' : code}; create it or fix the path${isAbsolute(password_file) ? '' : ` (relative to the config file's folder, ${baseDir})`}`,
      },
    ]);
  }
}
