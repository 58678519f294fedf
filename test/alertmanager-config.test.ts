import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import {
  AM_CONFIG_FILE,
  AM_SECRET,
  alertmanagerConfigObject,
  parseMatcher,
} from '../bundle/alertmanager-config.js';
import { AM_CONFIG, AMTOOL, amtool, amtoolRoutes, readRoutesTable } from './helpers/alertmanager.js';
import { ROOT } from './helpers/cli.js';
import { documentedSecrets } from './helpers/kubernetes-docs.js';

// deploy/kubernetes/alertmanager-config.yaml (docs/kubernetes.md) against its source, alertmanager/alertmanager.yml:
// the same routing tree and inhibitions read back into Alertmanager's own spelling, every receiver with its URL and
// token by Secret reference only, the Secret documented, and, with amtool, the routing table of
// alertmanager/tests/routes.tsv holding once the operator has put the object under its namespace-matched route.
// That the file is fresh and passes the CRD's schema is test/kubernetes.test.ts' and test/bundle.test.ts' part.

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML; the assertions below give it its shape.
type Obj = any;

const source: Obj = parse(readFileSync(AM_CONFIG, 'utf8'));
// The checked-in file, as kubectl reads it (YAML 1.1).
const object: Obj = parse(readFileSync(join(ROOT, AM_CONFIG_FILE), 'utf8'), { version: '1.1' });
const NAMESPACE: string = parse(
  readFileSync(join(ROOT, 'deploy/kubernetes/kustomization.yaml'), 'utf8'),
).namespace;

// The CRD's fields back in alertmanager.yml's names, written here rather than taken from the converter, so that a
// wrong mapping there shows up as a difference here.
const ROUTE_BACK: Record<string, string> = {
  receiver: 'receiver',
  matchers: 'matchers',
  groupBy: 'group_by',
  groupWait: 'group_wait',
  groupInterval: 'group_interval',
  repeatInterval: 'repeat_interval',
  continue: 'continue',
  routes: 'routes',
};
const matcherText = (m: Obj) => `${m.name}${m.matchType}${JSON.stringify(m.value)}`;
/** alertmanager.yml's matchers with the spaces around the operator dropped, as matcherText writes them. */
const tidy = (m: string) => m.replace(/^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*/, '$1$2');

function routeBack(route: Obj): Obj {
  return Object.fromEntries(
    Object.entries(route).map(([k, v]: [string, Obj]) => [
      ROUTE_BACK[k] ?? `unexpected field ${k}`,
      k === 'matchers' ? v.map(matcherText) : k === 'routes' ? v.map(routeBack) : v,
    ]),
  );
}
function tidyRoute(route: Obj): Obj {
  return {
    ...route,
    ...(route.matchers && { matchers: route.matchers.map(tidy) }),
    ...(route.routes && { routes: route.routes.map(tidyRoute) }),
  };
}

/** Every {name, key} Secret selector in the object, by where it is. */
function secretRefs(node: Obj, path = ''): [string, { name: string; key: string }][] {
  if (Array.isArray(node)) return node.flatMap((v, i) => secretRefs(v, `${path}[${i}]`));
  if (node === null || typeof node !== 'object') return [];
  if (typeof node.name === 'string' && typeof node.key === 'string' && Object.keys(node).length === 2)
    return [[path, node]];
  return Object.entries(node).flatMap(([k, v]) => secretRefs(v, `${path}.${k}`));
}

describe('the AlertmanagerConfig carries the routing of alertmanager.yml', () => {
  it('is the converter applied to alertmanager.yml', () => {
    expect(object).toEqual(alertmanagerConfigObject(readFileSync(AM_CONFIG, 'utf8')));
    expect(object.metadata.labels.release).toBe('kube-prometheus-stack');
  });

  it('has the same routing tree: matchers, receivers, grouping, timing and continue flags', () => {
    const back = routeBack(object.spec.route);
    expect(back).toEqual(tidyRoute(source.route));
    // Not vacuous: the tree has the six routes, some with continue and some with their own grouping.
    expect(back.routes).toHaveLength(6);
    expect(back.routes.filter((r: Obj) => r.continue === true)).toHaveLength(4);
    expect(back.routes.map((r: Obj) => r.group_by).filter(Boolean)).toEqual([
      ['ticket'],
      ['...'],
      ['model', 'dataset'],
    ]);
  });

  it('has the same inhibitions: source and target matchers, equal labels', () => {
    const back = object.spec.inhibitRules.map((r: Obj) => ({
      source_matchers: r.sourceMatch.map(matcherText),
      target_matchers: r.targetMatch.map(matcherText),
      equal: r.equal,
    }));
    expect(back).toEqual(
      source.inhibit_rules.map((r: Obj) => ({
        source_matchers: r.source_matchers.map(tidy),
        target_matchers: r.target_matchers.map(tidy),
        equal: r.equal,
      })),
    );
    expect(back).toHaveLength(4);
  });

  it("has every receiver, its webhooks' URL and the webhook token from the Secret, nothing inline", () => {
    expect(object.spec.receivers.map((r: Obj) => r.name)).toEqual(source.receivers.map((r: Obj) => r.name));
    let withToken = 0;
    for (const from of source.receivers) {
      const to = object.spec.receivers.find((r: Obj) => r.name === from.name);
      if (!from.webhook_configs) {
        expect(to, from.name).toEqual({ name: from.name });
        continue;
      }
      expect(to.webhookConfigs, from.name).toHaveLength(from.webhook_configs.length);
      from.webhook_configs.forEach((hook: Obj, i: number) => {
        const crd = to.webhookConfigs[i];
        expect(crd.url, from.name).toBeUndefined();
        // The key is the name of the file alertmanager.yml reads the URL from, `<receiver>-url`, as the Secret
        // docs/kubernetes.md creates has it.
        expect(basename(hook.url_file), from.name).toBe(`${from.name}-url`);
        expect(crd.urlSecret, from.name).toEqual({ name: AM_SECRET, key: `${from.name}-url` });
        expect(crd.sendResolved, from.name).toBe(hook.send_resolved);
        expect(crd.maxAlerts, from.name).toBe(hook.max_alerts);
        const file = hook.http_config?.authorization?.credentials_file;
        if (file === undefined) {
          expect(crd.httpConfig, from.name).toBeUndefined();
          return;
        }
        withToken++;
        expect(crd.httpConfig, from.name).toEqual({
          authorization: { type: 'Bearer', credentials: { name: AM_SECRET, key: basename(file) } },
        });
      });
    }
    expect(withToken).toBe(2); // ticketing and retraining: mlwatch's own endpoints need the token
    // No address, path or credential is written into the object itself.
    const text = JSON.stringify(object);
    expect(text).not.toMatch(/:\/\/|\/run\/secrets|credentials_file|"url"/);
  });

  it('reads only keys of one Secret, which docs/kubernetes.md creates, all of them', () => {
    const refs = secretRefs(object.spec);
    expect(refs.length).toBe(7); // five URLs, the token twice
    expect(new Set(refs.map(([, r]) => r.name))).toEqual(new Set([AM_SECRET]));
    const documented = documentedSecrets().get(AM_SECRET);
    expect(documented, `kubectl create secret generic ${AM_SECRET} in docs/kubernetes.md`).toBeDefined();
    expect([...(documented ?? [])].sort()).toEqual([...new Set(refs.map(([, r]) => r.key))].sort());
  });
});

describe('the converter', () => {
  it('reads matchers as Alertmanager does, quoted or bare', () => {
    expect(parseMatcher('severity=~"warning|critical"', 'm')).toEqual({
      name: 'severity',
      value: 'warning|critical',
      matchType: '=~',
    });
    expect(parseMatcher(' alertname != "a\\"b" ', 'm')).toEqual({
      name: 'alertname',
      value: 'a"b',
      matchType: '!=',
    });
    expect(parseMatcher('team=platform', 'm')).toEqual({ name: 'team', value: 'platform', matchType: '=' });
    expect(() => parseMatcher('{team="platform"}', 'route.matchers[0]')).toThrow(
      /route\.matchers\[0\]: matcher/,
    );
  });

  it('refuses what it cannot carry over rather than dropping it', () => {
    const refused = (text: string) => () => alertmanagerConfigObject(text);
    expect(refused('route: {receiver: a, match: {x: y}}\nreceivers: [{name: a}]\n')).toThrow(
      /alertmanager\.yml: route\.match: no AlertmanagerConfig field/,
    );
    expect(refused('route: {receiver: a}\nreceivers: [{name: a, slack_configs: [{channel: x}]}]\n')).toThrow(
      /receivers\[0\]: slack_configs: not a webhook/,
    );
    expect(
      refused(
        'route: {receiver: a}\nreceivers: [{name: a, webhook_configs: [{url_file: /s/x}, {url_file: /s/y}]}]\n',
      ),
    ).toThrow(/receivers\[0\]\.webhook_configs: expected exactly one webhook/);
    expect(
      refused(
        'route: {receiver: a}\nreceivers: [{name: a, webhook_configs: [{url_file: /s/x, http_config: {basic_auth: {username: u}}}]}]\n',
      ),
    ).toThrow(/http_config: only authorization\.credentials_file converts \(found basic_auth\)/);
    expect(refused('route: {receiver: a}\nreceivers: [{name: a}]\ntime_intervals: []\n')).toThrow(
      /time_intervals: not converted/,
    );
    // An inline URL would be dropped for a Secret key nobody named; a file name kubectl cannot make a key of.
    expect(
      refused('route: {receiver: a}\nreceivers: [{name: a, webhook_configs: [{url: "http://x/"}]}]\n'),
    ).toThrow(/receivers\[0\]\.webhook_configs\[0\]\.url: an inline URL; read it from a file with url_file/);
    expect(
      refused('route: {receiver: a}\nreceivers: [{name: a, webhook_configs: [{url_file: "/s/a url"}]}]\n'),
    ).toThrow(/webhook_configs\[0\]\.url_file: "\/s\/a url": its name is not a valid Secret key/);
  });
});

// What prometheus-operator makes of the object (its documented behaviour, modelled here): the object's route becomes
// a first-level route of the Alertmanager's own tree, its matchers on `namespace` replaced by the object's
// namespace, `continue: true` forced, and every receiver renamed <namespace>/<name>/<receiver>. The stack's root
// receiver stands for where everything else goes.
const STACK_DEFAULT = 'stack-default';
function operatorConfig(): { file: string; prefix: string; dir: string } {
  const prefix = `${NAMESPACE}/${object.metadata.name}/`;
  const rename = (route: Obj): Obj => ({
    ...route,
    ...(route.receiver && { receiver: prefix + route.receiver }),
    ...(route.routes && { routes: route.routes.map(rename) }),
  });
  const top = rename(routeBack(object.spec.route));
  top.matchers = [
    ...(top.matchers ?? []).filter((m: string) => !m.startsWith('namespace')),
    `namespace="${NAMESPACE}"`,
  ];
  top.continue = true;
  const config = {
    route: { receiver: STACK_DEFAULT, routes: [top] },
    receivers: [
      { name: STACK_DEFAULT },
      ...object.spec.receivers.map((r: Obj) => ({ name: prefix + r.name })),
    ],
  };
  const dir = mkdtempSync(join(tmpdir(), 'mlwatch-amconfig-'));
  const file = join(dir, 'alertmanager.yml');
  writeFileSync(file, stringify(config));
  return { file, prefix, dir };
}

describe.skipIf(!AMTOOL)(
  'routed through the operator (amtool 0.28; install: scripts/install-prometheus3.sh)',
  () => {
    const { file, prefix, dir } = AMTOOL ? operatorConfig() : { file: '', prefix: '', dir: '' };
    afterAll(() => {
      if (dir) rmSync(dir, { recursive: true, force: true });
    });
    const route = (labels: string[], receivers: string) => amtoolRoutes(file, receivers, labels);

    it('amtool accepts the operator-shaped config', () => {
      const r = amtool(['check-config', file]);
      expect(r.code, `${r.stdout}${r.stderr}`).toBe(0);
    });

    // Every alert of the bundle keeps the namespace of its target (the ServiceMonitor's, which kustomize puts in the
    // AlertmanagerConfig's namespace), so it meets the operator's matcher and is routed as in the compose stack.
    const rows = AMTOOL ? readRoutesTable() : [];
    it.each(rows.map((r) => [`routes.tsv:${r.line} ${r.why}`, r] as const))(
      '%s, with namespace',
      (_n, row) => {
        const expected = row.receivers
          .split(',')
          .map((r) => prefix + r)
          .join(',');
        const r = route([...row.labels, `namespace=${NAMESPACE}`], expected);
        expect({ code: r.code, receivers: r.stdout.trim() }).toEqual({ code: 0, receivers: expected });
      },
    );

    it('an alert without the namespace, or of another, goes past the bundle to the stack (MlwatchExporterAbsent)', () => {
      const absent = rows.find((r) => r.labels.includes('alertname=MlwatchExporterAbsent'));
      expect(absent?.labels.some((l) => l.startsWith('namespace='))).toBe(false);
      for (const labels of [absent?.labels ?? [], [...(absent?.labels ?? []), 'namespace=elsewhere']]) {
        const r = route(labels, STACK_DEFAULT);
        expect({ code: r.code, receivers: r.stdout.trim() }).toEqual({ code: 0, receivers: STACK_DEFAULT });
      }
    });
  },
);
