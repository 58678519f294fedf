import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoConfig } from '../src/demo/builtin-config.js';
import { runCli, type Served } from './helpers/cli.js';
import { demoSinkCalls, settleDemo, startDemo } from './helpers/demo.js';
import { waitFor } from './helpers/wait.js';

// `mlwatch demo` turns rollbacks on: two demo approvers (one engineering, one product) whose tokens it prints,
// and credit_default's rollback webhook is the demo's own recording sink. A rollback is walked from request to
// execution with the printed tokens, over the HTTP API and with the printed CLI commands. The demo runs on its
// embedded PGlite (warehouse and state store) whatever MLWATCH_TEST_DATABASE_URL says: its store is fresh.
let served: Served;
let engineering: string;
let product: string;

beforeAll(async () => {
  served = await startDemo();
  const printed = (name: string, role: string) => {
    const m = new RegExp(`${name} \\(${role}\\): (\\S+)`).exec(served.logs());
    if (!m?.[1]) throw new Error(`no token printed for ${name}:\n${served.logs()}`);
    return m[1];
  };
  engineering = printed('demo-engineer', 'engineering');
  product = printed('demo-product', 'product');
  // The state store answers 503 until its migrations have run.
  await waitFor(
    async () => (await api('GET', '/api/v1/rollbacks', engineering)).status === 200,
    60_000,
    'state store ready',
  );
}, 90_000);
afterAll(async () => {
  await served?.stop('SIGKILL');
});

function api(method: 'GET' | 'POST', path: string, token?: string, body?: object) {
  return fetch(`${served.url}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
}

interface Rollback {
  id: number;
  model: string;
  to_version: string;
  state: string;
  requested_by: string;
  waiting_for: string[];
  approvals: { approver: string; role: string; decision: string }[];
  audit?: { actor: string; action: string }[];
}

const sinkCalls = () => demoSinkCalls(served, 'rollback');
/** The demo's settle() (test/rollback.test.ts): after it, no approved rollback is left to execute. */
const settle = () => settleDemo(served, 'rollback', 'a fresh execution round runs nothing');

const callsFor = async (id: number) =>
  (await sinkCalls()).filter((c) => c.idempotencyKey === `mlwatch-rollback-${id}`);

async function executed(id: number): Promise<Rollback> {
  return waitFor(
    async () => {
      const r = (await (await api('GET', `/api/v1/rollbacks/${id}`, product)).json()) as Rollback;
      return r.state === 'executed' ? r : undefined;
    },
    30_000,
    `rollback ${id} executed`,
  );
}

/** A printed command line split into words (the demo's quote only with '...', never inside one). */
function words(line: string): string[] {
  return [...line.matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? (m[2] as string));
}

describe('mlwatch demo: rollbacks with the demo approvers', () => {
  it('prints the tokens as demo-only, and they are the ones the config holds hashes of', async () => {
    const out = served.logs();
    expect(engineering).toBe('demo-engineering-token');
    expect(product).toBe('demo-product-token');
    expect(out).toContain('DEMO-ONLY');
    expect(out).toContain(`${served.port}/-/demo/rollback-sink`);
    expect(out).toContain(`${served.port}/api/v1/rollbacks`);
    // A token nobody has is refused, none at all asks for one; the operator may read but not approve.
    expect((await api('GET', '/api/v1/rollbacks', 'demo-nobody-token')).status).toBe(401);
    expect((await api('GET', '/api/v1/rollbacks')).status).toBe(401);
    expect((await api('GET', '/api/v1/rollbacks', 'demo-operator-token')).status).toBe(200);
    expect((await api('POST', '/api/v1/rollbacks/1/approve', 'demo-operator-token', {})).status).toBe(403);
    // The config holds the hashes of the printed tokens, never the tokens.
    const sha = (t: string) => createHash('sha256').update(t).digest('hex');
    const { approvers } = demoConfig({ warehouseUrl: 'pglite:memory', schema: 'x' }) as {
      approvers: Record<string, string>[];
    };
    expect(approvers).toEqual([
      { name: 'demo-engineer', role: 'engineering', token_sha256: sha(engineering) },
      { name: 'demo-product', role: 'product', token_sha256: sha(product) },
    ]);
    expect(JSON.stringify(approvers)).not.toContain('token"');
  });

  it('request, approve as engineering, approve as product: exactly one call to the sink, executed', async () => {
    expect(await sinkCalls()).toEqual([]);
    const created = await api('POST', '/api/v1/rollbacks', engineering, {
      model: 'credit_default',
      to_version: 'credit-gbm-3.1',
      reason: 'AUC dropped with credit-gbm-3.2',
    });
    expect(created.status).toBe(201);
    const request = (await created.json()) as Rollback;
    expect(request).toMatchObject({
      model: 'credit_default',
      state: 'pending',
      requested_by: 'demo-engineer',
    });
    expect(created.headers.get('location')).toBe(`/api/v1/rollbacks/${request.id}`);

    const eng = await api('POST', `/api/v1/rollbacks/${request.id}/approve`, engineering, {
      comment: 'engineering agrees',
    });
    expect(eng.status).toBe(200);
    expect(await eng.json()).toMatchObject({ state: 'pending', waiting_for: ['product'] });
    // Nothing runs on one role's approval.
    await settle();
    expect(await sinkCalls()).toEqual([]);

    const prod = await api('POST', `/api/v1/rollbacks/${request.id}/approve`, product, {});
    expect(prod.status).toBe(200);
    expect(((await prod.json()) as Rollback).waiting_for).toEqual([]);

    const done = await executed(request.id);
    expect(done.approvals.map((a) => [a.approver, a.role, a.decision])).toEqual(
      expect.arrayContaining([
        ['demo-engineer', 'engineering', 'approve'],
        ['demo-product', 'product', 'approve'],
      ]),
    );
    expect(done.audit?.map((a) => a.action)).toContain('executed');
    await settle();
    const calls = await sinkCalls();
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({
      idempotencyKey: `mlwatch-rollback-${request.id}`,
      duplicate: false,
      body: {
        id: request.id,
        model: 'credit_default',
        to_version: 'credit-gbm-3.1',
        requested_by: 'demo-engineer',
      },
    });
  }, 60_000);

  it('the printed walkthrough, run through the built CLI, executes a second rollback', async () => {
    const out = served.logs();
    const lines = out.split('\n').flatMap((l) => /npx mlwatch (rollback .*)$/.exec(l)?.[1] ?? []);
    expect(lines).toHaveLength(4);
    const [request, approveEng, approveProd, list] = lines.map(words);
    expect(request?.slice(0, 2)).toEqual(['rollback', 'request']);
    expect(approveEng).toContain(engineering);
    expect(approveProd).toContain(product);

    const r = runCli(request as string[]);
    expect(r.code, r.stderr).toBe(0);
    const id = Number(/rollback request (\d+):/.exec(r.stdout)?.[1]);
    expect(r.stdout).toContain(`rollback request ${id}: credit_default to credit-gbm-3.1, pending`);
    // The printed commands name request 1 (a fresh demo's first); here the first went through the API above.
    expect(approveEng?.slice(0, 3)).toEqual(['rollback', 'approve', '1']);
    const withId = (args: string[]) => args.map((a, i) => (i === 2 ? String(id) : a));
    const e = runCli(withId(approveEng as string[]));
    expect(e.code, e.stderr).toBe(0);
    expect(e.stdout).toContain('waiting for: product approval');
    const p = runCli(withId(approveProd as string[]));
    expect(p.code, p.stderr).toBe(0);
    expect(p.stdout).toContain('demo-product (product) approved');
    // The second approval starts the rollback and reports it run, not the `approved` it passed through.
    expect(p.stdout).toContain(`rollback request ${id}: credit_default to credit-gbm-3.1, executed\n`);
    expect(p.stdout).toMatch(/ {2}both roles approved: executed at \S+\n$/);

    await executed(id);
    await settle();
    const calls = await callsFor(id);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.body).toMatchObject({ id, model: 'credit_default', to_version: 'credit-gbm-3.1' });
    expect(await sinkCalls()).toHaveLength(2);

    const listed = runCli(list as string[]);
    expect(listed.code, listed.stderr).toBe(0);
    const rows = listed.stdout.trim().split('\n');
    expect(rows[0]).toMatch(/^ID\s+MODEL\s+TO VERSION\s+STATE/);
    expect(rows.slice(1).map((row) => row.split(/\s+/).slice(0, 4))).toEqual([
      [String(id), 'credit_default', 'credit-gbm-3.1', 'executed'],
      [String(id - 1), 'credit_default', 'credit-gbm-3.1', 'executed'],
    ]);
  }, 90_000);
});
