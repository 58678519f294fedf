import { type CatalogEntry, family } from '../../metrics/family.js';

/** The system layer for serving: latency and errors, one statement per request log. */
export const servingFamilies = {
  servingLatency: family(
    'system',
    'mlwatch_serving_latency_seconds',
    'gauge',
    ['service_name', 'window', 'percentile'],
    'Request latency in seconds at the percentile (50, 95, 99; percentile_cont) over requests in the window. Not exported for an empty window.',
  ),
  servingRequests: family(
    'system',
    'mlwatch_serving_requests',
    'gauge',
    ['service_name', 'window'],
    'Requests logged in the window.',
  ),
  servingErrors: family(
    'system',
    'mlwatch_serving_errors',
    'gauge',
    ['service_name', 'window'],
    'Requests in the window whose status counts as an error (by default 5xx).',
  ),
  servingSlowRatio: family(
    'system',
    'mlwatch_serving_slow_ratio',
    'gauge',
    ['service_name', 'window'],
    'Share of requests in the window slower than the latency objective (0..1). Not exported for an empty window.',
  ),
  servingLatencyObjective: family(
    'system',
    'mlwatch_serving_latency_objective_seconds',
    'gauge',
    ['service_name'],
    'The latency objective configured for the service, in seconds, so rules and dashboards draw the same line.',
  ),
} as const satisfies Record<string, CatalogEntry>;
