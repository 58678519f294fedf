/**
 * A plan boiled down for a bench's report: EXPLAIN (ANALYZE, BUFFERS) once, then its sort-like nodes with how
 * they spilled and the nodes costing most on their own. Used by bench/model-auc.ts and bench/peer-kinds.ts.
 */
import type pg from 'pg';
import { count, explainDocument, round3 } from './harness.js';

export interface PlanNode {
  node: string;
  selfMs: number;
  detail: string;
}

export interface PlanSummary {
  executionMs: number;
  jitFunctions: number;
  jitMs: number;
  tempBlocks: number;
  sorts: PlanNode[];
  costliest: PlanNode[];
  plan: unknown;
}

/**
 * EXPLAIN (ANALYZE, BUFFERS) once, boiled down: every sort-like node (Sort, Incremental Sort, HashAggregate,
 * WindowAgg, Unique, Hash) with how it spilled, and the nodes costing most on their own (a node's time less its
 * children's; approximate, as a CTE's work is charged to the node that first reads it).
 */
export async function explain(db: pg.Client, sql: string, params: readonly unknown[]): Promise<PlanSummary> {
  const doc = await explainDocument(db, sql, params);
  const top = doc[0] as Record<string, unknown>;
  const nodes: PlanNode[] = [];
  const total = (n: Record<string, unknown>) =>
    Number(n['Actual Total Time'] ?? 0) * Number(n['Actual Loops'] ?? 1);
  const walk = (n: Record<string, unknown>) => {
    const children = (n.Plans as Array<Record<string, unknown>> | undefined) ?? [];
    const inline = children.filter((c) => c['Parent Relationship'] !== 'InitPlan');
    const selfMs = Math.max(0, total(n) - inline.reduce((a, c) => a + total(c), 0));
    const type = String(n['Node Type']);
    const strategy = n.Strategy && n.Strategy !== 'Plain' ? `${String(n.Strategy)} ` : '';
    const key = (n['Sort Key'] ?? n['Group Key'] ?? n['Hash Cond']) as string[] | string | undefined;
    const keyText = key === undefined ? '' : ` by ${Array.isArray(key) ? key.join(', ') : key}`;
    const spill = [
      n['Sort Method'] ? `${String(n['Sort Method'])}` : '',
      n['Sort Space Type'] === 'Disk' ? `${count(Number(n['Sort Space Used']))} kB on disk` : '',
      n['HashAgg Batches'] !== undefined ? `${count(Number(n['HashAgg Batches']))} batches` : '',
      n['Hash Batches'] !== undefined ? `${count(Number(n['Hash Batches']))} batches` : '',
      n['Disk Usage'] !== undefined ? `${count(Number(n['Disk Usage']))} kB on disk` : '',
      n['Pre-sorted Groups'] ? 'incremental, external' : '',
    ]
      .filter(Boolean)
      .join(', ');
    const rows = `${count(Number(n['Actual Rows'] ?? 0) * Number(n['Actual Loops'] ?? 1))} rows`;
    const entry = {
      node: `${strategy}${type}${n['Relation Name'] ? ` on ${String(n['Relation Name'])}` : ''}`,
      selfMs: round3(selfMs),
      detail: `${rows}${keyText.length > 90 ? `${keyText.slice(0, 87)}...` : keyText}${spill ? `; ${spill}` : ''}`,
    };
    nodes.push(entry);
    for (const c of children) walk(c);
  };
  walk(top.Plan as Record<string, unknown>);
  const plan = top.Plan as Record<string, unknown>;
  const jit = top.JIT as { Functions?: number; Timing?: { Total?: number } } | undefined;
  const sortLike = /Sort|Aggregate|WindowAgg|Unique|^Hash$/;
  return {
    executionMs: Number(top['Execution Time']),
    jitFunctions: jit?.Functions ?? 0,
    jitMs: jit?.Timing?.Total ?? 0,
    tempBlocks: Number(plan['Temp Read Blocks'] ?? 0) + Number(plan['Temp Written Blocks'] ?? 0),
    sorts: nodes.filter((n) => sortLike.test(n.node.replace(/^\w+ (?=Aggregate)/, ''))),
    costliest: [...nodes].sort((a, b) => b.selfMs - a.selfMs).slice(0, 5),
    plan: doc,
  };
}
