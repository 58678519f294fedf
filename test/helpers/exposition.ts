/** A small, strict parser of the Prometheus text format, written for tests independently of the renderer. */

export interface ParsedSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Parsed {
  samples: ParsedSample[];
  help: Map<string, string>;
  type: Map<string, string>;
}

function unescapeLabel(s: string): string {
  return s.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
}

export function parseExposition(text: string): Parsed {
  const out: Parsed = { samples: [], help: new Map(), type: new Map() };
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (meta) {
      (meta[1] === 'HELP' ? out.help : out.type).set(meta[2] as string, meta[3] as string);
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`unparseable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    const body = m[2] ?? '';
    const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/g;
    let consumed = 0;
    for (const l of body.matchAll(re)) {
      labels[l[1] as string] = unescapeLabel(l[2] as string);
      consumed += l[0].length;
    }
    if (consumed !== body.length) throw new Error(`bad labels in: ${line}`);
    const raw = m[3] as string;
    const value = raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw);
    out.samples.push({ name: m[1] as string, labels, value });
  }
  return out;
}

/** Samples of one metric, optionally filtered by a subset of labels. */
export function series(p: Parsed, name: string, match: Record<string, string> = {}): ParsedSample[] {
  return p.samples.filter(
    (s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v),
  );
}

/** The single value of a series; fails when there is not exactly one. */
export function sampleValue(p: Parsed, name: string, match: Record<string, string> = {}): number {
  const found = series(p, name, match);
  if (found.length !== 1)
    throw new Error(`expected one ${name}${JSON.stringify(match)}, found ${found.length}`);
  return (found[0] as ParsedSample).value;
}
