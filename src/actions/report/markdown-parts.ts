import type { Section } from './types.js';

/** The pieces every section of the review is written with: cells, tables, numbers, notes. */

/** A table cell: label values from alerts may hold anything, a `|` or a newline would break the table. */
export function cell(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ') || '—';
}

export function table(head: string[], rows: string[][]): string[] {
  return [
    `| ${head.join(' | ')} |`,
    `| ${head.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ];
}

export const DASH = '—';
export const num = (v: number | undefined) => (v === undefined ? DASH : v.toFixed(3));
export const pct = (v: number | undefined) => (v === undefined ? DASH : `${(v * 100).toFixed(1)} %`);

/** A section's table, or its one-line note when it is empty or could not be gathered. */
export function body<T>(s: Section<T>, empty: string, render: (rows: T[]) => string[]): string[] {
  if ('unavailable' in s) return [`_Not available: ${s.unavailable}._`];
  if (s.rows.length === 0) return [`_${empty}_`];
  return render(s.rows);
}

export const stamp = (d: Date) => d.toISOString().replace('.000Z', 'Z');
