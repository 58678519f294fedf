#!/usr/bin/env node
// Renders alertmanager/alertmanager.yml with the receivers' endpoints set, for Alertmanager 0.25 (which has
// no `url_file` for webhooks and no environment expansion in its config).
//
//   node alertmanager/render.mjs --out DIR [--config FILE] [--env-file FILE]
//
// Writes DIR/alertmanager.yml and DIR/templates/*.tmpl (the config loads templates relative to itself), so
// DIR can be mounted as /etc/alertmanager. Each webhook `url:` line of the config that ends with
// `# endpoint: MLWATCH_AM_<RECEIVER>_URL` gets the value of that variable, taken from the environment, else
// from --env-file (KEY=VALUE lines, # comments), else the default written in the config. No dependencies.
// Likewise each `credentials_file:` line ending with `# credentials: MLWATCH_AM_WEBHOOK_CREDENTIALS_FILE` (the
// file holding the bearer token mlwatch's webhook endpoints require) gets that variable's path. A relative path
// is resolved by Alertmanager against the rendered config's directory, DIR.
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ENDPOINTS = {
  ticketing: 'MLWATCH_AM_TICKETING_URL',
  'platform-oncall': 'MLWATCH_AM_PLATFORM_ONCALL_URL',
  'data-science': 'MLWATCH_AM_DATA_SCIENCE_URL',
  'business-analysts': 'MLWATCH_AM_BUSINESS_ANALYSTS_URL',
  retraining: 'MLWATCH_AM_RETRAINING_URL',
};

/** Variables naming a credentials file: the webhook client's token for mlwatch's own endpoints. */
export const CREDENTIALS = { webhook: 'MLWATCH_AM_WEBHOOK_CREDENTIALS_FILE' };

const HERE = dirname(fileURLToPath(import.meta.url));
const URL_LINE =
  /^(\s*(?:-\s+)?url:\s*)('(?:[^']|'')*'|"(?:[^"\\]|\\.)*"|\S+)(\s*#\s*endpoint:\s*)([A-Z0-9_]+)\s*$/;
const CREDENTIALS_LINE =
  /^(\s*credentials_file:\s*)('(?:[^']|'')*'|"(?:[^"\\]|\\.)*"|\S+)(\s*#\s*credentials:\s*)([A-Z0-9_]+)\s*$/;
const PLACEHOLDER = /\.invalid(?::\d+)?\//;

function fail(message) {
  process.stderr.write(`render.mjs: ${message}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { config: join(HERE, 'alertmanager.yml'), out: undefined, envFile: undefined };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => argv[++i] ?? fail(`${arg} needs a value`);
    if (arg === '--out') opts.out = value();
    else if (arg === '--config') opts.config = value();
    else if (arg === '--env-file') opts.envFile = value();
    else if (arg === '-h' || arg === '--help') {
      process.stdout.write(
        'usage: node alertmanager/render.mjs --out DIR [--config FILE] [--env-file FILE]\n' +
          `variables: ${[...Object.values(ENDPOINTS), ...Object.values(CREDENTIALS)].join(', ')}\n`,
      );
      process.exit(0);
    } else fail(`unknown argument ${arg} (try --help)`);
  }
  if (!opts.out) fail('--out DIR is required');
  return opts;
}

function readEnvFile(file) {
  const vars = {};
  readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .forEach((line, i) => {
      const text = line.trim();
      if (text === '' || text.startsWith('#')) return;
      const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(text);
      if (!m) fail(`${file}:${i + 1}: expected KEY=VALUE`);
      vars[m[1]] = m[2].replace(/^(['"])(.*)\1$/, '$2');
    });
  return vars;
}

/** Returns the rendered config text and the endpoints used; throws on any inconsistency. */
export function renderConfig(text, values) {
  const known = new Set(Object.values(ENDPOINTS));
  const credentialVars = new Set(Object.values(CREDENTIALS));
  for (const name of Object.keys(values)) {
    if (/^MLWATCH_AM_/.test(name) && !known.has(name) && !credentialVars.has(name)) {
      throw new Error(
        `unknown variable ${name}; the variables are ${[...known, ...credentialVars].join(', ')}`,
      );
    }
  }
  const used = {};
  const credentials = {};
  const lines = text.split('\n').map((line, i) => {
    const c = CREDENTIALS_LINE.exec(line);
    if (c) {
      const [, head, current, marker, name] = c;
      if (!credentialVars.has(name)) throw new Error(`line ${i + 1}: unknown credentials marker ${name}`);
      const chosen = values[name];
      const path = chosen === undefined || chosen === '' ? unquote(current) : chosen;
      // A path with a line break or other control character is a paste gone wrong, not a file name.
      if ([...path].some((ch) => ch < ' ' || ch === '\x7f')) {
        throw new Error(`${name}: control character in the path`);
      }
      // Several receivers share the variable; each line gets the same path.
      credentials[name] = path;
      return `${head}${JSON.stringify(path)}${marker}${name}`;
    }
    const m = URL_LINE.exec(line);
    if (!m) return line;
    const [, head, current, marker, name] = m;
    if (!known.has(name)) throw new Error(`line ${i + 1}: unknown endpoint marker ${name}`);
    if (name in used) throw new Error(`line ${i + 1}: endpoint marker ${name} appears twice`);
    const chosen = values[name];
    const url = chosen === undefined || chosen === '' ? unquote(current) : chosen;
    if ([...url].some((c) => c <= ' ' || c === '\x7f')) {
      throw new Error(`${name}: whitespace or control character in URL`);
    }
    let parsed;
    try {
      parsed = new URL(url);
    } catch {
      throw new Error(`${name}: not a URL: ${url}`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new Error(`${name}: must be an http or https URL: ${url}`);
    }
    used[name] = url;
    // A JSON string is a valid YAML double-quoted scalar, whatever the URL holds.
    return `${head}${JSON.stringify(url)}${marker}${name}`;
  });
  const missing = [...known].filter((name) => !(name in used));
  if (missing.length > 0) throw new Error(`no url line marked "# endpoint: ${missing.join('", "')}"`);
  // A config whose credentials lines lost their marker would keep a path nobody sets.
  const unmarked = [...credentialVars].filter((name) => !(name in credentials));
  if (unmarked.length > 0) {
    throw new Error(`no credentials_file line marked "# credentials: ${unmarked.join('", "')}"`);
  }
  return { text: lines.join('\n'), endpoints: used, credentials };
}

function unquote(value) {
  if (value.startsWith("'")) return value.slice(1, -1).replaceAll("''", "'");
  if (value.startsWith('"')) return JSON.parse(value);
  return value;
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  const values = { ...(opts.envFile ? readEnvFile(opts.envFile) : {}) };
  for (const [name, value] of Object.entries(process.env)) {
    if (name.startsWith('MLWATCH_AM_') && value !== undefined && value !== '') values[name] = value;
  }
  let rendered;
  try {
    rendered = renderConfig(readFileSync(opts.config, 'utf8'), values);
  } catch (err) {
    fail(`${opts.config}: ${err.message}`);
  }
  const out = resolve(opts.out);
  if (out === dirname(resolve(opts.config))) fail('--out must not be the directory of the source config');
  mkdirSync(join(out, 'templates'), { recursive: true });
  const templates = join(dirname(resolve(opts.config)), 'templates');
  for (const file of readdirSync(templates)) {
    if (file.endsWith('.tmpl')) copyFileSync(join(templates, file), join(out, 'templates', file));
  }
  const target = join(out, 'alertmanager.yml');
  writeFileSync(target, rendered.text);
  for (const [name, url] of Object.entries(rendered.endpoints)) {
    if (PLACEHOLDER.test(url)) process.stderr.write(`render.mjs: warning: ${name} not set, using ${url}\n`);
  }
  process.stdout.write(`${target}\n`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
