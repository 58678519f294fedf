import { type CatalogEntry, family } from '../../metrics/family.js';

/** The business layer: KPIs for the current window and the same window in each of the last weeks (baseline). */
export const kpiFamilies = {
  kpiValue: family(
    'business',
    'mlwatch_kpi_value',
    'gauge',
    ['kpi', 'window'],
    'The KPI over [now - window, now). Not exported when it is undefined (a ratio with no rows, a NULL result).',
  ),
  kpiBaseline: family(
    'business',
    'mlwatch_kpi_baseline',
    'gauge',
    ['kpi', 'window'],
    'The median of the KPI over the same window shifted back 1, 2, ... baseline.weeks whole weeks (default 4; same hours, same weekday), computed in the warehouse. Not exported when no such week has a value.',
  ),
  kpiVolume: family(
    'business',
    'mlwatch_kpi_volume',
    'gauge',
    ['kpi', 'window', 'period'],
    'Rows behind the KPI (the ratio\'s denominator): period="current", or period="baseline" for the median volume of the weeks behind the baseline.',
  ),
  kpiStandardError: family(
    'business',
    'mlwatch_kpi_standard_error',
    'gauge',
    ['kpi', 'window'],
    "Standard error of the KPI minus its baseline, in the KPI's unit: the sampling noise of the current window and of the baseline weeks (for a ratio from its counts; for an SQL KPI from its volume and stddev columns). value + z * this is the upper confidence bound the drop alert compares with the baseline.",
  ),
  kpiInfo: family(
    'business',
    'mlwatch_kpi_info',
    'gauge',
    ['kpi', 'dataset'],
    'Always 1 for each configured KPI; dataset names the dataset the KPI is computed from (absent when not configured), so rules can join it and a stale dataset silences its KPI alerts.',
  ),
} as const satisfies Record<string, CatalogEntry>;
