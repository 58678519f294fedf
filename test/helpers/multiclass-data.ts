import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';

/**
 * The seeded rows of test/model-multiclass.test.ts, deterministic (a fixed LCG), shared with the scikit-learn
 * oracle: scripts/gen-multiclass-oracle.py runs this file (`npx tsx test/helpers/multiclass-data.ts` prints
 * `dataText()`), computes every expected metric from exactly those bytes and stores their SHA-256 in
 * test/fixtures/multiclass-oracle.json, which the test compares with the hash of the rows it seeds.
 *
 * Every row is stamped by its age in seconds before the warehouse's now(); ages stay hours away from the window
 * edges. A probability is a number, null (SQL NULL) or "NaN"; each row's probabilities sum to 1 (multiples of
 * 1/20 or 1/10), so log loss agrees whether or not probabilities are renormalised per row.
 */

export type Probability = number | null | 'NaN';

export interface MulticlassModelData {
  name: string;
  /** In config order: the class names (`scores` keys) and their probability columns. */
  classes: { name: string; column: string }[];
  windows: { label: string; seconds: number }[];
  versioned: boolean;
  /** SQL type of the probability columns and of the label column. */
  scoreType: 'double precision' | 'numeric';
  labelType: 'text' | 'integer';
  preds: { key: string; age: number; version: string | null; scores: Probability[] }[];
  /** Labels as text (the integer label column gets them as integers). */
  labels: { key: string; age: number; label: string }[];
}

const H = 3600;
const D = 86_400;

function makeData(): MulticlassModelData[] {
  let seed = 20_240_613;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const int = (n: number) => Math.floor(rand() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)] as T;
  /** k integers >= 0 summing to `total`, in random order. */
  const split = (k: number, total: number): number[] => {
    const out: number[] = [];
    let left = total;
    for (let i = 0; i < k - 1; i++) {
      const x = int(left + 1);
      out.push(x);
      left -= x;
    }
    out.push(left);
    for (let i = out.length - 1; i > 0; i--) {
      const j = int(i + 1);
      [out[i], out[j]] = [out[j] as number, out[i] as number];
    }
    return out;
  };
  /** A class index drawn from the probabilities (mostly), else uniformly: the model is good, not perfect. */
  const draw = (p: number[]): number => {
    if (rand() < 0.25) return int(p.length);
    let r = rand();
    for (let i = 0; i < p.length; i++) {
      r -= p[i] as number;
      if (r < 0) return i;
    }
    return p.length - 1;
  };
  /** An age in the 1d window, in 7d only, in 14d only, older than every window, or in the future. */
  const age = (): number => {
    const r = rand();
    if (r < 0.3) return H + int(20 * H);
    if (r < 0.62) return 26 * H + int(5 * D);
    if (r < 0.88) return 7 * D + 3 * H + int(6 * D);
    if (r < 0.95) return 15 * D + int(D);
    return -3 * H;
  };
  /** The latest label (smallest age) and, for some keys, older ones of another class that it supersedes. */
  const labelRows = (key: string, label: string, other: () => string) => {
    const rows = [];
    const a = int(10 * D) - 3 * D;
    rows.push({ key, age: a, label });
    if (rand() < 0.2) {
      rows.push({ key, age: a + 600 + int(D), label: other() });
      if (rand() < 0.5) rows.push({ key, age: a + 2 * D, label: other() });
    }
    return rows;
  };

  // risk_tier: 3 classes in an order that is not alphabetical (ties go to the first in config order), three
  // versions and predictions without one, probabilities in 1/20 with ties (within a class: the AUC's ties; across
  // classes: the argmax's) and exact 0 and 1 (log loss clipping), NULL and NaN probabilities, unknown labels
  // ('unknown', and 'LOW': compared as text, case and all), unlabeled predictions, superseded labels, and rows
  // outside every window. Version v3 predicted only 8 to 12 days ago.
  const tiers = ['low', 'medium', 'high'];
  const risk: MulticlassModelData = {
    name: 'risk_tier',
    classes: tiers.map((name) => ({ name, column: `p_${name}` })),
    windows: [
      { label: '14d', seconds: 14 * D },
      { label: '1d', seconds: D },
      { label: '7d', seconds: 7 * D },
    ],
    versioned: true,
    scoreType: 'double precision',
    labelType: 'text',
    preds: [],
    labels: [],
  };
  for (let i = 0; i < 2400; i++) {
    const key = `r-${i}`;
    const twentieths = split(3, 20);
    const p = twentieths.map((x) => x / 20);
    const scores: Probability[] = [...p];
    const r = rand();
    if (r < 0.02) scores[int(3)] = null;
    else if (r < 0.03) scores[int(3)] = 'NaN';
    const version = i % 13 === 0 ? null : pick(['v1', 'v2', 'v2']);
    risk.preds.push({ key, age: age(), version, scores });
    if (rand() < 0.15) continue;
    const u = rand();
    const label = u < 0.02 ? 'unknown' : u < 0.03 ? 'LOW' : (tiers[draw(p)] as string);
    risk.labels.push(...labelRows(key, label, () => pick([...tiers, 'unknown'])));
  }
  for (let i = 0; i < 60; i++) {
    const key = `v3-${i}`;
    const p = split(3, 20).map((x) => x / 20);
    risk.preds.push({ key, age: 8 * D + int(4 * D), version: 'v3', scores: p });
    risk.labels.push({ key, age: 7 * D, label: tiers[draw(p)] as string });
  }

  // rare_classes: 4 classes, windows 1d and 7d, no versions. d's probability is at most 0.1, so it is never
  // predicted; in the 1d window only a and b are labels (c is predicted but never a label, d neither), so there
  // c and d have no AUC (and no macro AUC), c's recall and d's precision, recall and F1 are undefined. In 7d, d
  // is a label now and then: its AUC is defined, its precision not, its F1 0.
  const rare: MulticlassModelData = {
    name: 'rare_classes',
    classes: ['a', 'b', 'c', 'd'].map((name) => ({ name, column: `p${name}` })),
    windows: [
      { label: '1d', seconds: D },
      { label: '7d', seconds: 7 * D },
    ],
    versioned: false,
    scoreType: 'double precision',
    labelType: 'text',
    preds: [],
    labels: [],
  };
  for (let i = 0; i < 500; i++) {
    const key = `q-${i}`;
    const d = int(2);
    const tenths = [...split(3, 10 - d), d];
    const p = tenths.map((x) => x / 10);
    const a = rand() < 0.45 ? H + int(20 * H) : 26 * H + int(5 * D);
    rare.preds.push({ key, age: a, version: null, scores: p });
    if (rand() < 0.1) continue;
    let label: string;
    if (a < D) label = (p[0] as number) + rand() * 0.3 > (p[1] as number) + rand() * 0.3 ? 'a' : 'b';
    else
      label =
        rand() < 0.06
          ? 'd'
          : (['a', 'b', 'c'][
              draw([p[0], p[1], p[2]].map((x) => (x as number) / (1 - (p[3] as number))))
            ] as string);
    rare.labels.push({ key, age: int(3 * D) - D, label });
  }

  // digits: classes named by whole numbers (0, 1, 2: YAML keys), numeric probability columns, an integer label
  // column (compared as text, so 3 is an unknown class). Only predictions older than 30 hours are labeled: the 1d
  // window has none (every metric skipped as no_labels), the 7d window has them.
  const digits: MulticlassModelData = {
    name: 'digits',
    classes: ['0', '1', '2'].map((name) => ({ name, column: `p${name}` })),
    windows: [
      { label: '1d', seconds: D },
      { label: '7d', seconds: 7 * D },
    ],
    versioned: false,
    scoreType: 'numeric',
    labelType: 'integer',
    preds: [],
    labels: [],
  };
  for (let i = 0; i < 300; i++) {
    const key = `d-${i}`;
    const p = split(3, 10).map((x) => x / 10);
    const a = rand() < 0.3 ? H + int(20 * H) : 30 * H + int(5 * D);
    const scores: Probability[] = [...p];
    if (rand() < 0.02) scores[int(3)] = 'NaN';
    digits.preds.push({ key, age: a, version: null, scores });
    if (a < 30 * H || rand() < 0.1) continue;
    digits.labels.push({ key, age: int(D), label: rand() < 0.05 ? '3' : String(draw(p)) });
  }
  return [risk, rare, digits];
}

export const multiclassData: MulticlassModelData[] = makeData();

/** The rows as the oracle reads them: JSON, byte for byte what its hash is taken of. */
export function dataText(): string {
  return JSON.stringify(multiclassData);
}

export function dataSha256(): string {
  return createHash('sha256').update(dataText()).digest('hex');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.stdout.write(dataText());
