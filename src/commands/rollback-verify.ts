import { RollbackLog } from '../actions/rollbacks/rollbacks.js';
import { openStateDb } from '../actions/store/db.js';
import type { LoadedConfig } from '../config/load.js';
import { quoteIdent } from '../sql/identifiers.js';

/**
 * `mlwatch rollback verify`: recomputes the rollback audit log's hash chain straight from the state store (no
 * exporter needed, like `tickets list`). Exit 0 intact, 1 broken (the first broken entry and why), 2 when the
 * log cannot be read: a script or a cron job can tell "tampered" from "could not look".
 */
export async function verifyRollbackAudit(
  config: LoadedConfig,
  opts: { json?: boolean },
): Promise<{ code: number; out: string }> {
  const db = openStateDb(config.state);
  try {
    const v = await new RollbackLog(db, quoteIdent(config.state.schema)).verify();
    const code = v.intact ? 0 : 1;
    if (opts.json) return { code, out: JSON.stringify(v, null, 2) };
    if (!v.intact) {
      const b = v.firstBroken as { id: number; reason: string };
      return {
        code,
        out: [
          `rollback audit log BROKEN at entry ${b.id}: ${b.reason}`,
          `${v.entries} entries; the entries before ${b.id} verify. Look for who changed the log outside mlwatch (docs/runbooks/MlwatchRollbackAuditTampered.md).`,
        ].join('\n'),
      };
    }
    if (!v.head) return { code, out: 'rollback audit log intact: no entries yet' };
    return {
      code,
      out: [
        `rollback audit log intact: ${v.entries} entries`,
        // The chain cannot show a consistent rewrite by someone who recomputes every hash; a head recorded
        // outside the store can: a later head must descend from it (its entry must still have this hash).
        `head: entry ${v.head.id} sha256 ${v.head.hash}`,
      ].join('\n'),
    };
  } catch (err) {
    const e = err as { code?: string; message?: string };
    // 3F000 no schema, 42P01 no table: the exporter has not created the store; 42703 no hash column: nor
    // migrated it to the chain (migration 6).
    if (e.code === '3F000' || e.code === '42P01' || e.code === '42703') {
      return {
        code: 2,
        out: `no chained rollback audit log in schema ${config.state.schema} of the state store yet: start \`mlwatch serve --config ${config.file}\` of this version once, it creates and migrates it`,
      };
    }
    return {
      code: 2,
      out: `cannot read the rollback audit log: ${(e.message ?? String(err)).split('\n')[0]}`,
    };
  } finally {
    await db.close();
  }
}
