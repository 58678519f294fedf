import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import type { BundleConfig } from './config.js';
import type { GeneratedFile } from './files.js';
import { layerList, type OwnerRouting, ownerRouting } from './owner-routing.js';
import { fillPlaceholders, generatedHeader, placeholderValues } from './placeholders.js';

/**
 * alertmanager/alertmanager.yml, rendered from its source alertmanager/src/alertmanager.yml and the bundle config,
 * as the rule files are from prometheus/src: the source is the file as people edit it, reasons in comments, with
 * `${owners.system.receiver}`, `${keep_labels|list}` and so on where the config's values go (bundle/placeholders.ts).
 *
 * The parts whose number follows the owners are blocks this file writes, each on a line of its own in the source:
 * `${owner_routes.warnings}` (route 3: a route per team owning the data or model layer), `${owner_routes.business}`
 * (route 4, narrowed or left out when it would repeat route 2) and `${owner_receivers}` (each owner's receiver
 * once). Their timings are the ones the source's comments above them explain; bundle/owner-routing.ts decides
 * which routes and receivers there are.
 */

export const AM_SOURCE_FILE = 'alertmanager/src/alertmanager.yml';
export const AM_FILE = 'alertmanager/alertmanager.yml';
/** The message templates alertmanager.yml loads (`templates:`, relative to its directory). */
export const AM_TEMPLATES_DIR = 'alertmanager/templates';
/** Where every webhook reads its URL, `<receiver>-url` (docs/alertmanager.md, "Set the receivers' endpoints"). */
export const URL_DIR = '/run/secrets/mlwatch-alertmanager';

// The comments' width, as the source's: lines of at most 114 characters.
const WIDTH = 114;

/** `text` as `#` comment lines of at most WIDTH characters once indented by `indent`. */
function comment(text: string, indent: number): string[] {
  const lines: string[] = [];
  let line = '#';
  for (const word of text.split(' ')) {
    if (line !== '#' && indent + line.length + 1 + word.length > WIDTH) {
      lines.push(line);
      line = '#';
    }
    line += ` ${word}`;
  }
  return [...lines, line];
}

const sentence = (s: string) => `${s.charAt(0).toUpperCase()}${s.slice(1)}.`;
const matcherList = (matchers: string[]) => `[${matchers.map((m) => `'${m}'`).join(', ')}]`;

// Route 3's and 4's timings (the source explains them above the blocks): chat channels, read in working hours.
const CHANNEL_TIMING = ['group_wait: 2m', 'group_interval: 15m', 'repeat_interval: 12h', 'continue: true'];

/** Route 3: one route per team owning the data or model layer; a note for a layer the system owner owns. */
function warningRoutes(r: OwnerRouting): string[] {
  const routes = r.warnings.map((w) => {
    const matchers = [
      'severity="warning"',
      `team="${w.team}"`,
      ...(w.notBusiness ? ['layer!="business"'] : []),
    ];
    const notes = [
      `Team ${w.team}, owner of the ${layerList(w.layers)}.`,
      ...(w.notBusiness
        ? [
            `layer!="business": ${w.receiver} is the business owner's receiver too, and gets that layer's alerts ` +
              'through route 4, once.',
          ]
        : []),
    ];
    return [
      ...notes.flatMap((n) => comment(n, 4)),
      `- receiver: ${w.receiver}`,
      `  matchers: ${matcherList(matchers)}`,
      ...CHANNEL_TIMING.map((t) => `  ${t}`),
    ].join('\n');
  });
  const owned = r.systemOwned.filter((l) => l !== 'business');
  if (owned.length > 0) {
    routes.push(
      comment(
        `Team ${r.pager.team}, the system owner, owns the ${layerList(owned)} too: no route here, its warnings are tickets only.`,
        4,
      ).join('\n'),
    );
  }
  return routes;
}

/** Route 4, or why there is none. */
function businessRoute(r: OwnerRouting): string[] {
  const b = r.business;
  if (b === undefined) {
    return [
      comment(
        `None: team ${r.pager.team}, the system owner, owns the business layer: its pages reach ` +
          `${r.pager.receiver} through route 2, and its warnings are tickets only.`,
        4,
      ).join('\n'),
    ];
  }
  const severity = b.warningsOnly ? 'severity="warning"' : 'severity=~"warning|critical"';
  const note = b.warningsOnly
    ? comment(
        `severity="warning" only: ${b.receiver} is the system owner's receiver too, which route 2 gives every ` +
          'critical alert, so a business page reaches it once.',
        4,
      )
    : [];
  return [
    [
      ...note,
      `- receiver: ${b.receiver}`,
      `  matchers: ${matcherList([severity, 'layer="business"'])}`,
      ...CHANNEL_TIMING.map((t) => `  ${t}`),
    ].join('\n'),
  ];
}

/** Each owner's receiver: a webhook reading its URL from `<receiver>-url`, as every receiver of the file. */
function ownerReceivers(r: OwnerRouting): string[] {
  return r.receivers.map(({ name, gets }) =>
    [
      ...comment(
        `${gets.map((g, i) => sentence(i === 0 ? g : `also ${g}`)).join(' ')} Put its URL in the file.`,
        2,
      ),
      `- name: ${name}`,
      '  webhook_configs:',
      `    - url_file: "${URL_DIR}/${name}-url"`,
      '      send_resolved: true',
    ].join('\n'),
  );
}

const BLOCKS: Record<string, (r: OwnerRouting) => string[]> = {
  'owner_routes.warnings': warningRoutes,
  'owner_routes.business': businessRoute,
  owner_receivers: ownerReceivers,
};

const BLOCK_LINE = /^([ \t]*)\$\{([^}|]*)\}[ \t]*$/gm;

/** The source's text rendered for `config`; an unknown placeholder or a block off its own line names its line. */
export function renderAlertmanagerText(text: string, config: BundleConfig, source: string): string {
  // Blocks pass through the placeholders untouched, so a placeholder's error names its line in the source.
  const values = placeholderValues(config);
  for (const name of Object.keys(BLOCKS)) values.set(name, `\${${name}}`);
  const filled = fillPlaceholders(text, values, source, { yaml: false });
  const routing = ownerRouting(config.owners);
  const out = filled.replace(BLOCK_LINE, (line, indent: string, name: string) => {
    const block = BLOCKS[name];
    if (!block) return line;
    return block(routing)
      .join('\n\n')
      .split('\n')
      .map((l) => (l === '' ? l : indent + l))
      .join('\n');
  });
  const left = Object.keys(BLOCKS).find((name) => out.includes(`\${${name}}`));
  if (left !== undefined)
    throw new Error(
      `${source}: \${${left}} is a block: write it alone on its line, indented as the entries it adds`,
    );
  const doc = parseDocument(out);
  if (doc.errors.length > 0)
    throw new Error(`${source}: not valid YAML once rendered: ${doc.errors[0]?.message}`);
  return out;
}

/** alertmanager/alertmanager.yml for `config`. */
export function renderAlertmanager(root: string, config: BundleConfig): GeneratedFile {
  const text = readFileSync(join(root, AM_SOURCE_FILE), 'utf8');
  return {
    file: AM_FILE,
    text: generatedHeader(AM_SOURCE_FILE) + renderAlertmanagerText(text, config, AM_SOURCE_FILE),
  };
}

/**
 * The message templates, copied as they are into a directory of one's own, so that its alertmanager/ loads as the
 * repository's does (`templates: ["templates/*.tmpl"]`).
 */
export function alertmanagerTemplates(root: string): GeneratedFile[] {
  const dir = join(root, AM_TEMPLATES_DIR);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.tmpl'))
    .sort()
    .map((f) => ({ file: `${AM_TEMPLATES_DIR}/${f}`, text: readFileSync(join(dir, f), 'utf8') }));
}
