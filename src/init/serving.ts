import type { CatalogTable } from './catalog.js';
import { isInteger, isNumeric, named, pickTimestamp, tableRef } from './columns.js';
import { type NameSet, subjectName } from './names.js';
import type { Proposed } from './types.js';

/**
 * Serving logs: a request table, one row per request with its time and its latency. The latency's unit comes
 * from the column's name (`latency_ms`); a name without one is taken as milliseconds, and the comment says so,
 * since a wrong unit would scale every latency by a thousand.
 */

const LATENCY =
  /^(latency|duration|elapsed|response_time|request_duration|took)(_(ms|millis|milliseconds|us|micros|microseconds|s|sec|secs|seconds))?$/i;
const STATUS = /^(status|status_code|http_status|code|response_code)$/i;
const REQUEST_TIMES = ['at', 'requested_at', 'received_at', 'timestamp', 'ts', 'created_at', 'logged_at'];

function unitOf(column: string): { unit: 's' | 'ms' | 'us'; guessed: boolean } {
  const suffix = (LATENCY.exec(column)?.[3] ?? '').toLowerCase();
  if (['us', 'micros', 'microseconds'].includes(suffix)) return { unit: 'us', guessed: false };
  if (['s', 'sec', 'secs', 'seconds'].includes(suffix)) return { unit: 's', guessed: false };
  return { unit: 'ms', guessed: suffix === '' };
}

/** Request logs among `tables` (those not already a job's runs table). */
export function proposeServing(tables: CatalogTable[], names: NameSet): Proposed[] {
  return tables.flatMap((t) => {
    const latency = named(t, LATENCY, isNumeric)[0];
    const at = pickTimestamp(t, REQUEST_TIMES);
    if (!latency || !at) return [];
    const { unit, guessed } = unitOf(latency.name);
    // An HTTP-like status is a number; a text status says nothing about 5xx, so it is left out.
    const status = named(t, STATUS, isInteger)[0];
    const ref = tableRef(t);
    return [
      {
        entry: {
          name: names.take(subjectName(t.name, 'service')),
          table: ref,
          timestamp: at,
          latency: { column: latency.name, unit },
          ...(status ? { status: { column: status.name } } : {}),
          objective: '500ms',
        },
        tables: [t],
        note: [
          `The requests of ${ref}: volume, errors, latency p50/p95/p99 and the share slower than the objective.`,
          guessed
            ? `${latency.name} has no unit in its name: taken as milliseconds; set latency.unit (s, ms or us) if not.`
            : '',
          status
            ? `${status.name} from 500 up counts as an error (status.error_min, or error_values).`
            : 'No numeric status column: errors are not counted (add status: { column, error_values }).',
        ]
          .filter(Boolean)
          .join(' '),
      },
    ];
  });
}
