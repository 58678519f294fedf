import type { Sample } from '../metrics/types.js';
import type { CheckResult } from './types.js';

/** Collects a run's samples and the series it could not export, by reason (never NaN, never a made-up 0). */
export class ResultBuilder {
  readonly samples: Sample[] = [];
  readonly skipped: Record<string, number> = {};

  add(name: string, labels: Record<string, string>, value: number): void {
    this.samples.push({ name, labels, value });
  }

  skip(reason: string, n = 1): void {
    this.skipped[reason] = (this.skipped[reason] ?? 0) + n;
  }

  result(): CheckResult {
    return { samples: this.samples, skipped: this.skipped };
  }
}
