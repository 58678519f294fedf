import { expect } from 'vitest';
import { parseBundleConfig } from '../../bundle/load.js';
import { ConfigError } from '../../src/config/errors.js';

/** The lines of the ConfigError a bundle config text is refused with (as my-bundle.yaml); throws if it is accepted. */
export function bundleProblems(text: string): string[] {
  try {
    parseBundleConfig(text, 'my-bundle.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).message.split('\n');
  }
  throw new Error('expected the config to be refused');
}
