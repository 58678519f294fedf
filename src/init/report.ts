import { PASSWORD_VARIABLE } from './secrets.js';
import { type Proposal, SECTIONS } from './types.js';

/** What `mlwatch init` prints: the proposal before it is written, and what to do once it is. */

export function summary(p: Proposal, url: string): string {
  const lines = [`Proposed for ${url}:`];
  for (const s of SECTIONS) {
    if (p[s].length > 0) lines.push(`  ${s}: ${p[s].map((e) => String(e.entry.name)).join(', ')}`);
  }
  for (const n of p.notes) lines.push(`  note: ${n}`);
  return `${lines.join('\n')}\n`;
}

export function afterWriting(file: string, stateDescription: string, password: boolean): string {
  return [
    `Wrote ${file}.`,
    `Warehouse role: mlwatch only reads; the role needs SELECT on the tables ${file} names, nothing more`,
    `(docs/warehouse-role.md: docs/warehouse-role.sql makes one, \`mlwatch doctor --config ${file}\` reports what`,
    'else it may do).',
    stateDescription,
    ...(password
      ? [
          `Password: not written to ${file}; it reads \${${PASSWORD_VARIABLE}} from the environment. Export it`,
          `(export ${PASSWORD_VARIABLE}=...) before check-config, once and serve, or use warehouse.password_file.`,
        ]
      : []),
    'Next:',
    `  mlwatch check-config ${file}`,
    `  mlwatch once --config ${file}`,
    `  mlwatch serve --config ${file}    # after adding an access client (docs/security.md)`,
    '',
  ].join('\n');
}

/** Every problem of a run that could not decide, at once, so one more run with the flags fixes them all. */
export function undecided(problems: string[]): string {
  return `mlwatch init cannot decide on its own:\n${problems.map((p) => `  - ${p}`).join('\n')}\nNothing was written.`;
}
