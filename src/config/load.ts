import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { StateSettings } from '../actions/store/db.js';
import { buildSections } from '../checks/registry.js';
import type { Check } from '../checks/types.js';
import { Redactor } from '../redact.js';
import { dialectOf } from '../sql/dialect.js';
import type { FileSource } from '../warehouse/duckdb.js';
import { isRemotePath } from '../warehouse/duckdb-paths.js';
import type { WarehouseSettings } from '../warehouse/open.js';
import { ConfigError, formatPath, type Problem, readConfigText, readErrorText } from './errors.js';
import { configErrorMap } from './messages.js';
import { nulProblems } from './nul.js';
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

/** warehouse.files with each local path made absolute against the config file's folder; URLs as written. */
function fileSources(files: RawConfig['warehouse']['files'], baseDir: string): FileSource[] {
  return Object.entries(files ?? {}).map(([name, f]) => {
    const format = f.parquet !== undefined ? 'parquet' : f.csv !== undefined ? 'csv' : 'json';
    return {
      name,
      format,
      path: isRemotePath(f[format] as string) ? (f[format] as string) : resolve(baseDir, f[format] as string),
      hivePartitioning: f.hive_partitioning,
      types: f.types ?? {},
    };
  });
}

/** Reads, substitutes, validates and builds a config file. Throws ConfigError listing every problem. */
export function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const text = readConfigText(file, 'config file');
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
  const input: unknown = src.doc.toJS();
  // Every message passes through this, whatever wrote it: a message may quote input, and no input under a
  // secret key (nor a URL's password) may be shown (the error map already describes those by type only).
  const redactor = new Redactor().addTree(input);
  const refuse = (problems: Problem[]): never => {
    throw new ConfigError(
      file,
      problems.map((p) => ({ ...p, message: redactor.redact(p.message) })),
    );
  };
  if (envProblems.length > 0) refuse(envProblems);
  const nul = nulProblems(input, (path) => src.lineOf(path));
  if (nul.length > 0) refuse(nul);

  const parsed = configSchema.safeParse(input, { error: configErrorMap });
  if (!parsed.success) {
    const problems = src.schemaProblems(parsed.error.issues);
    return refuse(problems);
  }
  const raw = parsed.data;
  const password = readPassword(raw.warehouse, 'warehouse', src, baseDir, refuse);
  const statePassword = readPassword(raw.state, 'state', src, baseDir, refuse);
  const ctx = {
    defaultIntervalMs: raw.defaults.interval,
    defaultTimeoutMs: raw.warehouse.statement_timeout,
    dialect: dialectOf(raw.warehouse.url),
    baseDir,
    configFile: file,
  };
  // A builder that still throws a plain Error over its input (a table name the schema let through, quoteIdent's
  // last guard) names its entry instead of ending the process with a stack trace. A TypeError and the like is
  // a bug: it keeps its stack.
  const checks = buildSections(raw, ctx, (key, i, build) => {
    try {
      return build();
    } catch (err) {
      if (!(err instanceof Error) || err.constructor !== Error) throw err;
      const path = [key, i];
      return refuse([{ line: src.lineOf(path), path: formatPath(path), message: (err as Error).message }]);
    }
  });
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
      files: fileSources(raw.warehouse.files, baseDir),
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
  baseDir: string,
  refuse: (problems: Problem[]) => never,
): string | undefined {
  const { password, password_file } = section;
  if (password !== undefined && password_file !== undefined) {
    const path = [name, 'password_file'];
    return refuse([
      { line: src.lineOf(path), path: formatPath(path), message: 'give password or password_file, not both' },
    ]);
  }
  if (password_file === undefined) return password;
  const target = isAbsolute(password_file) ? password_file : resolve(baseDir, password_file);
  try {
    return readFileSync(target, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    const path = [name, 'password_file'];
    return refuse([
      {
        line: src.lineOf(path),
        path: formatPath(path),
        message: `cannot read ${password_file}: ${readErrorText(err)}; create it or fix the path${isAbsolute(password_file) ? '' : ` (relative to the config file's folder, ${baseDir})`}`,
      },
    ]);
  }
}
