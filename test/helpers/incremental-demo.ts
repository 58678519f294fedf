/**
 * The demo's config with its multiclass model, risk_tier, incremental: rows for the exporter dashboard's
 * incremental checks table, in the tests that want every panel to show data (the live stack,
 * test/dashboard-replicas.test.ts). The demo itself keeps every check full: its incidents rewrite rows in
 * place, which an incremental check sees only at its next full recomputation. risk_tier reads the credit
 * model's tables through views, so those incidents rewrite its rows too; no test reads its values, and with
 * full_interval a day no recomputation runs within a test to disagree and open a ticket the tests do not expect.
 */
export function withIncrementalModel<C extends { models: Record<string, unknown>[] }>(config: C): C {
  const model = config.models.find((m) => m.name === 'risk_tier');
  if (model === undefined) throw new Error('the demo config has no model risk_tier to make incremental');
  model.incremental = { full_interval: '1d' };
  return config;
}
