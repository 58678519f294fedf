import { basename } from 'node:path';
import { parse } from 'yaml';
import { OUT_DIR, RELEASE, yamlOf } from '../scripts/gen-kubernetes.js';
import type { GeneratedFile } from './files.js';

/**
 * deploy/kubernetes/alertmanager-config.yaml: the ownership routing of alertmanager/alertmanager.yml (routes,
 * grouping and timing, inhibitions, receivers) as prometheus-operator's AlertmanagerConfig (monitoring.coreos.com/
 * v1alpha1), so kube-prometheus-stack's Alertmanager routes mlwatch's alerts as the compose stack's does. One
 * source of routing: this converts that file, as rendered for the bundle config's owners and keep_labels
 * (bundle/alertmanager.ts; the text, not the file on disk, so a render of one's own converts its own routing),
 * rather than restating it, and refuses what it cannot convert faithfully instead of dropping it. Every webhook URL and the webhook token come from the Secret AM_SECRET
 * (urlSecret, httpConfig.authorization.credentials), each under the name of the file alertmanager.yml reads it
 * from (url_file, credentials_file); nothing secret is written into the object.
 */

export const AM_SOURCE = 'alertmanager/alertmanager.yml';
export const AM_CONFIG_FILE = `${OUT_DIR}/alertmanager-config.yaml`;
/** The Secret, in the AlertmanagerConfig's namespace, the operator reads the URLs and the token from. */
export const AM_SECRET = 'mlwatch-alertmanager';

/**
 * The Secret key holding what a file of alertmanager.yml holds: the file's name. A webhook's `url_file`
 * /run/secrets/mlwatch-alertmanager/ticketing-url is the key ticketing-url, the `credentials_file`
 * /run/secrets/mlwatch-webhook-token the key mlwatch-webhook-token: the Secret, mounted as a directory, is the
 * layout alertmanager.yml reads, and two files cannot share a key.
 */
export function secretKey(file: string, path: string): string {
  const key = basename(file);
  // Kubernetes' rule for a Secret's keys; a file name outside it could not be created with kubectl.
  if (!/^[-._a-zA-Z0-9]+$/.test(key) || key === '.' || key === '..') {
    throw new Unconvertible(path, `${JSON.stringify(file)}: its name is not a valid Secret key`);
  }
  return key;
}

type Yaml = Record<string, unknown>;
export interface Matcher {
  name: string;
  value: string;
  matchType: '=' | '!=' | '=~' | '!~';
}

class Unconvertible extends Error {
  constructor(path: string, what: string) {
    super(
      `${AM_SOURCE}: ${path}: ${what}; bundle/alertmanager-config.ts cannot convert it to an AlertmanagerConfig`,
    );
  }
}

// Alertmanager's matcher syntax as alertmanager.yml writes it: a label name, an operator, a value in double
// quotes (JSON's escapes: \" \\ \n) or bare. `{...}` lists and other spellings are refused, not guessed at.
const MATCHER = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(?:"((?:[^"\\]|\\.)*)"|([^\s"{},]*))\s*$/;

export function parseMatcher(text: string, path: string): Matcher {
  const m = MATCHER.exec(text);
  if (!m) throw new Unconvertible(path, `matcher ${JSON.stringify(text)} is not name<op>"value"`);
  const value = m[3] !== undefined ? (JSON.parse(`"${m[3]}"`) as string) : (m[4] as string);
  return { name: m[1] as string, value, matchType: m[2] as Matcher['matchType'] };
}

const matchers = (list: unknown, path: string): Matcher[] => {
  if (!Array.isArray(list)) throw new Unconvertible(path, 'expected a list of matchers');
  return list.map((m, i) => parseMatcher(String(m), `${path}[${i}]`));
};

/** Each key of a route the CRD has, by its camelCase name; anything else (match, match_re, time intervals) is refused. */
const ROUTE_KEYS: Record<string, string> = {
  receiver: 'receiver',
  matchers: 'matchers',
  group_by: 'groupBy',
  group_wait: 'groupWait',
  group_interval: 'groupInterval',
  repeat_interval: 'repeatInterval',
  continue: 'continue',
  routes: 'routes',
};

export function convertRoute(route: Yaml, path: string): Yaml {
  const out: Yaml = {};
  for (const [key, value] of Object.entries(route)) {
    const name = ROUTE_KEYS[key];
    if (name === undefined) throw new Unconvertible(`${path}.${key}`, 'no AlertmanagerConfig field for it');
    if (key === 'matchers') out[name] = matchers(value, `${path}.matchers`);
    else if (key === 'routes')
      out[name] = (value as Yaml[]).map((r, i) => convertRoute(r, `${path}.routes[${i}]`));
    else out[name] = value;
  }
  return out;
}

function convertInhibitRule(rule: Yaml, path: string): Yaml {
  const out: Yaml = {};
  for (const [key, value] of Object.entries(rule)) {
    if (key === 'source_matchers') out.sourceMatch = matchers(value, `${path}.${key}`);
    else if (key === 'target_matchers') out.targetMatch = matchers(value, `${path}.${key}`);
    else if (key === 'equal') out.equal = value;
    else throw new Unconvertible(`${path}.${key}`, 'only source_matchers, target_matchers and equal convert');
  }
  return out;
}

const secretRef = (key: string) => ({ name: AM_SECRET, key });

function convertWebhook(hook: Yaml, path: string): Yaml {
  const out: Yaml = {};
  for (const [key, value] of Object.entries(hook)) {
    // The file's name is the Secret key, so the cluster's URL is the one its Secret holds under that name.
    if (key === 'url_file') out.urlSecret = secretRef(secretKey(String(value), `${path}.url_file`));
    else if (key === 'url')
      // An address written in alertmanager.yml would be the same in every cluster, or silently replaced here.
      throw new Unconvertible(`${path}.url`, 'an inline URL; read it from a file with url_file');
    else if (key === 'send_resolved') out.sendResolved = value;
    else if (key === 'max_alerts') out.maxAlerts = value;
    else if (key === 'http_config') out.httpConfig = convertHttpConfig(value as Yaml, `${path}.http_config`);
    else throw new Unconvertible(`${path}.${key}`, 'not a webhook field this converter knows');
  }
  if (out.urlSecret === undefined) throw new Unconvertible(path, 'a webhook without url_file');
  return out;
}

function convertHttpConfig(http: Yaml, path: string): Yaml {
  const { authorization, ...rest } = http;
  const auth = (authorization ?? {}) as Yaml;
  const { type, credentials_file: file, ...authRest } = auth;
  const extra = [...Object.keys(rest), ...Object.keys(authRest).map((k) => `authorization.${k}`)];
  if (extra.length > 0 || typeof file !== 'string')
    throw new Unconvertible(path, `only authorization.credentials_file converts (found ${extra.join(', ')})`);
  return {
    authorization: {
      type: type ?? 'Bearer',
      credentials: secretRef(secretKey(file, `${path}.authorization.credentials_file`)),
    },
  };
}

function convertReceiver(receiver: Yaml, path: string): Yaml {
  const { name, webhook_configs: hooks, ...rest } = receiver;
  if (Object.keys(rest).length > 0)
    throw new Unconvertible(path, `${Object.keys(rest).join(', ')}: not a webhook`);
  if (hooks === undefined) return { name }; // `null`: the receiver that notifies no one
  const list = hooks as Yaml[];
  // One webhook per receiver, as alertmanager.yml has: docs/kubernetes.md's Secret has one URL key per receiver.
  if (list.length !== 1) throw new Unconvertible(`${path}.webhook_configs`, 'expected exactly one webhook');
  return {
    name,
    webhookConfigs: list.map((h, i) => convertWebhook(h, `${path}.webhook_configs[${i}]`)),
  };
}

/** The AlertmanagerConfig object for an alertmanager.yml's text. */
export function alertmanagerConfigObject(text: string): Yaml {
  const { route, inhibit_rules: inhibit, receivers, global, templates, ...rest } = parse(text) as Yaml;
  // `global` (resolve_timeout) and `templates` belong to the Alertmanager the stack runs, not to a route of it; the
  // webhooks use no template. Anything else (time intervals) is not handled yet: refuse rather than drop it.
  void global;
  void templates;
  if (Object.keys(rest).length > 0) throw new Unconvertible(Object.keys(rest).join(', '), 'not converted');
  return {
    apiVersion: 'monitoring.coreos.com/v1alpha1',
    kind: 'AlertmanagerConfig',
    metadata: {
      name: 'mlwatch',
      labels: {
        'app.kubernetes.io/name': 'mlwatch',
        'app.kubernetes.io/component': 'alerting',
        // kube-prometheus-stack's Alertmanager selects every AlertmanagerConfig by default; the release label is
        // for a selector written like its Prometheus' (docs/kubernetes.md).
        release: RELEASE,
      },
    },
    spec: {
      route: convertRoute(route as Yaml, 'route'),
      receivers: (receivers as Yaml[]).map((r, i) => convertReceiver(r, `receivers[${i}]`)),
      inhibitRules: ((inhibit ?? []) as Yaml[]).map((r, i) => convertInhibitRule(r, `inhibit_rules[${i}]`)),
    },
  };
}

const HEADER =
  `# Generated by \`npm run bundle\` (bundle/alertmanager-config.ts) from ${AM_SOURCE} as\n` +
  '# rendered with the bundle config. Do not edit: change the routing in alertmanager/src/alertmanager.yml (or\n' +
  "# the owners in the bundle config) and run it again. The Secret keys it reads, and how the operator's\n" +
  '# namespace matcher meets the alerts: docs/kubernetes.md.\n';

/** The AlertmanagerConfig of an alertmanager.yml's text: the one just rendered (bundle/render.ts). */
export function renderAlertmanagerConfig(alertmanagerYml: string): GeneratedFile {
  return { file: AM_CONFIG_FILE, text: HEADER + yamlOf(alertmanagerConfigObject(alertmanagerYml)) };
}
