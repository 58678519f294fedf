import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';

/**
 * The schema lock file: the columns of each dataset's table as they were when `mlwatch schema lock` ran, like
 * a package lock. Users commit it; the schema check counts the differences from it. Written with a stable key
 * order and a trailing newline, so re-locking an unchanged warehouse leaves the file byte-for-byte the same.
 *
 *   { "version": 1, "datasets": { "<name>": { "table": "...", "columns": [{ "name", "type" }], "hash": "..." } } }
 */

export const LOCK_FILE_NAME = 'mlwatch.schema.lock.json';
export const LOCK_VERSION = 1;

export interface LockedColumn {
  name: string;
  type: string;
}

export interface LockedDataset {
  /** The table as written in config when it was locked. */
  table: string;
  /** In ordinal order. */
  columns: LockedColumn[];
  /** schemaHash(columns); informational, the check compares columns. */
  hash: string;
}

export interface SchemaLock {
  version: typeof LOCK_VERSION;
  datasets: Record<string, LockedDataset>;
}

/** A lock file problem, worded `file: path: what is wrong; what to do`. */
export class SchemaLockError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SchemaLockError';
  }
}

/** What to tell the user to run; `configFile` undefined when the caller does not know it. */
export function relockHint(configFile: string | undefined): string {
  return `run mlwatch schema lock --config ${configFile ?? '<config file>'}`;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Validates the text of a lock file. `file` is how messages name it. */
export function parseSchemaLock(text: string, file: string, configFile?: string): SchemaLock {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new SchemaLockError(
      `${file}: not valid JSON (${(err as Error).message}); ${relockHint(configFile)} to write it again`,
    );
  }
  const bad = (path: string, what: string): never => {
    throw new SchemaLockError(`${file}: ${path ? `${path}: ` : ''}${what}; ${relockHint(configFile)}`);
  };
  if (!isObject(doc)) return bad('', 'expected a JSON object with version and datasets');
  if (doc.version !== LOCK_VERSION) {
    return bad(
      'version',
      typeof doc.version === 'number' && doc.version > LOCK_VERSION
        ? `version ${doc.version} was written by a newer mlwatch; this one reads version ${LOCK_VERSION}`
        : `expected ${LOCK_VERSION}`,
    );
  }
  if (!isObject(doc.datasets)) return bad('datasets', 'expected an object of dataset name to its columns');
  // No prototype: a dataset named like an Object.prototype key stays plain data.
  const datasets: Record<string, LockedDataset> = Object.create(null);
  for (const [name, entry] of Object.entries(doc.datasets)) {
    const at = `datasets.${name}`;
    if (!isObject(entry)) return bad(at, 'expected an object with table, columns and hash');
    if (typeof entry.table !== 'string' || entry.table === '')
      return bad(`${at}.table`, 'expected a table name');
    if (typeof entry.hash !== 'string') return bad(`${at}.hash`, 'expected a string');
    if (!Array.isArray(entry.columns) || entry.columns.length === 0) {
      return bad(`${at}.columns`, 'expected a non-empty list of { name, type }');
    }
    const seen = new Set<string>();
    const columns = entry.columns.map((c: unknown, i): LockedColumn => {
      const cAt = `${at}.columns[${i}]`;
      if (!isObject(c)) return bad(cAt, 'expected { name, type }');
      if (typeof c.name !== 'string' || c.name === '') return bad(`${cAt}.name`, 'expected a column name');
      if (typeof c.type !== 'string' || c.type === '') return bad(`${cAt}.type`, 'expected a type name');
      if (seen.has(c.name)) return bad(`${cAt}.name`, `column ${c.name} is listed twice`);
      seen.add(c.name);
      return { name: c.name, type: c.type };
    });
    datasets[name] = { table: entry.table, columns, hash: entry.hash };
  }
  return { version: LOCK_VERSION, datasets };
}

/** Reads and validates a lock file; `display` is how messages name it (the path as the user wrote it). */
export async function readSchemaLock(path: string, display = path, configFile?: string): Promise<SchemaLock> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : String(code);
    const where = display === path ? '' : ` (${path})`;
    throw new SchemaLockError(
      `${display}: cannot read the schema lock file${where}: ${why}; ${relockHint(configFile)}`,
    );
  }
  return parseSchemaLock(text, display, configFile);
}

/** The dataset's entry, or a SchemaLockError saying it is missing or was locked for another table. */
export function lockedDataset(
  lock: SchemaLock,
  dataset: { name: string; table: string },
  display: string,
  configFile?: string,
): LockedDataset {
  const entry = Object.hasOwn(lock.datasets, dataset.name) ? lock.datasets[dataset.name] : undefined;
  if (entry === undefined) {
    throw new SchemaLockError(`${display}: dataset ${dataset.name} is missing; ${relockHint(configFile)}`);
  }
  if (entry.table !== dataset.table) {
    throw new SchemaLockError(
      `${display}: dataset ${dataset.name} was locked for table ${entry.table}, the config now reads ${dataset.table}; ${relockHint(configFile)}`,
    );
  }
  return entry;
}

/** Stable text: keys in a fixed order, datasets sorted by name, columns in table order, trailing newline. */
export function renderSchemaLock(lock: SchemaLock): string {
  const datasets: Record<string, LockedDataset> = {};
  for (const name of Object.keys(lock.datasets).sort()) {
    const d = lock.datasets[name] as LockedDataset;
    datasets[name] = {
      table: d.table,
      columns: d.columns.map((c) => ({ name: c.name, type: c.type })),
      hash: d.hash,
    };
  }
  return `${JSON.stringify({ version: LOCK_VERSION, datasets }, null, 2)}\n`;
}

/** Writes the whole file at once (a temporary file renamed over it): a reader never sees half a lock. */
export async function writeSchemaLock(path: string, lock: SchemaLock): Promise<void> {
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, renderSchemaLock(lock), 'utf8');
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
