import { z } from 'zod';
import { reportConfig } from '../actions/report/config.js';
import { approversConfig, rollbackExpiry } from '../actions/rollbacks/rollback-config.js';
import { checkHandoffLayers, handoffConfig } from '../actions/tickets/handoff-config.js';
import { ticketForwardConfig } from '../actions/tickets/ticket-forward-config.js';
import { ticketLabelsConfig } from '../actions/tickets/ticket-labels.js';
import { sectionShapes } from '../checks/registry.js';
import { accessConfig } from '../http/auth/access-config.js';
import { attachedNameProblem, remotePathProblem } from '../warehouse/duckdb-paths.js';
import { duration, subjectName } from './types.js';

/**
 * The one source of truth for mlwatch.yaml. Every object is strict: an unknown key is an error, with a
 * suggestion when it looks like a typo of a known one.
 */

const FILE_COLUMN_TYPES = [
  'timestamptz',
  'timestamp',
  'date',
  'double',
  'bigint',
  'integer',
  'boolean',
  'text',
] as const;

// One file source: exactly one of parquet, csv or json, naming a local file or glob (relative to the config), or
// a remote one read through DuckDB's httpfs extension (s3://, gs://, r2://, https://: duckdb-paths.ts says which).
const fileSource = z
  .strictObject({
    parquet: z.string().min(1).optional(),
    csv: z.string().min(1).optional(),
    json: z.string().min(1).optional(),
    // Columns from key=value directories of the path (logs/day=2026-12-06/part-0.parquet), as DuckDB reads them.
    hive_partitioning: z.boolean({ error: 'expected true or false' }).default(false),
    // Types for columns DuckDB's detection reads otherwise (a JSON timestamp is often read as text).
    types: z
      .record(
        z.string().min(1),
        z.enum(FILE_COLUMN_TYPES, { error: `expected one of ${FILE_COLUMN_TYPES.join(', ')}` }),
      )
      .optional(),
  })
  .superRefine((f, ctx) => {
    const given = (['parquet', 'csv', 'json'] as const).filter((k) => f[k] !== undefined);
    if (given.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message:
          'give exactly one of parquet, csv or json: the path of the file or glob, e.g. { parquet: logs/*.parquet }',
      });
      return;
    }
    const path = f[given[0] as 'parquet'] as string;
    const problem = remotePathProblem(path);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', path: [given[0] as string], message: problem });
  });

const warehouse = z.strictObject({
  url: z
    .string({ error: 'expected the warehouse URL, e.g. postgresql://user@host:5432/db or pglite:memory' })
    .regex(/^(postgres|postgresql|pglite|duckdb):/, {
      error:
        'the URL must start with postgresql:// (or postgres://) for a server, pglite: for the embedded engine, or duckdb: for a DuckDB file',
    })
    .refine((url) => !/^duckdb:(:memory:)?$/.test(url), {
      error:
        'a DuckDB warehouse is a database file (duckdb:/path/to/file.duckdb, opened read-only) or duckdb:memory with warehouse.files',
    }),
  password: z.string().optional(),
  password_file: z.string({ error: 'expected the path of a file that holds the password' }).optional(),
  statement_timeout: duration('a timeout').default(30_000),
  connect_timeout: duration('a timeout').default(10_000),
  pool: z
    .int({ error: 'expected a whole number of connections' })
    .min(1, { error: 'the pool needs at least 1 connection' })
    .max(100, { error: 'at most 100 connections; checks are aggregates, a handful is plenty' })
    .default(4),
  application_name: z.string().min(1).default('mlwatch'),
  // DuckDB only (duckdb:memory, or beside a database file): files read as views files.<name> (src/warehouse/duckdb.ts,
  // docs/engines.md).
  files: z.record(subjectName('file source'), fileSource).optional(),
});

// Where actions (the ticket log) write. Checks never do: this is a separate connection, by default to the
// warehouse's server, in its own schema; in production give it its own role (docs/tickets.md).
const state = z
  .strictObject({
    url: z
      .string({ error: 'expected the state store URL, e.g. postgresql://mlwatch_state@host:5432/db' })
      .regex(/^(postgres|postgresql|pglite):/, {
        error: 'the URL must start with postgresql:// (or postgres://), or pglite: for the embedded engine',
      })
      .optional(),
    password: z.string().optional(),
    password_file: z.string({ error: 'expected the path of a file that holds the password' }).optional(),
    schema: z
      .string({ error: 'expected a schema name, e.g. mlwatch' })
      .regex(/^[a-z_][a-z0-9_]*$/, {
        error: 'expected a lower-case schema name of letters, digits and _ (it is created if missing)',
      })
      .default('mlwatch'),
    application_name: z.string().min(1).default('mlwatch-state'),
    // Optional: forward ticket events to an external tracker (docs/tickets.md, "Forwarding").
    ticket_forward: ticketForwardConfig.optional(),
    // Team and layer values of your own rules that mlwatch_tickets shows by name; others count as `other`.
    ticket_labels: ticketLabelsConfig,
    // Hand-offs to data science: when a page nobody acknowledged goes there by itself (docs/handoff_plan.md).
    handoff: handoffConfig,
  })
  .superRefine(checkHandoffLayers)
  .prefault({});

const defaults = z
  .strictObject({
    interval: duration('an interval').default(60_000),
    jitter: z
      .number({ error: 'expected a fraction of the interval between 0 and 1, e.g. 0.1' })
      .min(0, { error: 'jitter is a fraction between 0 and 1' })
      .max(1, { error: 'jitter is a fraction between 0 and 1' })
      .default(0.1),
  })
  .prefault({});

export const configSchema = z
  .strictObject({
    warehouse,
    state,
    defaults,
    // datasets, models, jobs, serving, kpis, queries: one list per check section of src/checks/registry.ts.
    ...sectionShapes(),
    // Who may request and approve rollbacks, and how long a request waits (docs/rollbacks.md).
    approvers: approversConfig,
    rollback_expiry: rollbackExpiry,
    // The weekly data-science review: its cadence, Prometheus and webhook (docs/report.md).
    report: reportConfig.optional(),
    // Who may use which endpoint: webhook, viewer and lifecycle clients (docs/security.md).
    access: accessConfig,
  })
  .superRefine((c, ctx) => {
    const memory = c.warehouse.url === 'duckdb:memory';
    const duckdbFile = c.warehouse.url.startsWith('duckdb:') && !memory;
    if (c.warehouse.files !== undefined && !c.warehouse.url.startsWith('duckdb:')) {
      ctx.addIssue({
        code: 'custom',
        path: ['warehouse', 'files'],
        message:
          'files are read through DuckDB: set warehouse.url to duckdb:memory, or to a DuckDB file (duckdb:/path/to/file.duckdb) to read both',
      });
    }
    const attachProblem =
      duckdbFile && c.warehouse.files !== undefined
        ? attachedNameProblem(c.warehouse.url.slice('duckdb:'.length))
        : undefined;
    if (attachProblem !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['warehouse', 'url'], message: attachProblem });
    }
    if (memory && c.warehouse.files === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['warehouse', 'url'],
        message:
          'duckdb:memory holds nothing but warehouse.files: list the files to read, e.g. files: { predictions: { parquet: logs/*.parquet } }',
      });
    }
    if (c.warehouse.url.startsWith('duckdb:') && c.state.url === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['state'],
        message:
          'a DuckDB warehouse is opened read-only and cannot hold the state store; set state.url (postgresql://... or pglite:/var/lib/mlwatch/state)',
      });
    }
    // One token is one identity: a client and an approver sharing it would be one caller with two names.
    const approverOf = new Map(c.approvers.map((a, i) => [a.token_sha256, i]));
    c.access.clients.forEach((client, i) => {
      const a = client.token_sha256 === undefined ? undefined : approverOf.get(client.token_sha256);
      if (a !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['access', 'clients', i, 'token_sha256'],
          message: `the same token hash as approvers[${a}]; a client needs a token of its own`,
        });
      }
    });
  });

export type RawConfig = z.output<typeof configSchema>;
