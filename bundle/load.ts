import { ConfigError, readConfigText } from '../src/config/errors.js';
import { configErrorMap } from '../src/config/messages.js';
import { YamlSource } from '../src/config/yaml-source.js';
import { type BundleConfig, bundleConfigSchema, DEFAULT_BUNDLE_CONFIG } from './config.js';

/**
 * Reads a bundle config file (YAML, or JSON, which YAML reads too) and validates it, with the same
 * `file:line path: message` errors and YAML-speaking messages as mlwatch.yaml (src/config), so a mistake names
 * the line and the fix. An empty file, or no file, is the defaults.
 */
export function loadBundleConfig(file: string | undefined): BundleConfig {
  if (file === undefined) return DEFAULT_BUNDLE_CONFIG;
  const text = readConfigText(file, 'bundle config');
  return parseBundleConfig(text, file);
}

export function parseBundleConfig(text: string, file: string): BundleConfig {
  const src = new YamlSource(text);
  const syntax = src.syntaxProblems();
  if (syntax.length > 0) throw new ConfigError(file, syntax);
  const input: unknown = src.doc.toJS() ?? {};
  const parsed = bundleConfigSchema.safeParse(input, { error: configErrorMap });
  if (parsed.success) return parsed.data;
  throw new ConfigError(file, src.schemaProblems(parsed.error.issues));
}
