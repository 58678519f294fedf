/**
 * The demo's config with its multiclass model, risk_tier, incremental: rows for the exporter dashboard's
 * incremental checks table, in the tests that want every panel to show data (the live stack,
 * test/dashboard-replicas.test.ts). The demo itself keeps every check full: its incidents rewrite rows in
 * place, which an incremental check sees only at its next full recomputation. risk_tier because no test follows
 * its values through an incident.
 */
export function withIncrementalModel<C extends { models: Record<string, unknown>[] }>(config: C): C {
  const model = config.models.find((m) => m.name === 'risk_tier');
  if (model === undefined) throw new Error('the demo config has no model risk_tier to make incremental');
  model.incremental = {};
  return config;
}
