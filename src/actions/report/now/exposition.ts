import type { Sample } from '../../../metrics/types.js';

export type ParsedSample = Pick<Sample, 'name' | 'labels' | 'value'>;

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*/;

/**
 * The sample lines of a /metrics page in the Prometheus text format (version 0.0.4, what mlwatch serves): the
 * review reads a running exporter's values with it. Comments and blank lines are skipped; a line that is not a
 * sample throws, naming it, rather than being half read.
 */
export function parseSamples(text: string): ParsedSample[] {
  const out: ParsedSample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const sample = parseLine(line);
    if (!sample) throw new Error(`not a line of the Prometheus text format: ${line.slice(0, 120)}`);
    out.push(sample);
  }
  return out;
}

function parseLine(line: string): ParsedSample | undefined {
  const name = NAME.exec(line)?.[0];
  if (!name) return undefined;
  let i = name.length;
  const labels: Record<string, string> = {};
  const spaces = () => {
    while (line[i] === ' ') i++;
  };
  if (line[i] === '{') {
    i++;
    for (;;) {
      spaces();
      if (line[i] === '}') break;
      const key = LABEL.exec(line.slice(i))?.[0];
      if (!key) return undefined;
      i += key.length;
      spaces();
      if (line[i] !== '=') return undefined;
      i++;
      spaces();
      if (line[i] !== '"') return undefined;
      i++;
      // Label values escape only backslash, double quote and newline.
      let value = '';
      while (i < line.length && line[i] !== '"') {
        if (line[i] === '\\') {
          value += line[i + 1] === 'n' ? '\n' : (line[i + 1] ?? '');
          i += 2;
        } else value += line[i++];
      }
      if (line[i] !== '"') return undefined;
      i++;
      labels[key] = value;
      spaces();
      if (line[i] === ',') i++;
    }
    i++;
  }
  // The value, then an optional timestamp.
  const [text] = line.slice(i).trim().split(/\s+/);
  const value = numberOf(text ?? '');
  return value === undefined ? undefined : { name, labels, value };
}

function numberOf(text: string): number | undefined {
  if (text === '+Inf' || text === 'Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  if (text === 'NaN') return Number.NaN;
  const n = Number(text);
  return text === '' || Number.isNaN(n) ? undefined : n;
}
