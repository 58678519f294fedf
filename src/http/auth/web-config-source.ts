import { statSync } from 'node:fs';
import type { Logger } from 'pino';
import { ConfigError } from '../../config/errors.js';
import { loadWebConfigFile, NO_WEB_CONFIG, type WebConfig } from './web-config.js';

/**
 * The web config as the running server sees it. Like exporter-toolkit, which reads its file on every request,
 * a change to the file, the certificate, the key or the CA is picked up without a restart: the files are
 * stat()ed at most once per `checkEveryMs` when a connection or request arrives, and re-read when one changed.
 * A file that no longer loads keeps the previous config serving and is reported (log and metric).
 */
export class WebConfigSource {
  private config: WebConfig;
  private stamps: string;
  private lastCheck = 0;
  private lastError: string | undefined;
  private readonly listeners: ((c: WebConfig) => void)[] = [];

  constructor(
    private readonly file: string | undefined,
    private readonly log: Logger,
    private readonly checkEveryMs = 1000,
  ) {
    // At start a bad file is fatal (the caller turns ConfigError into a clear exit); later it is only refused.
    this.config = file === undefined ? NO_WEB_CONFIG : loadWebConfigFile(file);
    this.stamps = stampsOf(this.config.files);
  }

  /** The config in force, re-read first when a file changed and the last look is old enough. */
  current(): WebConfig {
    if (this.file === undefined) return this.config;
    const now = Date.now();
    if (now - this.lastCheck < this.checkEveryMs) return this.config;
    this.lastCheck = now;
    const stamps = stampsOf(this.config.files);
    if (stamps !== this.stamps) this.reload(stamps);
    return this.config;
  }

  /** Called with the new config after each successful re-read (the TLS server swaps its context). */
  onChange(listener: (c: WebConfig) => void): void {
    this.listeners.push(listener);
  }

  /** undefined when the last re-read worked (or none was needed), else why it was refused. */
  reloadError(): string | undefined {
    return this.lastError;
  }

  private reload(stamps: string): void {
    const file = this.file as string;
    try {
      const next = loadWebConfigFile(file);
      // A server listens either with TLS or without; switching needs a new listener, hence a restart.
      if (Boolean(next.tls) !== Boolean(this.config.tls)) {
        throw new Error(
          `${file}: tls_server_config was ${next.tls ? 'added' : 'removed'}; restart mlwatch to switch between HTTP and HTTPS`,
        );
      }
      for (const l of this.listeners) l(next);
      this.config = next;
      this.stamps = stampsOf(next.files);
      if (this.lastError !== undefined) this.log.info({ file }, 'web config reloaded');
      else this.log.info({ file }, 'web config changed and reloaded');
      this.lastError = undefined;
    } catch (err) {
      const reason = err instanceof ConfigError || err instanceof Error ? err.message : String(err);
      // Remember the stamps so a broken file is reported once, not on every request, until it changes again.
      this.stamps = stamps;
      if (reason !== this.lastError) {
        this.log.error({ file, reason }, 'web config refused; the previous one keeps serving');
      }
      this.lastError = reason;
    }
  }
}

/** Size, modification time and inode of each file: what changes when a file is edited or replaced. */
function stampsOf(files: readonly string[]): string {
  return files
    .map((f) => {
      try {
        const s = statSync(f);
        return `${f}:${s.size}:${s.mtimeMs}:${s.ino}`;
      } catch {
        return `${f}:missing`;
      }
    })
    .join('|');
}
