import type { CheckMemory, MemoryWrite } from '../checks/types.js';

/**
 * The state store's check memory, handed to the checks before the store exists: serve() starts the exporter
 * (whose first runs begin at once) and then the actions, which own the store. A check's first load waits here
 * until the store's memory is attached, so even the first run after a restart starts from what was saved.
 */
export class PendingMemory implements CheckMemory {
  private attachTo!: (m: CheckMemory) => void;
  private readonly attached = new Promise<CheckMemory>((resolve) => {
    this.attachTo = resolve;
  });

  attach(memory: CheckMemory): void {
    this.attachTo(memory);
  }

  async load(id: string, fingerprint: string, known: number | undefined) {
    return (await this.attached).load(id, fingerprint, known);
  }

  async save(id: string, fingerprint: string, w: MemoryWrite) {
    return (await this.attached).save(id, fingerprint, w);
  }
}
