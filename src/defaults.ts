/**
 * The default HTTP port. Prometheus' default port allocations list has run past 9100-9999; exporters
 * registered since then take ports from 10000 up, and 10027 was the next unlisted one. See docs/architecture.md.
 */
export const DEFAULT_PORT = 10027;
