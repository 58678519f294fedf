import { homedir } from 'node:os';
import { join } from 'node:path';
import { schemeOf } from './duckdb-paths.js';

/**
 * DuckDB's httpfs extension, for the remote paths of `warehouse.files`: installed (when DuckDB has no copy) and
 * loaded explicitly when the warehouse opens, before external access is turned off and the configuration
 * locked. Auto-loading stays off, so a check's statement can never bring in an extension by naming a URL.
 */

/** A remote source could not be read because httpfs could not be installed or loaded. */
export class DuckdbExtensionMissing extends Error {}

/** Runs one statement on the connection that sets the warehouse up; rows as plain objects. */
export type RunSetup = (sql: string) => Promise<Record<string, unknown>[]>;

/** `s3:// paths (warehouse.files.a, warehouse.files.b) and https:// paths (warehouse.files.c)`. */
export function remoteSourcesText(files: readonly { name: string; path: string }[]): string {
  const byScheme = new Map<string, string[]>();
  for (const f of files) {
    const scheme = schemeOf(f.path);
    if (scheme === undefined) continue;
    byScheme.set(scheme, [...(byScheme.get(scheme) ?? []), `warehouse.files.${f.name}`]);
  }
  return [...byScheme].map(([scheme, names]) => `${scheme}:// paths (${names.join(', ')})`).join(' and ');
}

// DuckDB's reasons run over several lines (a hint, a link to its troubleshooting page): one line for a check's
// last error, without the sentence that only says httpfs is a known extension.
function oneLine(message: string): string {
  return message
    .replace(/Extension "httpfs" is an existing extension\.\s*/g, '')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Installs httpfs if DuckDB has no copy of it, then loads it; throws DuckdbExtensionMissing naming the sources. */
export async function loadHttpfs(
  run: RunSetup,
  files: readonly { name: string; path: string }[],
): Promise<void> {
  const [state] = await run(
    "SELECT installed, loaded FROM duckdb_extensions() WHERE extension_name = 'httpfs'",
  );
  if (state?.loaded === true) return;
  let step = 'install';
  try {
    // INSTALL only when missing: it would download again (and fail, offline) when a copy is already there.
    if (state?.installed !== true) await run('INSTALL httpfs');
    step = 'load';
    await run('LOAD httpfs');
  } catch (err) {
    throw new DuckdbExtensionMissing(
      `the httpfs extension is needed for ${remoteSourcesText(files)}; DuckDB could not ${step} it: ` +
        `${oneLine((err as Error).message)}. ${await installHint(run)}`,
    );
  }
}

// Where DuckDB looks for the extension, in DuckDB's own words (version and platform), so the fix can be done
// by hand on a machine that cannot download: the exporter's DuckDB loads what is in that folder.
async function installHint(run: RunSetup): Promise<string> {
  const [info] = await run(
    "SELECT (SELECT library_version FROM pragma_version()) AS version, (SELECT platform FROM pragma_platform()) AS platform, current_setting('extension_directory') AS dir",
  ).catch(() => [undefined]);
  const version = String(info?.version ?? '');
  const platform = String(info?.platform ?? '');
  if (version === '' || platform === '') {
    return 'Install it where the exporter runs, as the exporter\'s user: duckdb -c "INSTALL httpfs" with the DuckDB CLI of the driver\'s version';
  }
  const base = String(info?.dir ?? '') || join(process.env.HOME || homedir(), '.duckdb', 'extensions');
  return (
    `Install it where the exporter runs, as the exporter's user: duckdb -c "INSTALL httpfs" with the DuckDB ${version} CLI, ` +
    `or copy httpfs.duckdb_extension for ${version} ${platform} into ${join(base, version, platform)}/`
  );
}
