import { type BundleConfig, DEFAULT_BUNDLE_CONFIG } from '../../bundle/config.js';

/**
 * The bundle config the dashboards are being built with (the scrape job, the runbook base): the defaults unless
 * `buildDashboards` is given another.
 *
 * Scoped to one synchronous build rather than passed as an argument: runbook links are made deep inside the panel
 * helpers (panels.ts), from every panel's `runbooks`, and threading the config through each panel spec would
 * touch every panel of every dashboard for two strings. `withBundleConfig` restores the previous value even when
 * a build throws, so a build never leaks its config into the next.
 */

let current: BundleConfig = DEFAULT_BUNDLE_CONFIG;

export function bundleConfig(): BundleConfig {
  return current;
}

export function withBundleConfig<T>(config: BundleConfig, build: () => T): T {
  const previous = current;
  current = config;
  try {
    return build();
  } finally {
    current = previous;
  }
}

/** The matcher that selects the exporters' own series (`up`, process and Node.js metrics). */
export function jobMatcher(): string {
  return `job="${current.job}"`;
}
