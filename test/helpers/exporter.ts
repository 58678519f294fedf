import pino, { type Logger } from 'pino';
import { loadConfigText } from '../../src/config/load.js';
import { Exporter } from '../../src/runtime/exporter.js';
import type { TestDb } from './db.js';
import { type Parsed, parseExposition } from './exposition.js';

/** A logger that keeps its JSON lines in memory, so tests can assert what was logged. */
export function memoryLogger(): { log: Logger; lines: () => Record<string, unknown>[] } {
  const out: string[] = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void out.push(s) });
  return { log, lines: () => out.map((l) => JSON.parse(l)) };
}

/** An in-process exporter on the test database with the given `queries:` YAML (indented two spaces). */
export function startExporter(db: TestDb, queriesYaml: string, extra = '') {
  const text = `warehouse:\n  url: ${db.configUrl}\n  statement_timeout: 10s\n${extra}queries:\n${queriesYaml}`;
  const config = loadConfigText(text, 'test.yaml', {}, '/');
  const logger = memoryLogger();
  const exporter = Exporter.start(config, {
    log: logger.log,
    openWarehouse: () => db.newWarehouse(),
    withProcessMetrics: false,
  });
  return {
    exporter,
    logs: logger.lines,
    async scrape(): Promise<Parsed> {
      return parseExposition(await exporter.metricsText());
    },
  };
}

/** An in-process exporter of a whole config text on the test database (its own warehouse handle). */
export function exporterOn(db: TestDb, configText: string): Exporter {
  return Exporter.start(loadConfigText(configText, 'test.yaml', {}, '/'), {
    log: memoryLogger().log,
    openWarehouse: () => db.newWarehouse(),
    withProcessMetrics: false,
  });
}

/**
 * Loads a whole config text, runs every check once on the test database in-process, and returns the parsed
 * exposition: what most check tests assert on.
 */
export async function scrapeOnce(db: TestDb, configText: string): Promise<Parsed> {
  const exporter = exporterOn(db, configText);
  try {
    await exporter.firstRound();
    return parseExposition(await exporter.metricsText());
  } finally {
    await exporter.stop(1000);
  }
}
