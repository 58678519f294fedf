import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AlertmanagerConfig } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1alpha1';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { renderAlertmanagerText } from '../bundle/alertmanager.js';
import { alertmanagerConfigObject } from '../bundle/alertmanager-config.js';
import { type BundleConfig, DEFAULT_BUNDLE_CONFIG } from '../bundle/config.js';
import { writeFiles } from '../bundle/files.js';
import { parseBundleConfig } from '../bundle/load.js';
import { renderBundle } from '../bundle/render.js';
import { renderRuleText } from '../bundle/rules.js';
import { ALERT_TEAMS } from '../src/actions/tickets/ticket-labels.js';
import { AMTOOL, amtool, amtoolRoutes, INSTALL_CURRENT } from './helpers/alertmanager.js';
import { bundleProblems } from './helpers/bundle-config.js';
import { ROOT } from './helpers/cli.js';
import { toolOnPath } from './helpers/tools.js';

// The bundle config's owners (issue 16, docs/bundle.md, "Owners and receivers"): who owns each layer's alerts
// (their `team` label) and which Alertmanager receiver each owner's alerts reach. A render of one's own gives the
// rules its teams, alertmanager.yml its receivers and routes, the inhibitions its kept labels and the
// AlertmanagerConfig its receivers and Secret keys; amtool 0.28 routes the rules' own alerts to exactly the
// receivers the semantics say, each once. The defaults' render is test/bundle.test.ts' (checked-in files) and
// test/alertmanager.test.ts' (alertmanager/tests/routes.tsv).

const promtool = toolOnPath('promtool');
const NO_AMTOOL = AMTOOL ? '' : ` [skipped: no amtool 0.28 in .cache/prometheus-current; ${INSTALL_CURRENT}]`;
const TSX = join(ROOT, 'node_modules/.bin/tsx');

const config = (yaml: string): BundleConfig => parseBundleConfig(yaml, 'my-bundle.yaml');

type Labels = Record<string, string>;
interface Rule {
  alert?: string;
  labels?: Labels;
}

/** A render of `bundle` into `dir`, as `npm run bundle -- --config --out dir` writes it. */
class Rendered {
  constructor(readonly dir: string) {}
  get alertmanagerFile() {
    return join(this.dir, 'alertmanager/alertmanager.yml');
  }
  text(file: string) {
    return readFileSync(join(this.dir, file), 'utf8');
  }
  get rulesDir() {
    return join(this.dir, 'prometheus/rules');
  }
  rules(): Rule[] {
    return readdirSync(this.rulesDir).flatMap((f) =>
      (parse(readFileSync(join(this.rulesDir, f), 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap(
        (g) => g.rules,
      ),
    );
  }
  /** The routing labels of an alert the rendered rules fire (of `severity` when the rule has two). */
  alert(name: string, severity?: string): Labels {
    const found = this.rules().filter(
      (r) => r.alert === name && (severity === undefined || r.labels?.severity === severity),
    );
    expect(found.length, `one rule ${name} ${severity ?? ''}`).toBe(1);
    const { severity: s, layer, team, action } = found[0]?.labels ?? {};
    return { alertname: name, ...{ severity: s, layer, team }, ...(action && { action }) } as Labels;
  }
}

function renderInto(dir: string, bundle: BundleConfig): Rendered {
  writeFiles(dir, renderBundle(bundle, { target: 'directory' }));
  return new Rendered(dir);
}

/** What amtool 0.28 routes `labels` to in `file`: the receivers in route order, comma-separated. */
function routed(file: string, labels: Labels, expected: string) {
  const { code, receivers } = amtoolRoutes(file, expected, labels);
  return { code, receivers };
}

const MINE = [
  'keep_labels: [cluster, namespace, region]',
  'owners:',
  '  system: { team: sre, receiver: sre-pager }',
  '  data: { team: data-quality, receiver: dq-chat }',
  '  model: { team: ml, receiver: ml-chat }',
  '  business: { team: analytics, receiver: analytics-mail }',
  '',
].join('\n');

describe('owners in the bundle config file', () => {
  it('default to the compose stack: platform holds the pager, data science owns data and model', () => {
    expect(DEFAULT_BUNDLE_CONFIG.owners).toEqual({
      system: { team: 'platform', receiver: 'platform-oncall' },
      data: { team: 'data-science', receiver: 'data-science' },
      model: { team: 'data-science', receiver: 'data-science' },
      business: { team: 'business', receiver: 'business-analysts' },
    });
    // The exporter's mlwatch_tickets knows exactly these teams by name; others need state.ticket_labels.team.
    expect(new Set(Object.values(DEFAULT_BUNDLE_CONFIG.owners).map((o) => o.team))).toEqual(
      new Set(ALERT_TEAMS),
    );
    // A key given alone keeps the others, in its layer and in the others.
    expect(config('owners:\n  model: { team: ml }\n').owners).toEqual({
      ...DEFAULT_BUNDLE_CONFIG.owners,
      model: { team: 'ml', receiver: 'data-science' },
    });
    expect(config(MINE).owners.business).toEqual({ team: 'analytics', receiver: 'analytics-mail' });
  });

  it('refuses a value it cannot write or route, naming the file, the line, the key and what to write', () => {
    expect(
      bundleProblems(
        [
          'owners:',
          '  data: { team: data science, receiver: "null" }',
          '  model: { team: "true", receiver: "ml:chat" }',
          '  business: { team: other, receiver: ticketing, channel: x }',
          '',
        ].join('\n'),
      ),
    ).toEqual([
      'my-bundle.yaml:2 owners.data.team: "data science" is not a label value the rules can write unquoted: letters, digits, and _ . : - (such as data-science)',
      `my-bundle.yaml:2 owners.data.receiver: "null" is mlwatch's own receiver (the root default of alertmanager.yml, which notifies no one); give the owner a receiver of its own, such as ml-chat`,
      'my-bundle.yaml:3 owners.model.team: "true" reads as a boolean in YAML, where the rules write it unquoted (team: true); pick a name such as ml-team',
      'my-bundle.yaml:3 owners.model.receiver: "ml:chat" is not a receiver name: letters, digits, and _ . - (such as ml-chat); it names the URL file and Secret key <receiver>-url',
      'my-bundle.yaml:4 owners.business.team: "other" is where mlwatch_tickets counts the teams it does not know; pick another name',
      `my-bundle.yaml:4 owners.business.receiver: "ticketing" is mlwatch's own receiver (mlwatch's ticket log endpoint, which gets every warning and critical alert already); give the owner a receiver of its own, such as ml-chat`,
      'my-bundle.yaml:4 owners.business.channel: unknown key; allowed here: team, receiver',
    ]);
    expect(bundleProblems('owners:\n  infra: { team: sre }\n  modle: {}\n  data: [dq]\n')).toEqual([
      'my-bundle.yaml:2 owners.infra: unknown key; allowed here: system, data, model, business',
      "my-bundle.yaml:3 owners.modle: unknown key; did you mean 'model'?",
      'my-bundle.yaml:4 owners.data: expected a mapping such as { team: data-science, receiver: data-science }',
    ]);
    expect(bundleProblems('owners:\n  model: { receiver: retraining }\n')).toEqual([
      `my-bundle.yaml:2 owners.model.receiver: "retraining" is mlwatch's own receiver (mlwatch's retrain endpoint); give the owner a receiver of its own, such as ml-chat`,
    ]);
  });

  it('refuses one team with two receivers: alerts reach receivers by their team label', () => {
    // Data science keeps its receiver for the data layer; the model layer names another one for the same team.
    expect(bundleProblems('owners:\n  model: { receiver: ml-chat }\n')).toEqual([
      'my-bundle.yaml:2 owners.model.receiver: team data-science has the receiver data-science already (owners.data), and Alertmanager routes an alert by its team label, so one team has one receiver. Write receiver: data-science here, or give owners.model a team of its own',
    ]);
    // The system owner's team owning another layer: that layer is routed as the system layer, so the pager it is.
    expect(bundleProblems('owners:\n  business:\n    team: platform\n')).toEqual([
      "my-bundle.yaml:2 owners.business.receiver: team platform has the receiver platform-oncall already (owners.system), and Alertmanager routes an alert by its team label, so one team has one receiver. platform is the system owner's team, which holds the pager: the alerts of a layer it owns page platform-oncall and are tickets otherwise. Write receiver: platform-oncall here, or give owners.business a team of its own",
    ]);
    // One receiver for several teams routes: accepted.
    expect(
      config('owners:\n  data: { team: dq, receiver: chat }\n  model: { team: ml, receiver: chat }\n').owners,
    ).toMatchObject({ data: { receiver: 'chat' }, model: { receiver: 'chat' } });
  });

  it('fills ${owners.<layer>.team} and .receiver in the sources, and names the line of a mistake', () => {
    const mine = config(MINE);
    expect(renderRuleText('team: ${owners.model.team}\nx: ${owners.system.receiver}\n', mine, 's.yml')).toBe(
      'team: ml\nx: sre-pager\n',
    );
    expect(() => renderRuleText('a: 1\nteam: ${owners.modle.team}\n', mine, 'prometheus/src/x.yml')).toThrow(
      /^prometheus\/src\/x\.yml:2: unknown placeholder \$\{owners\.modle\.team\}; the bundle config has .*\$\{owners\.model\.team\}/,
    );
    // A block of alertmanager/src writes whole entries: it must stand alone on its line.
    expect(() =>
      renderAlertmanagerText('receivers: ${owner_receivers}\n', mine, 'alertmanager/src/a.yml'),
    ).toThrow(
      'alertmanager/src/a.yml: ${owner_receivers} is a block: write it alone on its line, indented as the entries it adds',
    );
    expect(renderAlertmanagerText('receivers:\n  ${owner_receivers}\n', mine, 'a.yml')).toContain(
      '  - name: sre-pager\n    webhook_configs:\n      - url_file: "/run/secrets/mlwatch-alertmanager/sre-pager-url"\n',
    );
  });

  it('npm run bundle exits 2 on a bad owner, with the path and the fix and no stack trace', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'mlwatch-owners-cli-'));
    try {
      const file = join(tmp, 'my-bundle.yaml');
      writeFileSync(
        file,
        [
          'owners:',
          '  data: { team: "data science" }',
          '  model: { receiver: null }',
          '  infra: {}',
          '',
        ].join('\n'),
      );
      const r = spawnSync(TSX, ['scripts/gen-bundle.ts', '--config', file, '--out', join(tmp, 'out')], {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 120_000,
      });
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr.trim().split('\n')).toEqual([
        `${file}:2 owners.data.team: "data science" is not a label value the rules can write unquoted: letters, digits, and _ . : - (such as data-science)`,
        `${file}:3 owners.model.receiver: null is no name in YAML: write the receiver of this owner, such as ml-chat ("null" is also the receiver of alertmanager.yml that notifies no one, which no owner may have)`,
        `${file}:4 owners.infra: unknown key; allowed here: system, data, model, business`,
      ]);
      expect(r.stdout).toBe('');
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('a render with owners of your own', () => {
  let tmp = '';
  let mine: Rendered;
  let defaults: Rendered;

  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'mlwatch-bundle-owners-'));
    mine = renderInto(join(tmp, 'mine'), config(MINE));
    defaults = renderInto(join(tmp, 'defaults'), DEFAULT_BUNDLE_CONFIG);
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it("gives every alert its layer owner's team, and the infrastructure's alerts the system owner's", () => {
    const teams = (x: Rendered) => {
      const byLayer: Record<string, Set<string>> = {};
      for (const r of x.rules().filter((y) => y.alert)) {
        const layer = r.labels?.layer ?? '';
        byLayer[layer] ??= new Set();
        byLayer[layer].add(r.labels?.team ?? '');
      }
      return Object.fromEntries(Object.entries(byLayer).map(([l, t]) => [l, [...t].sort()]));
    };
    expect(teams(mine)).toEqual({
      system: ['sre'],
      data: ['data-quality', 'sre'],
      model: ['ml', 'sre'],
      business: ['analytics'],
    });
    expect(teams(defaults)).toEqual({
      system: ['platform'],
      data: ['data-science', 'platform'],
      model: ['data-science', 'platform'],
      business: ['business'],
    });
    // The data-layer alerts the infrastructure owns today, and the model-layer state-store one.
    expect(mine.alert('MlwatchDatasetStale').team).toBe('sre');
    expect(mine.alert('MlwatchDatasetVolumeLow').team).toBe('sre');
    expect(mine.alert('MlwatchRollbackAwaitingApproval')).toMatchObject({ layer: 'model', team: 'sre' });
    // The hand-off still matches the exporter's role name; its team is the model owner's.
    const handoff = mine.rules().find((r) => r.alert === 'MlwatchTicketHandedOff') as Rule & { expr: string };
    expect(handoff.expr).toContain('handed_off_to="data-science"');
    expect(handoff.labels?.team).toBe('ml');
  });

  it.skipIf(!promtool)('promtool check rules --lint=all --lint-fatal accepts the rules', () => {
    const files = readdirSync(mine.rulesDir).map((f) => join(mine.rulesDir, f));
    const r = spawnSync(promtool as string, ['check', 'rules', '--lint=all', '--lint-fatal', ...files], {
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    expect(r.status, r.stdout).toBe(0);
  });

  it('has each owner receiver once, reading its URL from <receiver>-url', () => {
    const am = parse(mine.text('alertmanager/alertmanager.yml')) as {
      receivers: { name: string; webhook_configs?: { url_file?: string }[] }[];
    };
    expect(am.receivers.map((r) => r.name)).toEqual([
      'null',
      'ticketing',
      'sre-pager',
      'dq-chat',
      'ml-chat',
      'analytics-mail',
      'retraining',
    ]);
    for (const r of am.receivers.filter((x) => x.webhook_configs)) {
      expect(r.webhook_configs?.[0]?.url_file, r.name).toBe(
        `/run/secrets/mlwatch-alertmanager/${r.name}-url`,
      );
    }
    // The default owners' receivers and teams are gone from routes and receivers (the comments still name the
    // exporter's hand-off role, data-science).
    const text = mine.text('alertmanager/alertmanager.yml');
    expect(text).not.toMatch(/platform-oncall|business-analysts|data-science-url|receiver: data-science/);
    expect(text).not.toMatch(/team="(platform|data-science|business)"/);
    expect(text).toContain(`'team="ml"'`);
  });

  it('compares the kept labels, region included, in the inhibitions of a replica', () => {
    const equal = (x: Rendered) =>
      (
        parse(x.text('alertmanager/alertmanager.yml')) as { inhibit_rules: { equal: string[] }[] }
      ).inhibit_rules.map((r) => r.equal);
    expect(equal(mine).slice(0, 2)).toEqual([
      ['cluster', 'namespace', 'region', 'job', 'instance'],
      ['cluster', 'namespace', 'region', 'job', 'instance'],
    ]);
    expect(equal(defaults).slice(0, 2)).toEqual([
      ['cluster', 'namespace', 'job', 'instance'],
      ['cluster', 'namespace', 'job', 'instance'],
    ]);
    // c) and d) compare subjects, not the replica: the same whatever keep_labels says.
    expect(equal(mine).slice(2)).toEqual(equal(defaults).slice(2));
  });

  it("converts this render's alertmanager.yml into the AlertmanagerConfig: its receivers and Secret keys", () => {
    // biome-ignore lint/suspicious/noExplicitAny: parsed YAML, checked against the CRD's model below.
    const object: any = parse(mine.text('deploy/kubernetes/alertmanager-config.yaml'), { version: '1.1' });
    expect(object).toEqual(alertmanagerConfigObject(mine.text('alertmanager/alertmanager.yml')));
    new AlertmanagerConfig(object).validate();
    expect(object.spec.receivers.map((r: { name: string }) => r.name)).toEqual([
      'null',
      'ticketing',
      'sre-pager',
      'dq-chat',
      'ml-chat',
      'analytics-mail',
      'retraining',
    ]);
    const keys = object.spec.receivers.flatMap(
      (r: { webhookConfigs?: { urlSecret: { key: string } }[] }) =>
        r.webhookConfigs?.map((w) => w.urlSecret.key) ?? [],
    );
    expect(keys).toEqual([
      'ticketing-url',
      'sre-pager-url',
      'dq-chat-url',
      'ml-chat-url',
      'analytics-mail-url',
      'retraining-url',
    ]);
    expect(object.spec.route.routes.map((r: { receiver: string }) => r.receiver)).toEqual([
      'ml-chat',
      'ticketing',
      'sre-pager',
      'dq-chat',
      'ml-chat',
      'analytics-mail',
      'retraining',
    ]);
    expect(object.spec.inhibitRules[0].equal).toEqual(['cluster', 'namespace', 'region', 'job', 'instance']);
  });

  describe(`routed by amtool 0.28${NO_AMTOOL}`, () => {
    it.skipIf(!AMTOOL)('check-config accepts it', () => {
      const r = amtool(['check-config', mine.alertmanagerFile]);
      expect(r.code, `${r.stdout}${r.stderr}`).toBe(0);
      expect(r.stdout).toMatch(/7 receivers/);
    });

    // The rules' own alerts, labels as the render gives them, and where the owners' semantics send each.
    const cases: [string, () => Labels, string][] = [
      [
        'a data warning: the data owner',
        () => mine.alert('MlwatchDatasetNullRatioHigh'),
        'ticketing,dq-chat',
      ],
      [
        'a data warning asking for a retrain',
        () => mine.alert('MlwatchFeatureDrift'),
        'ticketing,dq-chat,retraining',
      ],
      [
        'a model warning: the model owner',
        () => mine.alert('MlwatchModelLabelCoverageLow'),
        'ticketing,ml-chat',
      ],
      [
        'a model page: the system owner first, never the model owner directly',
        () => mine.alert('MlwatchModelAucLow'),
        'ticketing,sre-pager,retraining',
      ],
      ['the hand-off: the model owner only', () => mine.alert('MlwatchTicketHandedOff'), 'ml-chat'],
      [
        'a business warning: the business owner',
        () => mine.alert('MlwatchKpiBelowBaseline'),
        'ticketing,analytics-mail',
      ],
      [
        'a business page: the pager and the business owner',
        () => ({ ...mine.alert('MlwatchKpiSuddenDrop'), severity: 'critical' }),
        'ticketing,sre-pager,analytics-mail',
      ],
      ['a system page', () => mine.alert('MlwatchExporterDown'), 'ticketing,sre-pager'],
      ['a system warning: a ticket only', () => mine.alert('MlwatchConfigReloadFailed'), 'ticketing'],
      [
        'a stale dataset, owned by the system owner',
        () => mine.alert('MlwatchDatasetStale'),
        'ticketing,sre-pager',
      ],
      [
        'a data-layer warning the system owner owns: a ticket only',
        () => mine.alert('MlwatchDatasetVolumeLow'),
        'ticketing',
      ],
      [
        "an alert still carrying a default owner's team reaches no owner",
        () => ({ alertname: 'X', severity: 'warning', layer: 'model', team: 'data-science' }),
        'ticketing',
      ],
    ];
    it.skipIf(!AMTOOL).each(cases)('%s', (_name, labels, expected) => {
      expect(routed(mine.alertmanagerFile, labels(), expected)).toEqual({ code: 0, receivers: expected });
    });

    it.skipIf(!AMTOOL)('a wrong expectation fails: the default receivers are not in this render', () => {
      const r = routed(
        mine.alertmanagerFile,
        mine.alert('MlwatchDatasetNullRatioHigh'),
        'ticketing,data-science',
      );
      expect(r.code).not.toBe(0);
      expect(r.receivers).toContain('Expected receivers did not match resolved receivers');
    });
  });
});

// Owners sharing receivers: one receiver for several teams is allowed (bundle/owners-config.ts), and each alert
// must reach it once. amtool lists a receiver once per route that matched, so a duplicate shows as "x,x".
describe(`owners sharing receivers, routed by amtool 0.28${NO_AMTOOL}`, () => {
  let tmp = '';
  let oneWebhook: Rendered;
  let sharedChat: Rendered;

  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'mlwatch-bundle-shared-'));
    // A small organisation: every owner's alerts to one webhook; sre owns the data layer as well.
    oneWebhook = renderInto(
      join(tmp, 'one'),
      config(
        [
          'owners:',
          '  system: { team: sre, receiver: oncall }',
          '  data: { team: sre, receiver: oncall }',
          '  model: { team: ml, receiver: oncall }',
          '  business: { team: analytics, receiver: oncall }',
          '',
        ].join('\n'),
      ),
    );
    // Two teams sharing a chat, the business owner on it too.
    sharedChat = renderInto(
      join(tmp, 'chat'),
      config(
        [
          'owners:',
          '  data: { team: dq, receiver: chat }',
          '  model: { team: ml, receiver: chat }',
          '  business: { receiver: chat }',
          '',
        ].join('\n'),
      ),
    );
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  const receivers = (x: Rendered) =>
    (parse(x.text('alertmanager/alertmanager.yml')) as { receivers: { name: string }[] }).receivers.map(
      (r) => r.name,
    );

  it('lists a shared receiver once', () => {
    expect(receivers(oneWebhook)).toEqual(['null', 'ticketing', 'oncall', 'retraining']);
    expect(receivers(sharedChat)).toEqual(['null', 'ticketing', 'platform-oncall', 'chat', 'retraining']);
  });

  it.skipIf(!AMTOOL)('check-config accepts both', () => {
    for (const x of [oneWebhook, sharedChat]) {
      const r = amtool(['check-config', x.alertmanagerFile]);
      expect(r.code, `${r.stdout}${r.stderr}`).toBe(0);
    }
  });

  const one: [string, Labels, string][] = [
    [
      'a system page',
      { alertname: 'X', severity: 'critical', layer: 'system', team: 'sre' },
      'ticketing,oncall',
    ],
    [
      'a data warning of sre: a ticket only',
      { alertname: 'X', severity: 'warning', layer: 'data', team: 'sre' },
      'ticketing',
    ],
    [
      'a model warning',
      { alertname: 'X', severity: 'warning', layer: 'model', team: 'ml' },
      'ticketing,oncall',
    ],
    [
      'a model page, once',
      { alertname: 'X', severity: 'critical', layer: 'model', team: 'ml' },
      'ticketing,oncall',
    ],
    [
      'a business warning',
      { alertname: 'X', severity: 'warning', layer: 'business', team: 'analytics' },
      'ticketing,oncall',
    ],
    [
      'a business page, once',
      { alertname: 'X', severity: 'critical', layer: 'business', team: 'analytics' },
      'ticketing,oncall',
    ],
    [
      'a business warning of ml, once',
      { alertname: 'X', severity: 'warning', layer: 'business', team: 'ml' },
      'ticketing,oncall',
    ],
    [
      'the hand-off',
      { alertname: 'MlwatchTicketHandedOff', severity: 'warning', layer: 'model', team: 'ml' },
      'oncall',
    ],
  ];
  it.skipIf(!AMTOOL).each(one)('one webhook for every owner: %s', (_name, labels, expected) => {
    expect(routed(oneWebhook.alertmanagerFile, labels, expected)).toEqual({ code: 0, receivers: expected });
  });

  const chat: [string, Labels, string][] = [
    ['a data warning', { alertname: 'X', severity: 'warning', layer: 'data', team: 'dq' }, 'ticketing,chat'],
    [
      'a model warning',
      { alertname: 'X', severity: 'warning', layer: 'model', team: 'ml' },
      'ticketing,chat',
    ],
    [
      'a business page',
      { alertname: 'X', severity: 'critical', layer: 'business', team: 'business' },
      'ticketing,platform-oncall,chat',
    ],
    [
      'a business warning of dq, once',
      { alertname: 'X', severity: 'warning', layer: 'business', team: 'dq' },
      'ticketing,chat',
    ],
  ];
  it.skipIf(!AMTOOL).each(chat)('two teams sharing a chat: %s', (_name, labels, expected) => {
    expect(routed(sharedChat.alertmanagerFile, labels, expected)).toEqual({ code: 0, receivers: expected });
  });

  it.skipIf(!AMTOOL)('without the narrowed matchers the shared receiver would get those alerts twice', () => {
    // The same file with route 4's severity and route 3's layer matcher widened back to the unshared routes'.
    const widened = oneWebhook
      .text('alertmanager/alertmanager.yml')
      .replace(
        `['severity="warning"', 'layer="business"']`,
        `['severity=~"warning|critical"', 'layer="business"']`,
      )
      .replace(`, 'layer!="business"'`, '');
    expect(widened).not.toBe(oneWebhook.text('alertmanager/alertmanager.yml'));
    const file = join(tmp, 'widened.yml');
    writeFileSync(file, widened);
    const page = { alertname: 'X', severity: 'critical', layer: 'business', team: 'analytics' };
    expect(routed(file, page, 'ticketing,oncall,oncall')).toEqual({
      code: 0,
      receivers: 'ticketing,oncall,oncall',
    });
    const warning = { alertname: 'X', severity: 'warning', layer: 'business', team: 'ml' };
    expect(routed(file, warning, 'ticketing,oncall,oncall')).toEqual({
      code: 0,
      receivers: 'ticketing,oncall,oncall',
    });
  });
});
