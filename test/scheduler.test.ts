import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Check } from '../src/checks/types.js';
import { CachedCheck } from '../src/runtime/check-cache.js';
import { Scheduler } from '../src/runtime/scheduler.js';
import { openTestDb, type TestDb } from './helpers/db.js';

// Checks whose run waits on a gate the test opens, so overlap and ordering are under the test's control.
function gatedCheck(id: string, everyMs = 3_600_000) {
  let open!: () => void;
  const gate = new Promise<void>((r) => {
    open = r;
  });
  let runs = 0;
  const check: Check = {
    id,
    kind: 'test',
    schedule: { everyMs },
    timeoutMs: 5000,
    families: [],
    fingerprint: id,
    async run(q) {
      runs++;
      await q.query('SELECT 1');
      await gate;
      return { samples: [{ name: 't_gate', labels: { id }, value: runs }], skipped: {} };
    },
  };
  return {
    check,
    runs: () => runs,
    /** Opens the gate for good: this run and every later one pass straight through. */
    release() {
      open();
    },
  };
}

let db: TestDb;
beforeAll(async () => {
  db = await openTestDb({ pool: 3 });
});
afterAll(async () => {
  await db?.close();
});

const scheduler = (cached: CachedCheck[]) =>
  new Scheduler({
    warehouse: db.warehouse,
    cached,
    concurrency: 10,
    jitter: 0,
    log: pino({ level: 'silent' }),
    onWarehouseContact: () => {},
  });

describe('scheduler', () => {
  it('never runs the same check twice at once: a tick during a run is an overrun', async () => {
    const g = gatedCheck('gated');
    const state = new CachedCheck(g.check);
    const s = scheduler([state]);
    const first = s.runNow();
    await new Promise((r) => setTimeout(r, 50));
    const tick = s.trigger(state);
    const tick2 = s.trigger(state);
    expect(state.overruns).toBe(2);
    g.release();
    await Promise.all([first, tick, tick2]);
    expect(g.runs()).toBe(1);
    expect(state.runs).toBe(1);
    await s.stop(100);
  });

  it('caps checks in flight at the warehouse limit', async () => {
    const gates = Array.from({ length: 5 }, (_, i) => gatedCheck(`c${i}`));
    const states = gates.map((g) => new CachedCheck(g.check));
    const s = scheduler(states);
    expect(s.limit).toBe(db.warehouse.maxConcurrency);
    const all = s.runNow();
    await new Promise((r) => setTimeout(r, 100));
    const running = () => states.filter((st) => st.running).length;
    expect(running()).toBe(Math.min(5, s.limit));
    expect(states.filter((st) => st.queued).length).toBe(5 - Math.min(5, s.limit));
    for (const g of gates) g.release();
    await all;
    expect(states.map((st) => st.runs)).toEqual([1, 1, 1, 1, 1]);
    await s.stop(100);
  });

  it('runs interval checks on their schedule and resolves the first round', async () => {
    const fast = gatedCheck('fast', 150);
    fast.release();
    const state = new CachedCheck(fast.check);
    const s = scheduler([state]);
    s.start();
    await s.firstRound;
    await new Promise((r) => setTimeout(r, 700));
    await s.stop(1000);
    expect(state.runs).toBeGreaterThanOrEqual(3);
    expect(state.status).toBe('ok');
  });
});
