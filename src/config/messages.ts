import type { z } from 'zod';
import { isSecretKey } from '../redact.js';
import { formatPath } from './errors.js';

/**
 * zod's default messages speak TypeScript ("expected string, received undefined"); these speak YAML.
 * Schemas that know better set their own message; this covers the rest.
 */

function describeInput(v: unknown): string {
  if (v === null) return 'nothing (null)';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `the text '${v.length > 40 ? `${v.slice(0, 40)}…` : v}'`;
  if (typeof v === 'number') return `the number ${v}`;
  if (typeof v === 'boolean') return `${v}`;
  return typeof v;
}

const EXPECTED: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping (key: value)',
};

function levenshtein(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0] as number;
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = d[j] as number;
      d[j] = Math.min((d[j] as number) + 1, (d[j - 1] as number) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return d[b.length] as number;
}

/** The known word `word` is most likely a typo of, when one is close enough; else undefined. */
export function closest(word: string, known: readonly string[]): string | undefined {
  const best = known
    .map((k) => ({ k, d: levenshtein(word.toLowerCase(), k.toLowerCase()) }))
    .sort((x, y) => x.d - y.d)[0];
  return best && best.d <= Math.max(2, Math.floor(word.length / 3)) ? best.k : undefined;
}

export function unknownKeyMessage(key: string, known: string[]): string {
  const near = closest(key, known);
  if (near !== undefined) return `unknown key; did you mean '${near}'?`;
  return `unknown key; allowed here: ${known.join(', ')}`;
}

type Issue = z.core.$ZodRawIssue;

// A value under a secret key (a password, a header) is described by its type only: the message ends up on a
// terminal, in CI logs and in the reload response.
function describeAt(iss: Issue): string {
  const path = iss.path ?? [];
  if (!isSecretKey(path)) return describeInput(iss.input);
  return `${describeType(iss.input)} (value hidden: ${formatPath(path)} is a secret)`;
}

// A password of digits (or yes/no) is read by YAML as a number (or a boolean): quoting it is the fix.
function quoteHint(iss: Issue): string {
  const path = iss.path ?? [];
  const scalar = typeof iss.input === 'number' || typeof iss.input === 'boolean';
  return scalar && iss.code === 'invalid_type' && iss.expected === 'string' && isSecretKey(path)
    ? `; quote it (${String(path.at(-1))}: '...') so YAML reads it as text`
    : '';
}

function describeType(v: unknown): string {
  if (typeof v === 'string') return 'a string';
  if (typeof v === 'number') return 'a number';
  if (typeof v === 'boolean') return 'a boolean';
  return describeInput(v);
}

/** The global error map handed to safeParse. Unknown-keys messages come one per line, one per key. */
export function configErrorMap(iss: Issue): string | undefined {
  switch (iss.code) {
    case 'invalid_type':
      if (iss.input === undefined) return 'missing; this key is required';
      return `expected ${EXPECTED[iss.expected as string] ?? iss.expected}, got ${describeAt(iss)}${quoteHint(iss)}`;
    case 'unrecognized_keys': {
      const shape =
        (iss.inst as { _zod?: { def?: { shape?: Record<string, unknown> } } })?._zod?.def?.shape ?? {};
      return iss.keys.map((k) => unknownKeyMessage(k, Object.keys(shape))).join('\n');
    }
    case 'invalid_value':
      return `expected one of ${iss.values.map((v) => `'${String(v)}'`).join(', ')}, got ${describeAt(iss)}`;
    case 'too_small':
      if (iss.origin === 'array')
        return `needs at least ${iss.minimum} entr${iss.minimum === 1 ? 'y' : 'ies'}`;
      if (iss.origin === 'string') return 'cannot be empty';
      return `must be at least ${iss.minimum}`;
    case 'too_big':
      if (iss.origin === 'array') return `at most ${iss.maximum} entries`;
      return `must be at most ${iss.maximum}`;
    default:
      return undefined;
  }
}
