/**
 * The rounds of the DuckDB benches (bench/duckdb.ts, bench/duckdb-data-kinds.ts): a check on DuckDB over
 * Parquet and its pandas peer, alternating which goes first, so a shift in the machine's load falls on both.
 */
import { stats } from './stats.js';

/**
 * `rounds` rounds alternating the check and the peer (the peer left out when `peer` is undefined), after one
 * warm-up run of the check: their times by side, and the per-round ratio check / peer (its median) when the
 * peer ran.
 */
export async function alternate(
  run: () => Promise<number>,
  peer: (() => Promise<number>) | undefined,
  rounds: number,
): Promise<{ samples: Record<string, number[]>; ratio: number | undefined }> {
  const samples: Record<string, number[]> = { check: [], ...(peer ? { peer: [] } : {}) };
  await run(); // warm-up: DuckDB reads the files' metadata, the OS caches them
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? ['check', 'peer'] : ['peer', 'check'];
    for (const n of order) {
      if (n === 'check') samples.check?.push(await run());
      else if (peer) samples.peer?.push(await peer());
    }
  }
  const ratio = peer
    ? stats((samples.check as number[]).map((v, i) => v / ((samples.peer as number[])[i] as number))).median
    : undefined;
  return { samples, ratio };
}
