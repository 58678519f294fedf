/**
 * The pandas peer: what users do instead of mlwatch (pull the window with pandas.read_sql, compute with
 * scikit-learn or scipy), run by bench/pandas-peer.py in Debian's Python. The benches time it next to the check
 * in the same rounds and compare its values with the check's.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Debian's interpreter, where python3-pandas, -sklearn, -scipy and -psycopg2 are installed (not a pyenv shim). */
const PYTHON = process.env.MLWATCH_BENCH_PYTHON ?? '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('./pandas-peer.py', import.meta.url));

export interface PeerRequest {
  /**
   * PostgreSQL, where `sql` pulls the rows; or `files` (CSV paths) instead of both: for classification and the
   * model kinds (bench/duckdb.ts), and with `data: true` for the kinds of bench/duckdb-data-kinds.ts.
   */
  url?: string;
  kind:
    | 'classification'
    | 'ks'
    | 'psi'
    | 'scan'
    | 'labels'
    | 'serving'
    | 'duplicates'
    | 'regression'
    | 'segments'
    | 'prediction_psi'
    | 'job'
    | 'multiclass'
    | 'kpi';
  sql?: string;
  params?: readonly unknown[];
  [extra: string]: unknown;
}

export interface PeerResult {
  /** Pulling the rows (read_sql), and computing from them, in ms: the interpreter's start and imports excluded. */
  pullMs: number;
  computeMs: number;
  /** With `reference_sql`: the part of pullMs spent pulling the reference. */
  refPullMs?: number;
  rows: number;
  values: Record<string, number>;
}

export function runPeer(request: PeerRequest): Promise<PeerResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(PYTHON, [SCRIPT], { maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err)
        reject(new Error(`the pandas peer failed: ${stderr.trim().split('\n').at(-1) ?? err.message}`));
      else resolve(JSON.parse(stdout) as PeerResult);
    });
    child.stdin?.end(JSON.stringify(request));
  });
}

/**
 * Whether the peer can run here: Debian's python3 with pandas, scikit-learn, scipy and psycopg2. When it cannot,
 * the reason, so a bench prints it and leaves the peer out instead of failing.
 */
export function peerMissing(): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(PYTHON, ['-c', 'import pandas, sklearn, scipy, psycopg2'], (err) =>
      resolve(
        err
          ? `${PYTHON} lacks pandas, scikit-learn, scipy or psycopg2 (apt-get install python3-pandas python3-sklearn python3-scipy python3-psycopg2)`
          : undefined,
      ),
    );
  });
}
