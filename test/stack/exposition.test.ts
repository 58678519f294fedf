import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './stack.js';

// The exporter's exposition with every layer configured (the demo's datasets, model and queries), checked by
// promtool. A stack of its own: run inside the system-layer file, it disturbed the fault tests after it
// (critical notifications stopped arriving); the cause is not understood yet and is recorded as a to-do.
let s: Stack;
beforeAll(async () => {
  s = await startStack();
});
afterAll(async () => {
  await s?.stop();
});

describe('the live stack: exposition', () => {
  it("the exporter's exposition passes promtool check metrics", async () => {
    const res = await s.get('/metrics');
    expect(res.status, res.text).toBe(200);
    const text = res.text;
    const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
