/**
 * The report of bench/peer-kinds.ts: per kind the check, the peer (pulling and computing), their ratio
 * against issue 14's target, the floors and, where the target is missed, whether a floor blocks it and the
 * costliest nodes of the check's plan; then one table of every kind. Returns the figures for the saved JSON.
 */
import { count, pairedRatio, pass, perRound, type RecordedStatement, rounded } from './harness.js';
import type { Kind } from './peer-kinds-defs.js';
import type { PlanSummary } from './plan-summary.js';
import { line, ms, stats, x } from './stats.js';

/** Issue 14: every check at most 0.5x the peer. */
export const TARGET = 0.5;

/** Each kind's samples, in ms, one per round: the peer's without the reference's pull, which is apart. */
export interface KindSamples {
  check: number[];
  peer: number[];
  peerPull: number[];
  peerCompute: number[];
  peerRefPull: number[];
  floors: number[][];
}

/** Prints each kind's figures and the summary table; returns them for the saved JSON. */
export function report(
  kinds: Kind[],
  samples: Record<string, KindSamples>,
  plans: Record<string, PlanSummary>,
  sent: Record<string, RecordedStatement[]>,
  run: { rounds: number; startupMs: number; loads: Record<string, string>; settings: Record<string, string> },
) {
  console.log('');
  console.log(
    `${run.rounds} rounds, each kind's check, peer and floors in a rotating order, after the exporter's start-up ` +
      `round (${ms(run.startupMs)} ms, every check once) and one peer run per kind; load average at the rounds' ` +
      `start ${run.loads.rounds}, at their end ${run.loads.end}; work_mem ${run.settings.work_mem}, ` +
      `max_parallel_workers_per_gather ${run.settings.workers}, checks, floors and peer pulls without JIT`,
  );
  const out = kinds.map((k) => {
    const s = samples[k.name] as KindSamples;
    const check = stats(s.check);
    const peer = stats(s.peer);
    const perRoundRatio = pairedRatio(s.check, s.peer);
    const ratio = check.median / peer.median;
    const floors = k.floors.map((f, i) => {
      const fs = stats(s.floors[i] as number[]);
      return {
        name: f.name,
        ms: fs,
        toPeer: fs.median / peer.median,
        checkToFloor: check.median / fs.median,
      };
    });
    const plan = plans[k.name];
    const statements = (sent[k.name] ?? []).length;
    console.log('');
    console.log(`${k.name}: ${k.what}`);
    console.log(`   check (runNow, ${statements} statement${statements === 1 ? '' : 's'}): ${line(check)}`);
    const refPull = s.peerRefPull.length ? stats(s.peerRefPull) : undefined;
    console.log(
      `   pandas peer:   ${line(peer)}; pulling ${ms(stats(s.peerPull).median)} ms + computing ${ms(stats(s.peerCompute).median)} ms` +
        (refPull
          ? `; the reference's pull (${ms(refPull.median)} ms) left out, as the check caches its bins`
          : ''),
    );
    console.log(
      `   check / peer ${x(ratio)} (per round ${perRound(perRoundRatio)}): <= ${TARGET}x ${pass(ratio <= TARGET)}, < 1x ${pass(ratio < 1)}`,
    );
    for (const f of floors)
      console.log(
        `   floor, ${f.name}: ${line(f.ms)} -> ${x(f.toPeer)} the peer; the check is ${x(f.checkToFloor)} it`,
      );
    if (ratio > TARGET && floors.length > 0) {
      // Whether a floor alone already costs more than the target leaves the check: then no statement doing
      // that work reaches it on this server; else the check's own work on top of the floors is what to cut.
      const top = floors.reduce((a, f) => (f.toPeer > a.toPeer ? f : a));
      console.log(
        top.toPeer > TARGET
          ? `   blocked: ${top.name} alone is ${x(top.toPeer)} the peer, above the ${TARGET}x the check is allowed`
          : `   not blocked by a floor: the largest (${top.name}) is ${x(top.toPeer)} the peer; the check is ${x(top.checkToFloor)} it`,
      );
    }
    if (plan && ratio > TARGET) {
      console.log(
        `   the check's statement under EXPLAIN ANALYZE (once, no JIT): ${ms(plan.executionMs)} ms, ` +
          `${count(plan.tempBlocks)} temp blocks read + written; costliest nodes (own time):`,
      );
      for (const n of plan.costliest) console.log(`     ${n.node} ${ms(n.selfMs)} ms: ${n.detail}`);
      for (const n of plan.sorts.filter((p) => !plan.costliest.includes(p)))
        console.log(`     ${n.node} ${ms(n.selfMs)} ms: ${n.detail}`);
    }
    return {
      kind: k.name,
      what: k.what,
      checkId: k.checkId,
      checkMs: rounded(check),
      peerMs: rounded(peer),
      peerPullMs: rounded(stats(s.peerPull)),
      peerComputeMs: rounded(stats(s.peerCompute)),
      peerReferencePullMs: refPull && rounded(refPull),
      ratio,
      perRound: rounded(perRoundRatio),
      target: TARGET,
      pass: ratio <= TARGET,
      beatsPeer: ratio < 1,
      floors: floors.map((f) => ({ ...f, ms: rounded(f.ms) })),
      statements: (sent[k.name] ?? []).map((st) => ({ sql: st.sql, params: st.params })),
      plan,
      raw: s,
    };
  });
  console.log('');
  console.log(
    '| kind | check ms | peer ms (pull + compute) | check / peer | <= 0.5x | < 1x | floor: ms, x the peer |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const r of out) {
    const fl = r.floors.map((f) => `${f.name} ${ms(f.ms.median)} (${x(f.toPeer)})`).join('; ');
    console.log(
      `| ${r.kind} | ${ms(r.checkMs.median)} | ${ms(r.peerMs.median)} (${ms(r.peerPullMs.median)} + ${ms(r.peerComputeMs.median)}) | ` +
        `${x(r.ratio)} (per round ${x(r.perRound.median)}) | ${pass(r.pass)} | ${pass(r.beatsPeer)} | ${fl} |`,
    );
  }
  return out;
}
