import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './cli.js';

/**
 * The names and keys of the Secrets docs/kubernetes.md creates with `kubectl create secret generic`, so a test can
 * hold every secretKeyRef of the manifests to a documented command.
 */
export function documentedSecrets(): Map<string, Set<string>> {
  const text = readFileSync(join(ROOT, 'docs/kubernetes.md'), 'utf8').replace(/\\\n/g, ' ');
  const out = new Map<string, Set<string>>();
  for (const line of text.split('\n')) {
    const name = /create secret generic ([a-z0-9-]+)/.exec(line)?.[1];
    if (!name) continue;
    out.set(
      name,
      new Set([...line.matchAll(/--from-(?:literal|file)=([A-Za-z0-9._-]+)=/g)].map((m) => m[1] as string)),
    );
  }
  return out;
}
