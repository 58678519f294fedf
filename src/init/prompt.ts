import { createInterface, type Interface } from 'node:readline/promises';
import type { Question } from './choose.js';

/**
 * The questions `mlwatch init` asks in a terminal. Lines are read through the interface's iterator rather than
 * rl.question(): that buffers a line typed (or piped) before the question is printed, where question() would
 * drop it, and it ends at end of input, which cancels init instead of leaving it waiting.
 */

export class Cancelled extends Error {
  constructor() {
    super('init cancelled: no answer (end of input); nothing was written');
  }
}

// A wrong answer is asked again, a few times: a closed terminal or a stuck key must not loop forever.
const TRIES = 5;

export class Prompter {
  private readonly rl: Interface;
  private readonly lines: AsyncIterator<string>;

  constructor(
    input: NodeJS.ReadableStream,
    private readonly output: NodeJS.WritableStream,
  ) {
    this.rl = createInterface({ input, output, terminal: false });
    this.lines = this.rl[Symbol.asyncIterator]();
  }

  private async line(prompt: string): Promise<string> {
    this.output.write(prompt);
    const next = await this.lines.next();
    if (next.done) throw new Cancelled();
    return next.value.trim();
  }

  /** One of the candidates (or of `allowed` when there are none), by number or by name. */
  async choose(q: Question): Promise<string> {
    const options = q.candidates.length > 0 ? q.candidates : (q.allowed ?? []);
    this.output.write(`\n${q.what}? (or pass ${q.flag})\n`);
    options.forEach((o, i) => {
      this.output.write(`  ${i + 1}) ${o}\n`);
    });
    for (let i = 0; i < TRIES; i++) {
      const answer = await this.line(`choose 1-${options.length} or type a name: `);
      const n = Number(answer);
      const picked = Number.isInteger(n) && n >= 1 && n <= options.length ? options[n - 1] : undefined;
      if (picked !== undefined) return picked;
      if ((q.allowed ?? options).includes(answer)) return answer;
      this.output.write(`'${answer}' is not one of them\n`);
    }
    throw new Cancelled();
  }

  /** Yes or no; an empty answer takes `byDefault`. */
  async confirm(text: string, byDefault: boolean): Promise<boolean> {
    for (let i = 0; i < TRIES; i++) {
      const answer = (await this.line(`${text} [${byDefault ? 'Y/n' : 'y/N'}] `)).toLowerCase();
      if (answer === '') return byDefault;
      if (['y', 'yes'].includes(answer)) return true;
      if (['n', 'no'].includes(answer)) return false;
    }
    throw new Cancelled();
  }

  /** A line of text, e.g. the warehouse URL; asked again while empty. */
  async text(text: string): Promise<string> {
    for (let i = 0; i < TRIES; i++) {
      const answer = await this.line(`${text}: `);
      if (answer !== '') return answer;
    }
    throw new Cancelled();
  }

  close(): void {
    this.rl.close();
  }
}
