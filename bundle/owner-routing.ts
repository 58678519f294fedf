import type { Layer, Owner, Owners } from './owners-config.js';

/**
 * The owners' part of Alertmanager's routing, from the bundle config's `owners` (docs/alertmanager.md has the
 * routes; alertmanager/src/alertmanager.yml the reasons):
 *
 * - route 0: the hand-off (MlwatchTicketHandedOff, which carries the model owner's team) to the model owner's
 *   receiver, and nowhere else;
 * - route 2: every critical alert to the system owner's receiver, the pager;
 * - route 3: a team's warnings, by its `team` label, to its receiver: one route per team owning the data or the
 *   model layer, so two layers of one team give one route and one notification;
 * - route 4: the business layer's alerts to the business owner's receiver.
 *
 * A layer owned by the system owner's team has no route 3 or 4: its pages reach the pager through route 2 and
 * its warnings are tickets only, as the system layer's. One receiver may serve several of these routes; where two
 * of them could match one alert (a business page on the pager's receiver, a business alert with the team of a
 * route 3 sharing the business receiver) the later route is narrowed, so the receiver gets each alert once.
 */

/** Route 3 for one team. */
export interface WarningRoute {
  team: string;
  receiver: string;
  /** The layers the team owns among data and model, in that order. */
  layers: Layer[];
  /** The receiver is the business owner's too: the business layer's alerts reach it through route 4 only. */
  notBusiness: boolean;
}

/** Route 4. */
export interface BusinessRoute {
  team: string;
  receiver: string;
  /** The receiver is the pager too: the business layer's pages reach it through route 2 only. */
  warningsOnly: boolean;
}

/** A receiver of an owner, with what it gets, in words for the comment above it. */
export interface OwnerReceiver {
  name: string;
  gets: string[];
}

export interface OwnerRouting {
  /** The system owner: route 2's receiver, and the team of the alerts the infrastructure owns. */
  pager: Owner;
  /** The model owner: route 0's receiver and team. */
  handoff: Owner;
  warnings: WarningRoute[];
  /** Undefined when the system owner's team owns the business layer. */
  business: BusinessRoute | undefined;
  /** Layers owned by the system owner's team beyond the system layer: no route 3 or 4. */
  systemOwned: Layer[];
  /** Every receiver an owner has, once, in the order system, data, model, business. */
  receivers: OwnerReceiver[];
}

/** `data and model layers`, `data layer`: layers as the comments name them. */
export const layerList = (layers: readonly Layer[]) =>
  `${layers.join(' and ')} layer${layers.length === 1 ? '' : 's'}`;

export function ownerRouting(owners: Owners): OwnerRouting {
  const pager = owners.system;
  const systemOwned = (['data', 'model', 'business'] as const).filter((l) => owners[l].team === pager.team);
  const business: BusinessRoute | undefined = systemOwned.includes('business')
    ? undefined
    : { ...owners.business, warningsOnly: owners.business.receiver === pager.receiver };

  // One route per team: the config allows a team one receiver only (bundle/owners-config.ts).
  const warnings: WarningRoute[] = [];
  for (const layer of ['data', 'model'] as const) {
    if (systemOwned.includes(layer)) continue;
    const { team, receiver } = owners[layer];
    const route = warnings.find((w) => w.team === team);
    if (route) route.layers.push(layer);
    else warnings.push({ team, receiver, layers: [layer], notBusiness: business?.receiver === receiver });
  }

  const gets = new Map<string, string[]>([[pager.receiver, []]]);
  const add = (receiver: string, what: string) => gets.set(receiver, [...(gets.get(receiver) ?? []), what]);
  add(
    pager.receiver,
    `the paging bridge of team ${pager.team}, the system owner (PagerDuty Events, Opsgenie, a Slack-to-pager ` +
      'relay...): every critical alert, whatever its layer or team',
  );
  if (systemOwned.includes('model'))
    add(pager.receiver, 'the pages handed off to the model owner, its own team (MlwatchTicketHandedOff)');
  for (const w of warnings) {
    const handoff = w.layers.includes('model')
      ? ', and the pages handed off to it (MlwatchTicketHandedOff)'
      : '';
    add(
      w.receiver,
      `the chat bridge of team ${w.team}, owner of the ${layerList(w.layers)}: its warnings${handoff}`,
    );
  }
  if (business)
    add(
      business.receiver,
      `the chat or mail bridge of team ${business.team}, the business owner: the business layer's ` +
        (business.warningsOnly ? 'warnings' : 'warnings and pages'),
    );
  return {
    pager,
    handoff: owners.model,
    warnings,
    business,
    systemOwned,
    receivers: [...gets].map(([name, list]) => ({ name, gets: list })),
  };
}
