import {
  Document,
  isMap,
  isPair,
  isScalar,
  isSeq,
  type Node,
  type Pair,
  type Scalar,
  type YAMLMap,
  type YAMLSeq,
} from 'yaml';
import { PASSWORD_VARIABLE } from './secrets.js';
import { type Proposal, SECTIONS, type SectionKey } from './types.js';

/**
 * The proposal as a commented mlwatch.yaml, built with the yaml package's Document API so each comment sits on
 * the node it explains: the warehouse role, the state store, every entry's note, what was left out.
 */

export interface RenderInput {
  proposal: Proposal;
  file: string;
  /** The warehouse URL without its password, and whether the file reads one from the environment. */
  warehouseUrl: string;
  password: boolean;
  /** How the URL reads in messages (redacted). */
  shownUrl: string;
  state: { url: string | undefined; description: string };
}

const SECTION_NOTES: Record<SectionKey, string> = {
  datasets:
    'The data layer: tables with a timestamp column (docs/metrics.md, data layer). More checks (validity, duplicates, schema, drift): mlwatch.example.yaml.',
  models: 'The model layer: predictions joined to their labels (README, "Models").',
  jobs: 'The system layer: batch job runs (docs/system-layer.md).',
  serving: 'The system layer: request logs (docs/system-layer.md).',
  kpis: 'The business layer: KPIs against their baseline (docs/business-layer.md).',
};

const NOT_FOUND: Record<SectionKey, string> = {
  datasets:
    'datasets: no table with a timestamp column (timestamp with or without time zone) was left to watch',
  models:
    'models: no predictions table paired with a labels table (pass --model-table, --label-table, --key, --score, --label)',
  jobs: 'jobs: no runs table (a status column and start and end timestamps) was found',
  serving: 'serving: no request log (a timestamp and a latency or duration column) was found',
  kpis: 'kpis: no boolean column of a dataset to take a share of; a KPI of your own SQL: mlwatch.example.yaml',
};

// A `${` in a name read from the warehouse is text, not a variable: the loader reads `$${` as a literal `${`.
function literal(value: unknown): unknown {
  if (typeof value === 'string') return value.replace(/\$\{/g, '$${');
  if (Array.isArray(value)) return value.map(literal);
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, literal(v)]));
  return value;
}

// Comment lines wrap like the code around them (biome's 110 columns), less the indentation and the `# `.
const WIDTH = 100;

/** Text as the body of a YAML comment: each line wrapped at WIDTH (its indentation kept), a space after `#`. */
function comment(text: string): string {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (line.length <= WIDTH) {
      out.push(line);
      continue;
    }
    const indent = /^ */.exec(line)?.[0] ?? '';
    let current = '';
    for (const word of line.trim().split(/ +/)) {
      if (current !== '' && indent.length + current.length + 1 + word.length > WIDTH) {
        out.push(indent + current);
        current = word;
      } else current = current === '' ? word : `${current} ${word}`;
    }
    out.push(indent + current);
  }
  return out.map((l) => (l.trim() === '' ? '' : ` ${l}`)).join('\n');
}

function pairOf(map: YAMLMap, key: string): Pair<Scalar, Node> | undefined {
  return map.items.find((p) => isScalar(p.key) && p.key.value === key) as Pair<Scalar, Node> | undefined;
}

const scalarsOnly = (node: YAMLMap | YAMLSeq) =>
  node.items.every((i) => {
    const v = isPair(i) ? i.value : i;
    return isScalar(v) || (isMap(v) && v.items.length === 0);
  });

/**
 * Inside an entry, lists of names and small mappings go on one line, as mlwatch.example.yaml writes them
 * (`windows: [1d, 7d]`, `volume: { window: 1h }`); the entry's own keys, and `checks`, stay one per line.
 */
function flowSmall(node: unknown, depth: number): void {
  if (!isMap(node) && !isSeq(node)) return;
  if (depth >= 2 && (isSeq(node) || (scalarsOnly(node) && node.items.length <= 3) || depth >= 3)) {
    node.flow = true;
    return;
  }
  for (const i of node.items) flowSmall(isPair(i) ? i.value : i, depth + 1);
}

export function renderConfig(input: RenderInput): string {
  const { proposal: p } = input;
  const config: Record<string, unknown> = {
    warehouse: {
      url: literal(input.warehouseUrl),
      ...(input.password ? { password: `\${${PASSWORD_VARIABLE}}` } : {}),
      statement_timeout: '30s',
    },
    state: { ...(input.state.url ? { url: literal(input.state.url) } : {}), schema: 'mlwatch' },
    defaults: { interval: '1m' },
  };
  for (const s of SECTIONS) if (p[s].length > 0) config[s] = p[s].map((e) => literal(e.entry));

  const doc = new Document(config);
  const root = doc.contents as YAMLMap;
  doc.commentBefore = comment(
    [
      `${input.file}: proposed by \`mlwatch init\` from ${input.shownUrl}.`,
      'Read it through: names, owners, windows and thresholds are starting points. Then:',
      `  mlwatch check-config ${input.file}`,
      `  mlwatch once --config ${input.file}     # every check once, with its values`,
      `  mlwatch serve --config ${input.file}    # after adding an access client (end of this file)`,
    ].join('\n'),
  );

  const warehouse = pairOf(root, 'warehouse') as Pair<Scalar, Node>;
  warehouse.key.commentBefore = comment(
    [
      'mlwatch only reads the warehouse: every check runs in a read-only transaction, so the role in url needs',
      'SELECT on the tables below and nothing more. docs/warehouse-role.sql makes such a role',
      `(docs/warehouse-role.md); \`mlwatch doctor --config ${input.file}\` reports anything more it may do.`,
    ].join(' '),
  );
  if (input.password) {
    const password = (warehouse.value as YAMLMap).get('password', true) as Scalar;
    password.comment = ` the URL's password, from the environment: it is not written in this file`;
  }
  const state = pairOf(root, 'state') as Pair<Scalar, Node>;
  state.key.spaceBefore = true;
  state.key.commentBefore = comment(input.state.description);

  for (const s of SECTIONS) {
    const section = pairOf(root, s);
    if (section === undefined) continue;
    section.key.spaceBefore = true;
    section.key.commentBefore = comment(SECTION_NOTES[s]);
    const items = (section.value as { items: Node[] }).items;
    p[s].forEach((e, i) => {
      const item = items[i] as Node;
      if (e.note !== '') item.commentBefore = comment(e.note);
      flowSmall(item, 1);
    });
  }

  const leftOut = [...SECTIONS.filter((s) => p[s].length === 0).map((s) => NOT_FOUND[s]), ...p.notes];
  doc.comment = comment(
    [
      ...leftOut,
      ...(leftOut.length > 0 ? [''] : []),
      '`mlwatch serve` needs a client that may post Alertmanager webhooks (docs/security.md):',
      'access:',
      '  clients:',
      `    - { name: alertmanager, roles: [webhook], token_sha256: '<printf %s "$TOKEN" | sha256sum>' }`,
    ].join('\n'),
  );
  return doc.toString({ lineWidth: 0, flowCollectionPadding: false });
}
