import { readFileSync } from 'node:fs';
import { ConfigError, formatPath, type Problem } from '../src/config/errors.js';
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
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : String(code);
    throw new ConfigError(file, [{ path: '', message: `cannot read the bundle config: ${why}` }]);
  }
  return parseBundleConfig(text, file);
}

export function parseBundleConfig(text: string, file: string): BundleConfig {
  const src = new YamlSource(text);
  const syntax = src.syntaxProblems();
  if (syntax.length > 0) throw new ConfigError(file, syntax);
  const input: unknown = src.doc.toJS() ?? {};
  const parsed = bundleConfigSchema.safeParse(input, { error: configErrorMap });
  if (parsed.success) return parsed.data;
  const problems: Problem[] = parsed.error.issues.flatMap((issue) => {
    if (issue.code !== 'unrecognized_keys') {
      return [{ line: src.lineOf(issue.path), path: formatPath(issue.path), message: issue.message }];
    }
    // One message line per unknown key (configErrorMap's "did you mean"), each at that key's line.
    const lines = issue.message.split('\n');
    return issue.keys.map((key, i) => {
      const path = [...issue.path, key];
      return { line: src.lineOf(path), path: formatPath(path), message: lines[i] ?? issue.message };
    });
  });
  throw new ConfigError(
    file,
    problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0)),
  );
}
