/**
 * Subject names for the proposal. mlwatch.yaml wants lower_snake_case names (they become label values), unique
 * within a section; tables and job values can be anything, so their names are folded into that shape.
 */

/** `Feature Pipeline` -> `feature_pipeline`; a name that would not start with a letter gets `prefix_`. */
export function subjectName(text: string, prefix: string): string {
  const folded = text
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '_')
    .replace(/_+/g, '_')
    .replace(/^_|_$/g, '')
    // Label values stay short: 60 characters name anything a person reads on a dashboard.
    .slice(0, 60);
  return /^[a-z]/.test(folded) ? folded : `${prefix}_${folded}`.replace(/_$/, '');
}

/** Hands out names unique within one section: the second `orders` is `orders_2`. */
export class NameSet {
  private readonly used = new Set<string>();

  take(name: string): string {
    let candidate = name;
    for (let i = 2; this.used.has(candidate); i++) candidate = `${name}_${i}`;
    this.used.add(candidate);
    return candidate;
  }
}

// Words that cannot stand bare as a column in an SQL expression (a KPI numerator is one).
const RESERVED = new Set([
  'all',
  'and',
  'any',
  'as',
  'case',
  'check',
  'default',
  'desc',
  'do',
  'else',
  'end',
  'false',
  'from',
  'group',
  'in',
  'is',
  'not',
  'null',
  'or',
  'order',
  'select',
  'table',
  'then',
  'true',
  'user',
  'when',
  'where',
]);

/** A column as it stands in an SQL expression: bare when it can be, else double-quoted. */
export function columnSql(name: string): string {
  return /^[a-z_][a-z0-9_]*$/.test(name) && !RESERVED.has(name) ? name : `"${name.replace(/"/g, '""')}"`;
}
