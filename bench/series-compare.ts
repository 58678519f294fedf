/**
 * Holding a check's exported series against a peer's values: the exposition text parsed into series, and the
 * series a bench expects compared with them one by one, both ways (a value the check did not export, and a
 * series of the check's families that the peer has no value for, are both mismatches).
 */

export interface Series {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** What the check must export: a family, the labels of the series, the value and how close it must be. */
export interface Expected extends Series {
  /** Largest difference allowed: absolute for counts and times, relative (to max(1, |value|)) otherwise. */
  tolerance: { abs: number } | { rel: number };
}

/** The sample lines of an exposition (comments skipped); label values unescaped. */
export function parseExposition(text: string): Series[] {
  const out: Series[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[l[1] as string] = (l[2] as string).replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    out.push({ name: m[1] as string, labels, value: Number(m[3]) });
  }
  return out;
}

const sameLabels = (a: Record<string, string>, b: Record<string, string>) =>
  Object.keys(a).length === Object.keys(b).length && Object.entries(a).every(([k, v]) => b[k] === v);

const describe = (s: Series) =>
  `${s.name}{${Object.entries(s.labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',')}}`;

/**
 * Every expected series against the exported ones, and every exported series of `families` whose labels
 * include `subject` (the check's model, dataset or job) against the expected: the mismatches, described.
 */
export function compareSeries(
  exported: readonly Series[],
  expected: readonly Expected[],
  families: readonly string[],
  subject: Record<string, string>,
): string[] {
  const wrong: string[] = [];
  for (const e of expected) {
    const found = exported.filter((s) => s.name === e.name && sameLabels(s.labels, e.labels));
    const got = found[0];
    if (found.length !== 1 || got === undefined) {
      wrong.push(`${describe(e)}: the check exported ${found.length} such series, the peer has ${e.value}`);
      continue;
    }
    const diff = Math.abs(got.value - e.value);
    const limit = 'abs' in e.tolerance ? e.tolerance.abs : e.tolerance.rel * Math.max(1, Math.abs(e.value));
    if (!(diff <= limit)) wrong.push(`${describe(e)}: the check has ${got.value}, the peer ${e.value}`);
  }
  const ours = exported.filter(
    (s) => families.includes(s.name) && Object.entries(subject).every(([k, v]) => s.labels[k] === v),
  );
  for (const s of ours) {
    if (!expected.some((e) => e.name === s.name && sameLabels(s.labels, e.labels)))
      wrong.push(`${describe(s)} = ${s.value}: exported by the check, not computed by the peer`);
  }
  return wrong;
}
