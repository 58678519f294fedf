import type { Warehouse } from '../../warehouse/types.js';

/**
 * Plain files have no transactions: a check whose scan opened some of a table's files before the demo replaced
 * or removed others would read a mix of old and new rows (a leaked label in two files, or in none), or fail on
 * a file removed between DuckDB listing the glob and opening it. The demo's writer and its exporter share one
 * process, so a readers-writer gate gives the checks what PostgreSQL's snapshots give them: each check runs
 * while no file changes, and the writer swaps its files in (renames and removals, milliseconds) while no
 * check runs. A waiting writer goes first, so checks every few seconds cannot starve it. Another reader of
 * the folder (a DuckDB shell) is not gated: it may see a swap half done, as with any folder of files.
 */
export class FileGate {
  #readers = 0;
  /** Settles when the writer holding or waiting for the gate is done. */
  #writer: Promise<void> | undefined;
  #drained: (() => void) | undefined;

  async read<T>(fn: () => Promise<T>): Promise<T> {
    while (this.#writer) await this.#writer;
    this.#readers++;
    try {
      return await fn();
    } finally {
      this.#readers--;
      if (this.#readers === 0) this.#drained?.();
    }
  }

  async write<T>(fn: () => Promise<T>): Promise<T> {
    while (this.#writer) await this.#writer;
    let release = () => {};
    this.#writer = new Promise<void>((resolve) => {
      release = resolve;
    });
    try {
      while (this.#readers > 0) {
        await new Promise<void>((resolve) => {
          this.#drained = resolve;
        });
      }
      this.#drained = undefined;
      return await fn();
    } finally {
      this.#writer = undefined;
      release();
    }
  }
}

/** The exporter's warehouse with every check run through the gate's read side. */
export function gatedWarehouse(w: Warehouse, gate: FileGate): Warehouse {
  return {
    driver: w.driver,
    maxConcurrency: w.maxConcurrency,
    readOnly: (opts, fn) => gate.read(() => w.readOnly(opts, fn)),
    ping: (timeoutMs) => w.ping(timeoutMs),
    close: () => w.close(),
  };
}
