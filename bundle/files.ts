import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** A file the bundle writes, by its path relative to the repository root (or to --out, which mirrors it). */
export interface GeneratedFile {
  file: string;
  text: string;
}

export function writeFiles(root: string, files: readonly GeneratedFile[]): void {
  for (const { file, text } of files) {
    mkdirSync(dirname(join(root, file)), { recursive: true });
    writeFileSync(join(root, file), text);
  }
}
