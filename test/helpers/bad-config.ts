import { readdirSync } from 'node:fs';
import { expect, it } from 'vitest';
import { ConfigError } from '../../src/config/errors.js';
import { loadConfigFile } from '../../src/config/load.js';

/**
 * Registers, in the current describe, one test per bad-config fixture (loading it throws a ConfigError whose
 * message is exactly the expected `file:line path: message`, prefixed with the folder) and one that every
 * file of the folder has its case, so a fixture cannot be added without its expected message.
 */
export function rejectsEachFixture(dir: string, cases: readonly (readonly [string, string])[]): void {
  it.each(cases)('%s', (file, expected) => {
    let err: unknown;
    try {
      loadConfigFile(`${dir}/${file}`, {});
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toBe(`${dir}/${expected}`);
  });

  it('covers every fixture in the folder', () => {
    expect(readdirSync(dir).sort()).toEqual(cases.map(([f]) => f).sort());
  });
}
