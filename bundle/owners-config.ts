import { parse } from 'yaml';
import { z } from 'zod';
import { LABEL_VALUE } from './label-value.js';

/**
 * `owners` of the bundle config: who owns each layer's alerts (the `team` label the rules set) and which
 * Alertmanager receiver each owner's alerts reach (bundle/owner-routing.ts turns them into routes). The defaults
 * are the compose stack's: platform holds the pager and owns the system layer, data science the data and model
 * layers, the business analysts the KPIs.
 *
 * Alerts are routed by their `team` label, so a team has exactly one receiver: two receivers for one team could
 * not be told apart (a model warning and a data warning of that team carry the same team), and the system
 * owner's team is routed as the system layer wherever it owns alerts (pages to its receiver, warnings as tickets
 * only). One receiver may serve several teams: routes of different teams match different alerts, and the
 * renderer keeps the routes to one receiver from matching the same alert twice.
 */

export const LAYERS = ['system', 'data', 'model', 'business'] as const;
export type Layer = (typeof LAYERS)[number];

export interface Owner {
  team: string;
  receiver: string;
}

export const DEFAULT_OWNERS: Readonly<Record<Layer, Readonly<Owner>>> = {
  system: { team: 'platform', receiver: 'platform-oncall' },
  data: { team: 'data-science', receiver: 'data-science' },
  model: { team: 'data-science', receiver: 'data-science' },
  business: { team: 'business', receiver: 'business-analysts' },
};

/**
 * The value YAML reads from the text written unquoted, as the rules (`team: x`) and alertmanager.yml
 * (`receiver: x`) write it: YAML 1.2 (the bundle's parser, Prometheus) and 1.1 (Alertmanager's, where `yes` and
 * `on` are booleans too). A value that is not text there would be a boolean, a number or nothing.
 */
function unquotedReadsAs(value: string): string | undefined {
  for (const version of ['1.2', '1.1'] as const) {
    const read: unknown = parse(value, { version });
    if (typeof read !== 'string') return read === null ? 'nothing (null)' : `a ${typeof read}`;
  }
  return undefined;
}

/**
 * The receivers mlwatch's own routes use: the root default that notifies no one, and its ticket and retrain
 * endpoints. An owner's alerts sent there would reach mlwatch instead of people, and the owner's receiver
 * would replace mlwatch's webhook and its token.
 */
const RESERVED_RECEIVERS: ReadonlyMap<string, string> = new Map([
  ['null', 'the root default of alertmanager.yml, which notifies no one'],
  ['ticketing', "mlwatch's ticket log endpoint, which gets every warning and critical alert already"],
  ['retraining', "mlwatch's retrain endpoint"],
]);

/**
 * The exporter counts a ticket's team under `other` in mlwatch_tickets unless it knows it, and refuses `other`
 * in state.ticket_labels.team: a team named so could never be told from the unknown ones.
 */
const OTHER = 'other';

const team = (fallback: string) =>
  z
    .string({ error: 'expected a team name, such as data-science or ml' })
    .superRefine((v, ctx) => {
      const yaml = unquotedReadsAs(v);
      const why = !LABEL_VALUE.test(v)
        ? 'is not a label value the rules can write unquoted: letters, digits, and _ . : - (such as data-science)'
        : yaml !== undefined
          ? `reads as ${yaml} in YAML, where the rules write it unquoted (team: ${v}); pick a name such as ml-team`
          : v === OTHER
            ? 'is where mlwatch_tickets counts the teams it does not know; pick another name'
            : undefined;
      if (why !== undefined) ctx.addIssue({ code: 'custom', message: `${JSON.stringify(v)} ${why}` });
    })
    .default(fallback);

// A Secret key (`<receiver>-url`) has at most 253 characters.
const RECEIVER_MAX = 249;

const receiver = (fallback: string) =>
  z
    .string({
      error: (iss) =>
        iss.input === null
          ? 'null is no name in YAML: write the receiver of this owner, such as ml-chat ("null" is also the receiver of alertmanager.yml that notifies no one, which no owner may have)'
          : 'expected an Alertmanager receiver name, such as ml-chat',
    })
    .superRefine((v, ctx) => {
      const yaml = unquotedReadsAs(v);
      const why = !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(v)
        ? // No ':' unlike a team: the name is also the file /run/secrets/mlwatch-alertmanager/<receiver>-url and
          // the Kubernetes Secret key <receiver>-url, which allows letters, digits and - _ . only.
          'is not a receiver name: letters, digits, and _ . - (such as ml-chat); it names the URL file and Secret key <receiver>-url'
        : v.length > RECEIVER_MAX
          ? `is too long: at most ${RECEIVER_MAX} characters, so that the Secret key <receiver>-url has at most 253`
          : RESERVED_RECEIVERS.has(v)
            ? `is mlwatch's own receiver (${RESERVED_RECEIVERS.get(v)}); give the owner a receiver of its own, such as ml-chat`
            : yaml !== undefined
              ? `reads as ${yaml} in YAML, where alertmanager.yml writes it unquoted; pick a name such as ml-chat`
              : undefined;
      if (why !== undefined) ctx.addIssue({ code: 'custom', message: `${JSON.stringify(v)} ${why}` });
    })
    .default(fallback);

/** A message for a value of the wrong type only; unknown keys keep the config's "did you mean" messages. */
const typeError = (message: string) => ({
  error: (iss: { code?: string }) => (iss.code === 'invalid_type' ? message : undefined),
});

const owner = (layer: Layer) =>
  z
    .strictObject(
      { team: team(DEFAULT_OWNERS[layer].team), receiver: receiver(DEFAULT_OWNERS[layer].receiver) },
      typeError(
        `expected a mapping such as { team: ${DEFAULT_OWNERS[layer].team}, receiver: ${DEFAULT_OWNERS[layer].receiver} }`,
      ),
    )
    .prefault({});

/**
 * One team, one receiver (see the top of this file): the first layer naming a team sets its receiver. Checked once
 * every value is valid: a receiver refused already needs no second message.
 */
function oneReceiverPerTeam(payload: z.core.ParsePayload<Record<Layer, Owner>>): void {
  if (payload.issues.length > 0) return;
  const owners = payload.value;
  const first = new Map<string, Layer>();
  for (const layer of LAYERS) {
    const { team, receiver } = owners[layer];
    const earlier = first.get(team);
    if (earlier === undefined) {
      first.set(team, layer);
      continue;
    }
    const theirs = owners[earlier].receiver;
    if (theirs === receiver) continue;
    const system =
      earlier === 'system'
        ? ` ${team} is the system owner's team, which holds the pager: the alerts of a layer it owns page ${theirs} and are tickets otherwise.`
        : '';
    payload.issues.push({
      code: 'custom',
      input: receiver,
      path: [layer, 'receiver'],
      message:
        `team ${team} has the receiver ${theirs} already (owners.${earlier}), and Alertmanager routes an alert by ` +
        `its team label, so one team has one receiver.${system} Write receiver: ${theirs} here, or give ` +
        `owners.${layer} a team of its own`,
    });
  }
}

export const ownersSchema = z
  .strictObject(
    {
      system: owner('system'),
      data: owner('data'),
      model: owner('model'),
      business: owner('business'),
    },
    typeError('expected a mapping with system, data, model and business, each { team, receiver }'),
  )
  .check(oneReceiverPerTeam)
  .prefault({});

export type Owners = z.infer<typeof ownersSchema>;
