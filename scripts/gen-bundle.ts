// `npm run bundle`: renders the monitoring bundle (rule files, dashboards, Kubernetes base) from the bundle config
// (bundle/config.ts, docs/bundle.md).
//
//   npm run bundle                                        the defaults, into the repository's checked-in files
//   npm run bundle -- --config my-bundle.yaml --out dir/  your values, into dir/ (laid out like the repository)
//
// A config of your own needs --out: the checked-in files are the defaults' render, which the tests hold them to.
// Exit 0 when written; 2 for a usage or config mistake (the message says where and what to change); 1 otherwise.
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { writeFiles } from '../bundle/files.js';
import { loadBundleConfig } from '../bundle/load.js';
import { ROOT, renderBundle } from '../bundle/render.js';
import { ConfigError } from '../src/config/errors.js';
import { writeSketches } from './gen-dashboard-sketch.js';

const USAGE = 'usage: npm run bundle [-- --config FILE --out DIR]';

class UsageError extends Error {}

function options(): { config?: string; out?: string } {
  let parsed: { values: { config?: string; out?: string; help?: boolean } };
  try {
    parsed = parseArgs({
      options: { config: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    });
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n${USAGE}`);
  }
  if (parsed.values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const { config, out } = parsed.values;
  if (config !== undefined && out === undefined) {
    throw new UsageError(
      `--config ${config} needs --out DIR: the checked-in files are the defaults' render, which the tests ` +
        `compare with; write yours elsewhere, e.g. --out rendered/\n${USAGE}`,
    );
  }
  return { ...(config !== undefined && { config }), ...(out !== undefined && { out }) };
}

async function main(): Promise<void> {
  const { config: configFile, out } = options();
  const config = loadBundleConfig(configFile);
  const root = out === undefined ? ROOT : resolve(out);
  const files = renderBundle(config, { target: out === undefined ? 'repository' : 'directory' });
  writeFiles(root, files);
  for (const { file } of files)
    console.log(`wrote ${out === undefined ? file : `${out.replace(/\/$/, '')}/${file}`}`);
  // The PNG sketches are drawn from the dashboards as checked in; for a directory of one's own they add nothing.
  if (out === undefined) await writeSketches();
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError || err instanceof UsageError) {
    console.error(err.message);
    process.exit(2);
  }
  console.error(`gen-bundle: ${(err as Error).message}`);
  process.exit(1);
});
