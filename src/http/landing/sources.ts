import { type ActionSources, type ActionsView, actionCounts, actionLists } from './actions-data.js';
import { type AlertsView, PrometheusAlerts } from './prometheus-alerts.js';

/** The landing page as the viewer role sees it: the guard asks a browser for its basic-auth password. */
export const SIGN_IN = '/?as=viewer';

/** What the landing page shows beyond the checks: Prometheus' firing alerts and the actions. */
export interface LandingExtras {
  alerts: AlertsView;
  actions: ActionsView;
}

/**
 * Gathers a page's extras, each bounded in time (Prometheus ALERTS_TIMEOUT_MS, the lists LIST_TIMEOUT_MS, both at
 * once), so the page answers within about two seconds whatever is down.
 */
export class LandingSources {
  private readonly alerts: PrometheusAlerts;

  constructor(
    private readonly actions: ActionSources,
    alerts?: PrometheusAlerts,
  ) {
    this.alerts = alerts ?? new PrometheusAlerts();
  }

  /**
   * `prometheusUrl`: the config's report.prometheus_url (read per page, so a reload applies); `viewer`: whether
   * the request holds the viewer role, which the lists need.
   */
  async gather(o: {
    prometheusUrl: string | undefined;
    viewer: boolean;
    /** Whether to offer the sign-in link (`/?as=viewer`): no role yet, and a browser can be asked for one. */
    signIn?: boolean;
  }): Promise<LandingExtras> {
    const [alerts, counts, lists] = await Promise.all([
      this.alerts.read(o.prometheusUrl),
      actionCounts(this.actions.registry),
      o.viewer ? actionLists(this.actions) : undefined,
    ]);
    return {
      alerts,
      actions: {
        counts,
        ...(lists !== undefined ? { lists } : {}),
        ...(o.signIn ? { signIn: SIGN_IN } : {}),
      },
    };
  }
}
