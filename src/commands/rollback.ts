import { ROLLBACK_STATES, type RollbackRequest } from '../actions/rollbacks/rollbacks.js';
import { Redactor, redactUrl } from '../redact.js';
import { afterAttempt, attemptNote, EXECUTION_WAIT, type WaitOptions } from './rollback-wait.js';
import { table } from './tickets.js';

/**
 * `mlwatch rollback request|approve|reject|list|show`: the HTTP API of a running exporter (docs/rollbacks.md),
 * as the approver whose token is given. Exit codes: 0 done; 1 a usage problem, the exporter cannot be reached
 * or failed; 2 the exporter refused (400, 401, 403, 404, 409: the reason is printed).
 */

export interface ApiFlags {
  url: string;
  token?: string;
  json?: boolean;
}

export type CliResult = { code: number; out: string };

const EXIT_REFUSED = 2;

/** `whose`: whose token the command needs, for the message when there is none (approver, responder). */
function tokenOf(f: ApiFlags, env: NodeJS.ProcessEnv, whose: string): string | CliResult {
  const token = f.token ?? env.MLWATCH_TOKEN;
  if (token === undefined || token === '') {
    return { code: 1, out: `no token: pass --token <your ${whose} token> or set MLWATCH_TOKEN` };
  }
  return token;
}

/**
 * One call to the running exporter's API with the caller's bearer token (also `mlwatch tickets ack|handoff`):
 * the JSON answer, or the exit code and message (2 and the exporter's reason for a 4xx).
 */
export async function call(
  f: ApiFlags,
  env: NodeJS.ProcessEnv,
  method: 'GET' | 'POST',
  path: string,
  body?: object,
  whose = 'approver',
): Promise<{ ok: true; value: unknown } | { ok: false; result: CliResult }> {
  const token = tokenOf(f, env, whose);
  if (typeof token !== 'string') return { ok: false, result: token };
  const base = f.url.replace(/\/+$/, '');
  let res: Response;
  try {
    res = await fetch(`${base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    return {
      ok: false,
      result: {
        code: 1,
        out: new Redactor()
          .addUrl(base)
          .redact(
            `cannot reach ${redactUrl(base)}: ${e.cause?.code ?? e.cause?.message ?? e.message}; is mlwatch serve running there (--url)?`,
          ),
      },
    };
  }
  const text = (await res.text()).trim();
  if (res.ok) return { ok: true, value: JSON.parse(text) };
  const code = res.status >= 400 && res.status < 500 ? EXIT_REFUSED : 1;
  return { ok: false, result: { code, out: `refused (HTTP ${res.status}): ${text}` } };
}

function describe(r: RollbackRequest): string {
  const approvals = r.approvals.map((a) => `${a.approver} (${a.role}) ${a.decision}d at ${a.at}`);
  return [
    `rollback request ${r.id}: ${r.model} to ${r.to_version}, ${r.state}`,
    `  reason: ${r.reason}`,
    `  requested by ${r.requested_by} at ${r.created_at}; expires ${r.expires_at}`,
    ...approvals.map((a) => `  ${a}`),
    ...(r.waiting_for.length > 0 ? [`  waiting for: ${r.waiting_for.join(' and ')} approval`] : []),
    ...(r.last_error ? [`  last error: ${r.last_error}`] : []),
  ].join('\n');
}

const shown = (f: ApiFlags, r: RollbackRequest): CliResult => ({
  code: 0,
  out: f.json ? JSON.stringify(r, null, 2) : describe(r),
});

export async function requestRollback(
  f: ApiFlags & { model: string; toVersion: string; reason: string },
  env: NodeJS.ProcessEnv = process.env,
): Promise<CliResult> {
  const r = await call(f, env, 'POST', '/api/v1/rollbacks', {
    model: f.model,
    to_version: f.toVersion,
    reason: f.reason,
  });
  return r.ok ? shown(f, r.value as RollbackRequest) : r.result;
}

export async function decideRollback(
  decision: 'approve' | 'reject',
  id: string,
  f: ApiFlags & { comment?: string },
  env: NodeJS.ProcessEnv = process.env,
  wait: WaitOptions = EXECUTION_WAIT,
): Promise<CliResult> {
  if (!/^\d+$/.test(id))
    return { code: 1, out: `'${id}' is not a rollback request id (a number, see mlwatch rollback list)` };
  const r = await call(
    f,
    env,
    'POST',
    `/api/v1/rollbacks/${id}/${decision}`,
    f.comment !== undefined ? { comment: f.comment } : {},
  );
  if (!r.ok) return r.result;
  const decided = r.value as RollbackRequest;
  // Only the approval that completes the request starts an execution; every other answer is final.
  if (decided.state !== 'approved') return shown(f, decided);
  const read = async () => {
    const again = await call(f, env, 'GET', `/api/v1/rollbacks/${id}`);
    return again.ok ? (again.value as RollbackRequest) : undefined;
  };
  const after = await afterAttempt(decided, read, wait);
  if (f.json) return shown(f, after);
  return { code: 0, out: `${describe(after)}\n${attemptNote(after)}` };
}

export async function showRollback(
  id: string,
  f: ApiFlags,
  env: NodeJS.ProcessEnv = process.env,
): Promise<CliResult> {
  if (!/^\d+$/.test(id))
    return { code: 1, out: `'${id}' is not a rollback request id (a number, see mlwatch rollback list)` };
  const r = await call(f, env, 'GET', `/api/v1/rollbacks/${id}`);
  if (!r.ok) return r.result;
  const v = r.value as RollbackRequest & {
    audit: { at: string; actor: string; action: string; details: object }[];
  };
  if (f.json) return { code: 0, out: JSON.stringify(v, null, 2) };
  const audit = table([
    ['AT', 'ACTOR', 'ACTION', 'DETAILS'],
    ...v.audit.map((a) => [a.at, a.actor, a.action, JSON.stringify(a.details)]),
  ]);
  return { code: 0, out: `${describe(v)}\n\n${audit}` };
}

export async function listRollbacks(
  f: ApiFlags & { state?: string },
  env: NodeJS.ProcessEnv = process.env,
): Promise<CliResult> {
  if (f.state !== undefined && !(ROLLBACK_STATES as readonly string[]).includes(f.state)) {
    return { code: 1, out: `--state: expected one of ${ROLLBACK_STATES.join(', ')}, not '${f.state}'` };
  }
  const r = await call(f, env, 'GET', `/api/v1/rollbacks${f.state ? `?state=${f.state}` : ''}`);
  if (!r.ok) return r.result;
  const list = (r.value as { rollbacks: RollbackRequest[] }).rollbacks;
  if (f.json) return { code: 0, out: JSON.stringify(list, null, 2) };
  if (list.length === 0) return { code: 0, out: 'no rollback requests' };
  return {
    code: 0,
    out: table([
      [
        'ID',
        'MODEL',
        'TO VERSION',
        'STATE',
        'REQUESTED BY',
        'CREATED',
        'EXPIRES',
        'APPROVED BY',
        'WAITING FOR',
      ],
      ...list.map((x) => [
        String(x.id),
        x.model,
        x.to_version,
        x.state,
        x.requested_by,
        x.created_at,
        x.expires_at,
        x.approvals
          .filter((a) => a.decision === 'approve')
          .map((a) => `${a.approver} (${a.role})`)
          .join(', '),
        x.waiting_for.join(', '),
      ]),
    ]),
  };
}
