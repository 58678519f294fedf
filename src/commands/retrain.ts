import { RETRAIN_STATES, RetrainLog, type RetrainState } from '../actions/retrain/retrain.js';
import { openStateDb } from '../actions/store/db.js';
import type { LoadedConfig } from '../config/load.js';
import { quoteIdent } from '../sql/identifiers.js';
import { table } from './tickets.js';

export interface RetrainListFlags {
  model?: string;
  state?: string;
  limit: string;
  json?: boolean;
}

/** `mlwatch retrain list`: the retraining requests straight from the state store, newest first. */
export async function listRetrainRequests(
  config: LoadedConfig,
  f: RetrainListFlags,
): Promise<{ code: number; out: string }> {
  if (f.state !== undefined && !(RETRAIN_STATES as readonly string[]).includes(f.state)) {
    return { code: 1, out: `--state: expected one of ${RETRAIN_STATES.join(', ')}, not '${f.state}'` };
  }
  const limit = Number(f.limit);
  if (!Number.isInteger(limit) || limit < 1)
    return { code: 1, out: `--limit: '${f.limit}' is not a positive whole number` };
  const db = openStateDb(config.state);
  try {
    const log = new RetrainLog(db, quoteIdent(config.state.schema));
    const requests = await log.list({ model: f.model, state: f.state as RetrainState | undefined, limit });
    if (f.json) return { code: 0, out: JSON.stringify(requests, null, 2) };
    if (requests.length === 0) return { code: 0, out: 'no retraining requests' };
    const rows = [
      ['ID', 'MODEL', 'REASON', 'STATE', 'REQUESTED', 'ATTEMPTS', 'FAILURES', 'DEDUPLICATED', 'LAST ERROR'],
      ...requests.map((r) => [
        String(r.id),
        r.model,
        r.reason,
        r.state,
        r.requestedAt,
        String(r.attempts),
        String(r.failures),
        String(r.deduplicated),
        r.state === 'pending' ? (r.lastError ?? '') : '',
      ]),
    ];
    return { code: 0, out: table(rows) };
  } catch (err) {
    const e = err as { code?: string; message?: string };
    // 42P01: undefined table, 3F000: undefined schema. The exporter creates them when it starts.
    if (e.code === '42P01' || e.code === '3F000') {
      return {
        code: 1,
        out: `no retraining requests table in schema ${config.state.schema} of the state store yet: start \`mlwatch serve --config ${config.file}\` once, it creates it`,
      };
    }
    return {
      code: 1,
      out: `cannot read the retraining requests: ${(e.message ?? String(err)).split('\n')[0]}`,
    };
  } finally {
    await db.close();
  }
}
