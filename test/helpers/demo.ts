import { expect } from 'vitest';
import type { SinkCall } from '../../src/demo/action-sink.js';
import { type Served, startCli } from './cli.js';
import { DEMO_HEADERS } from './credentials.js';

/**
 * `mlwatch demo` on a free port, a batch every second, with MLWATCH_DEMO_TEST_ROUNDS set: POST
 * /-/demo/test/rounds runs the action services' rounds (see settleDemo).
 */
export const startDemo = (): Promise<Served> =>
  startCli(['demo', '--port', '0', '--batch-interval', '1'], { MLWATCH_DEMO_TEST_ROUNDS: '1' });

/** The calls the demo's own recording sink for `action` (retrain or rollback) has received. */
export async function demoSinkCalls(served: Served, action: 'retrain' | 'rollback'): Promise<SinkCall[]> {
  const res = await fetch(`${served.url}/-/demo/${action}-sink`, { headers: DEMO_HEADERS });
  expect(res.status).toBe(200);
  return ((await res.json()) as { calls: SinkCall[] }).calls;
}

/**
 * Instead of sleeping past an outbox poll and hoping nothing more is sent: a round of the demo's `action` work
 * that may join one in flight, then a fresh round, which must do nothing (`fresh` says so when it does not).
 * The sink's calls after it are final.
 */
export async function settleDemo(
  served: Served,
  action: 'retrain' | 'rollback',
  fresh: string,
): Promise<void> {
  const round = async () => {
    const res = await fetch(`${served.url}/-/demo/test/rounds`, { method: 'POST', headers: DEMO_HEADERS });
    expect(res.status).toBe(200);
    return ((await res.json()) as Record<'retrain' | 'rollback', number>)[action];
  };
  await round();
  expect(await round(), fresh).toBe(0);
}
