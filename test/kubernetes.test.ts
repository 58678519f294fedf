import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import {
  PrometheusRule,
  ServiceMonitor,
} from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import {
  AlertmanagerConfig,
  Route as AlertmanagerRoute,
} from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1alpha1';
import bcrypt from 'bcryptjs';
import { Deployment } from 'kubernetes-models/apps/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Service } from 'kubernetes-models/v1';
import pino from 'pino';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { renderAlertmanager } from '../bundle/alertmanager.js';
import { renderAlertmanagerConfig } from '../bundle/alertmanager-config.js';
import { DEFAULT_BUNDLE_CONFIG } from '../bundle/config.js';
import { generateKubernetes } from '../scripts/gen-kubernetes.js';
import { loadConfigText } from '../src/config/load.js';
import { DEFAULT_PORT } from '../src/defaults.js';
import { createApp } from '../src/http/app.js';
import { Security } from '../src/http/auth/security.js';
import { WebConfigSource } from '../src/http/auth/web-config-source.js';
import { ROOT } from './helpers/cli.js';
import { documentedSecrets } from './helpers/kubernetes-docs.js';
import { toolOnPath } from './helpers/tools.js';

// deploy/kubernetes (docs/kubernetes.md): the generated files are fresh, `kubectl kustomize` renders the base
// (Debian's kubernetes-client, installed by scripts/install-stack-deps.sh), every rendered object passes the
// Kubernetes and prometheus-operator schemas of kubernetes-models, and the objects fit together and fit mlwatch.

const REGENERATE = 'run `npm run bundle` (scripts/gen-bundle.ts) and commit the result';
const BASE = join(ROOT, 'deploy/kubernetes');
const kubectl = toolOnPath('kubectl');
const log = pino({ level: 'silent' });

// biome-ignore lint/suspicious/noExplicitAny: rendered manifests are untyped YAML; the schemas check them below.
type Obj = any;

describe('generated manifests', () => {
  it(`are what scripts/gen-kubernetes.ts and bundle/alertmanager-config.ts write now (else ${REGENERATE})`, () => {
    // The AlertmanagerConfig of the default owners' alertmanager.yml, rendered afresh as `npm run bundle` does.
    const alertmanager = renderAlertmanager(ROOT, DEFAULT_BUNDLE_CONFIG).text;
    for (const { file, text } of [...generateKubernetes(), renderAlertmanagerConfig(alertmanager)]) {
      expect(readFileSync(join(ROOT, file), 'utf8'), `${file} is stale: ${REGENERATE}`).toBe(text);
    }
  });
});

// The models' validate() checks types, enums and required fields, but, like the Kubernetes OpenAPI schemas they
// come from, lets unknown keys through (a misspelled readinesProbe would be dropped by the API server, or refused
// by kubectl's strict field validation). Their TypeScript interfaces list every field, so unknown keys are found
// with the compiler's view of them.
const MODELS = {
  Deployment: { model: Deployment, module: 'kubernetes-models/apps/v1/Deployment', type: 'IDeployment' },
  Service: { model: Service, module: 'kubernetes-models/v1/Service', type: 'IService' },
  PodDisruptionBudget: {
    model: PodDisruptionBudget,
    module: 'kubernetes-models/policy/v1/PodDisruptionBudget',
    type: 'IPodDisruptionBudget',
  },
  ConfigMap: { model: ConfigMap, module: 'kubernetes-models/v1/ConfigMap', type: 'IConfigMap' },
  ServiceMonitor: {
    model: ServiceMonitor,
    module: '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor',
    type: 'IServiceMonitor',
  },
  PrometheusRule: {
    model: PrometheusRule,
    module: '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule',
    type: 'IPrometheusRule',
  },
  AlertmanagerConfig: {
    model: AlertmanagerConfig,
    module: '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1alpha1/AlertmanagerConfig',
    type: 'IAlertmanagerConfig',
  },
  // Not a kind: the CRD types a route's child routes as free JSON (they nest without end), so validate() and the
  // unknown-field check stop there. Each child route is checked on its own against the Route schema instead.
  AlertmanagerConfigRoute: {
    model: AlertmanagerRoute,
    module: '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1alpha1/Route',
    type: 'IRoute',
  },
} as const;
type Kind = keyof typeof MODELS;

function modelTypes(): { checker: ts.TypeChecker; types: Map<string, ts.Type>; diagnostics: string[] } {
  // A file that exists only in memory, in test/ so that module resolution finds the packages as a test would.
  const entry = join(ROOT, 'test', 'kubernetes-models.virtual.ts');
  const kinds = Object.entries(MODELS);
  const source = `${kinds.map(([, m]) => `import type { ${m.type} } from '${m.module}';`).join('\n')}
export type Models = { ${kinds.map(([k, m]) => `${k}: ${m.type}`).join('; ')} };\n`;
  const options: ts.CompilerOptions = {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const read = host.getSourceFile.bind(host);
  host.getSourceFile = (file, lang, ...rest) =>
    file === entry ? ts.createSourceFile(file, source, lang) : read(file, lang, ...rest);
  const program = ts.createProgram([entry], options, host);
  const checker = program.getTypeChecker();
  const file = program.getSourceFile(entry) as ts.SourceFile;
  // An import that does not resolve would make every type `any` and accept anything: fail on it instead.
  const diagnostics = ts
    .getPreEmitDiagnostics(program, file)
    .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  const alias = file.statements.find(ts.isTypeAliasDeclaration) as ts.TypeAliasDeclaration;
  const models = checker.getTypeAtLocation(alias.name);
  const types = new Map(
    checker.getPropertiesOfType(models).map((p) => [p.name, checker.getTypeOfSymbol(p)] as const),
  );
  return { checker, types, diagnostics };
}

/** Paths of the keys in `value` that `type` does not declare. */
function unknownKeys(checker: ts.TypeChecker, value: unknown, type: ts.Type, path = ''): string[] {
  if (value === null || typeof value !== 'object') return [];
  const t = checker.getNonNullableType(type);
  if (t.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) return [];
  const members = t.isUnion() ? t.types : [t];
  const index = (kind: ts.IndexKind) =>
    members.map((m) => checker.getIndexTypeOfType(m, kind)).find((x) => x !== undefined);
  if (Array.isArray(value)) {
    const item = index(ts.IndexKind.Number);
    return item ? value.flatMap((v, i) => unknownKeys(checker, v, item, `${path}[${i}]`)) : [];
  }
  return Object.entries(value).flatMap(([key, v]) => {
    const prop = members.map((m) => m.getProperty(key)).find((p) => p !== undefined);
    const next = prop ? checker.getTypeOfSymbol(prop) : index(ts.IndexKind.String);
    return next ? unknownKeys(checker, v, next, `${path}.${key}`) : [`${path}.${key}`];
  });
}

/** Every problem the schemas find in one object: validate()'s message, or the keys no field declares. */
function schemaProblems(obj: Obj, types: ReturnType<typeof modelTypes>): string[] {
  if (obj.kind === 'AlertmanagerConfig' && obj.spec?.route) {
    const { top, children } = splitRoutes(obj.spec.route, '.spec.route');
    const problems = checkAs('AlertmanagerConfig', { ...obj, spec: { ...obj.spec, route: top } }, types);
    for (const [path, route] of children)
      problems.push(...checkAs('AlertmanagerConfigRoute', route, types).map((p) => `${path}: ${p}`));
    return problems;
  }
  return checkAs(obj.kind, obj, types);
}

/** A route without its child routes, and every descendant route (without its own children) by its path. */
function splitRoutes(route: Obj, path: string): { top: Obj; children: [string, Obj][] } {
  const { routes = [], ...top } = route;
  const children = (routes as Obj[]).flatMap((child, i): [string, Obj][] => {
    const inner = splitRoutes(child, `${path}.routes[${i}]`);
    return [[`${path}.routes[${i}]`, inner.top], ...inner.children];
  });
  return { top, children };
}

function checkAs(kind: string, obj: Obj, types: ReturnType<typeof modelTypes>): string[] {
  const spec = MODELS[kind as Kind];
  if (!spec) return [`${kind}: no model for this kind`];
  const problems: string[] = [];
  try {
    new spec.model(obj).validate();
  } catch (err) {
    problems.push((err as Error).message);
  }
  const type = types.types.get(kind) as ts.Type;
  for (const key of unknownKeys(types.checker, obj, type)) problems.push(`${key}: unknown field`);
  return problems;
}

/** Kubernetes quantities (100m, 1, 128Mi, 1G) as numbers, to compare requests with limits. */
function quantity(q: string | number): number {
  const m = /^([0-9.]+)(m|k|M|G|Ki|Mi|Gi)?$/.exec(String(q));
  if (!m) throw new Error(`not a quantity: ${q}`);
  const unit = { m: 1e-3, k: 1e3, M: 1e6, G: 1e9, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30 } as Record<
    string,
    number
  >;
  return Number(m[1]) * (m[2] ? (unit[m[2]] as number) : 1);
}

const flag = (args: string[], name: string) => {
  const i = args.indexOf(name);
  return i < 0 ? undefined : args[i + 1];
};
const matches = (selector: Record<string, string>, labels: Record<string, string> = {}) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

/** The rule groups straight from prometheus/rules, read here without the generator's help. */
function ruleFileGroups(): unknown[] {
  const dir = join(ROOT, 'prometheus/rules');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yml'))
    .sort()
    .flatMap((f) => (parse(readFileSync(join(dir, f), 'utf8')) as { groups: unknown[] }).groups);
}

describe.skipIf(!kubectl)(
  'kubectl kustomize deploy/kubernetes (install: scripts/install-stack-deps.sh)',
  () => {
    let objects: Obj[] = [];
    let deployment: Obj;
    let container: Obj;
    let service: Obj;
    let monitor: Obj;
    let rule: Obj;
    let tmp = '';
    const one = (kind: string) => {
      const found = objects.filter((o) => o.kind === kind);
      expect(
        found.map((o) => o.metadata.name),
        `exactly one ${kind}`,
      ).toHaveLength(1);
      return found[0];
    };

    beforeAll(() => {
      const r = spawnSync(kubectl as string, ['kustomize', BASE], { encoding: 'utf8', timeout: 60_000 });
      expect(r.status, `kubectl kustomize failed:\n${r.stderr}`).toBe(0);
      // kubectl and kustomize read and write YAML 1.1 (0440 is octal there, `yes` a boolean): read it the same way.
      const docs = parseAllDocuments(r.stdout, { version: '1.1' });
      for (const d of docs) expect(d.errors, String(d.errors[0])).toEqual([]);
      objects = docs.map((d) => d.toJS()).filter((o) => o !== null);
      deployment = one('Deployment');
      container = deployment.spec.template.spec.containers[0];
      service = one('Service');
      monitor = one('ServiceMonitor');
      rule = one('PrometheusRule');
      tmp = mkdtempSync(join(tmpdir(), 'mlwatch-k8s-'));
    });
    afterAll(() => {
      if (tmp) rmSync(tmp, { recursive: true, force: true });
    });

    it('renders the exporter, its Service, ServiceMonitor, PrometheusRule and ConfigMaps, and no Secret', () => {
      const kinds = objects.map((o) => o.kind).sort();
      const dashboards = readdirSync(join(ROOT, 'grafana/dashboards/mlwatch')).filter((f) =>
        f.endsWith('.json'),
      );
      expect(kinds).toEqual(
        [
          ...Array(dashboards.length + 1).fill('ConfigMap'),
          'Deployment',
          'AlertmanagerConfig',
          'PodDisruptionBudget',
          'PrometheusRule',
          'Service',
          'ServiceMonitor',
        ].sort(),
      );
    });

    it('every object passes the Kubernetes or prometheus-operator schema, unknown fields included', () => {
      const types = modelTypes();
      expect(types.diagnostics).toEqual([]);
      for (const o of objects) expect(schemaProblems(o, types), `${o.kind}/${o.metadata.name}`).toEqual([]);
      // The check can fail: a wrong type, a misspelled field, a field of the wrong object.
      const broken = structuredClone(deployment);
      broken.spec.replicas = 'one';
      broken.spec.template.spec.containers[0].readinesProbe = {};
      broken.spec.template.spec.securityContext.readOnlyRootFilesystem = true;
      const problems = schemaProblems(broken, types);
      expect(problems[0]).toMatch(/spec\/replicas must be integer/);
      expect(problems.slice(1).sort()).toEqual([
        '.spec.template.spec.containers[0].readinesProbe: unknown field',
        '.spec.template.spec.securityContext.readOnlyRootFilesystem: unknown field',
      ]);
      const monitorTypo = structuredClone(monitor);
      monitorTypo.spec.endpoints[0].intervall = '15s';
      expect(schemaProblems(monitorTypo, types)).toEqual(['.spec.endpoints[0].intervall: unknown field']);
      // Receivers, and child routes too, which the CRD's own schema leaves unchecked (free JSON).
      const amTypo = structuredClone(one('AlertmanagerConfig'));
      amTypo.spec.receivers[1].webhookConfigs[0].url_secret =
        amTypo.spec.receivers[1].webhookConfigs[0].urlSecret;
      amTypo.spec.route.routes[1].group_by = ['...'];
      amTypo.spec.route.routes[2].matchers[0].matchType = '==';
      const amProblems = schemaProblems(amTypo, types);
      expect(amProblems).toHaveLength(3);
      expect(amProblems.slice(0, 2)).toEqual([
        '.spec.receivers[1].webhookConfigs[0].url_secret: unknown field',
        '.spec.route.routes[1]: .group_by: unknown field',
      ]);
      expect(amProblems[2]).toMatch(
        /^\.spec\.route\.routes\[2\]: .*matchers\/0\/matchType must be equal to one/,
      );
    });

    it('every object fits `kubectl apply`: one namespace, under the 256 KiB last-applied annotation', () => {
      expect(new Set(objects.map((o) => o.metadata.namespace))).toEqual(new Set(['monitoring']));
      for (const o of objects) {
        // Client-side apply stores the whole object as JSON in an annotation limited to 256 KiB.
        expect(Buffer.byteLength(JSON.stringify(o)), `${o.kind}/${o.metadata.name}`).toBeLessThan(256 * 1024);
      }
    });

    it('the ServiceMonitor selects the Service and its named port; the Service selects the pods', () => {
      expect(monitor.spec.namespaceSelector).toBeUndefined(); // its own namespace: the Service's
      expect(monitor.spec.selector.matchExpressions).toBeUndefined();
      expect(Object.keys(monitor.spec.selector.matchLabels).length).toBeGreaterThan(0);
      expect(matches(monitor.spec.selector.matchLabels, service.metadata.labels)).toBe(true);
      const portNames = service.spec.ports.map((p: Obj) => p.name);
      for (const e of monitor.spec.endpoints) expect(portNames).toContain(e.port);
      const metrics = service.spec.ports.find((p: Obj) => p.name === 'metrics');
      expect(metrics.port).toBe(DEFAULT_PORT);
      expect(container.ports.map((p: Obj) => p.name)).toContain(metrics.targetPort);
      expect(container.ports.find((p: Obj) => p.name === metrics.targetPort).containerPort).toBe(
        DEFAULT_PORT,
      );
      const podLabels = deployment.spec.template.metadata.labels;
      expect(matches(service.spec.selector, podLabels)).toBe(true);
      expect(matches(deployment.spec.selector.matchLabels, podLabels)).toBe(true);
      // kube-prometheus-stack's Prometheus reads only objects labelled with its release (docs/kubernetes.md).
      expect(monitor.metadata.labels.release).toBe('kube-prometheus-stack');
      expect(rule.metadata.labels.release).toBe('kube-prometheus-stack');
    });

    it("the scrape's job label is what the rules and dashboards select: the Service's name", () => {
      // Without jobLabel, prometheus-operator sets job to the Service's name.
      expect(monitor.spec.jobLabel).toBeUndefined();
      expect(service.metadata.name).toBe('mlwatch');
      const dir = join(ROOT, 'grafana/dashboards/mlwatch');
      const queries = [
        ...(rule.spec.groups as Obj[]).flatMap((g) => g.rules.map((r: Obj) => String(r.expr))),
        ...readdirSync(dir).map((f) => JSON.stringify(JSON.parse(readFileSync(join(dir, f), 'utf8')))),
      ];
      // job="x" in an expression, job=\"x\" inside JSON; job_name is another label.
      const selectors = queries.flatMap((q) =>
        [...q.matchAll(/\bjob\s*(=~|!=|!~|=)\s*\\?"([^"\\]*)/g)].map((m) => `${m[1]}${m[2]}`),
      );
      expect(selectors.length).toBeGreaterThan(0);
      expect(new Set(selectors)).toEqual(new Set([`=${service.metadata.name}`]));
    });

    it('runs two exporters, non-root, read-only, without privileges, with requests and limits', () => {
      // Two replicas sharing the checks (docs/kubernetes.md): a rollout adds the new pod before an old one goes,
      // a drain evicts one at a time, and the scheduler is asked to put them on two nodes.
      expect(deployment.spec.replicas).toBe(2);
      expect(deployment.spec.strategy).toEqual({
        type: 'RollingUpdate',
        rollingUpdate: { maxSurge: 1, maxUnavailable: 0 },
      });
      const budget = one('PodDisruptionBudget');
      expect(budget.spec.minAvailable).toBe(1);
      const podLabels = deployment.spec.template.metadata.labels;
      expect(matches(budget.spec.selector.matchLabels, podLabels)).toBe(true);
      const [spread] =
        deployment.spec.template.spec.affinity.podAntiAffinity
          .preferredDuringSchedulingIgnoredDuringExecution;
      expect(spread.podAffinityTerm.topologyKey).toBe('kubernetes.io/hostname');
      expect(matches(spread.podAffinityTerm.labelSelector.matchLabels, podLabels)).toBe(true);
      expect(container.image).toBe('mlwatch:latest');
      const pod = deployment.spec.template.spec;
      expect(pod.securityContext).toMatchObject({
        runAsNonRoot: true,
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
      expect(pod.automountServiceAccountToken).toBe(false);
      expect(pod.hostNetwork ?? false).toBe(false);
      const sc = container.securityContext;
      expect(sc).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
      expect(sc.privileged ?? false).toBe(false);
      expect(sc.runAsUser ?? pod.securityContext.runAsUser).toBeGreaterThan(0);
      expect(sc.capabilities.drop).toContain('ALL');
      expect(sc.capabilities.add ?? []).toEqual([]);
      for (const r of ['cpu', 'memory']) {
        const { requests, limits } = container.resources;
        expect(quantity(requests[r]), r).toBeLessThanOrEqual(quantity(limits[r]));
      }
    });

    it("probes hit the exporter's own health routes: /healthz for liveness, /readyz for readiness", async () => {
      const exporter = {
        ready: false,
        isReady: () => exporter.ready,
        cachedChecks: () => [{ status: 'pending' }],
      };
      const pass = (_req: unknown, _res: unknown, next: () => void) => next();
      // The real app and its route table; nothing listens. Its middleware stubs are never called here.
      const app = createApp({
        exporter: () => exporter as never,
        reload: async () => ({ ok: true }),
        security: { rateLimit: () => pass, guard: () => pass, refusals: {} } as never,
        web: { current: () => ({ headers: {} }) } as never,
        log,
      });
      type Layer = {
        route?: { path: string; stack: { handle: (req: unknown, res: unknown, next: unknown) => unknown }[] };
      };
      const routes = (app as unknown as { router: { stack: Layer[] } }).router.stack.flatMap(
        (l) => l.route ?? [],
      );
      /** The status the route answers a GET with, by calling its handler with a stand-in response. */
      const answer = async (path: string) => {
        const route = routes.find((r) => r.path === path);
        expect(route, `${path} is not a route of src/http/app.ts`).toBeDefined();
        let status = 200;
        const res = {
          status: (s: number) => {
            status = s;
            return res;
          },
          type: () => res,
          set: () => res,
          send: () => res,
        };
        for (const h of route?.stack ?? []) await h.handle({ method: 'GET', path }, res, () => {});
        return status;
      };
      const { livenessProbe, readinessProbe } = container;
      for (const probe of [livenessProbe, readinessProbe]) {
        expect(probe.httpGet.scheme ?? 'HTTP').toBe('HTTP'); // the web config in the docs has no TLS
        expect(container.ports.map((p: Obj) => p.name)).toContain(probe.httpGet.port);
      }
      // Before the first run of every check: alive (no restart), not ready (no traffic).
      expect(await answer(livenessProbe.httpGet.path)).toBe(200);
      expect(await answer(readinessProbe.httpGet.path)).toBe(503);
      exporter.ready = true;
      expect(await answer(readinessProbe.httpGet.path)).toBe(200);
      expect([livenessProbe.httpGet.path, readinessProbe.httpGet.path]).toEqual(['/healthz', '/readyz']);
    });

    it("mounts a config that mlwatch loads and serve accepts, with the Secret's values in the environment", () => {
      const args: string[] = container.args;
      expect(container.command).toBeUndefined(); // the image's ENTRYPOINT: node /app/bin/mlwatch.js
      expect(args[0]).toBe('serve');
      expect(args).not.toContain('--web.insecure-actions');
      expect(Number(flag(args, '--port') ?? DEFAULT_PORT)).toBe(DEFAULT_PORT);
      const pod = deployment.spec.template.spec;
      const mountOf = (file: string) => {
        const mount = container.volumeMounts.find((m: Obj) => m.mountPath === dirname(file));
        expect(mount, `nothing is mounted at ${dirname(file)}`).toBeDefined();
        expect(mount.readOnly).toBe(true);
        return pod.volumes.find((v: Obj) => v.name === mount.name);
      };

      // --config: a key of the (generated, hash-suffixed) ConfigMap the volume names.
      const configFile = flag(args, '--config') as string;
      const configMap = objects.find(
        (o) => o.kind === 'ConfigMap' && o.metadata.name === mountOf(configFile).configMap.name,
      );
      const text: string = configMap?.data?.[basename(configFile)];
      expect(text, `${configFile} is not in the ConfigMap`).toBeTypeOf('string');

      // --web.config.file: a key of the Secret `mlwatch`, created as docs/kubernetes.md says.
      const webFile = flag(args, '--web.config.file') as string;
      const secretVolume = mountOf(webFile).secret;
      const item = secretVolume.items.find((i: Obj) => i.path === basename(webFile));
      expect(item, `${webFile} is not an item of the Secret volume`).toBeDefined();
      const needed = new Map<string, Set<string>>([[secretVolume.secretName, new Set([item.key])]]);

      // The environment: every ${VAR} the config reads comes from the Secret, with stand-in values here.
      const dummy: Record<string, string> = {
        WAREHOUSE_URL: 'postgresql://mlwatch@warehouse.example:5432/analytics',
        WAREHOUSE_PASSWORD: 'dummy-password',
        ALERTMANAGER_TOKEN_SHA256: 'a'.repeat(64),
      };
      const env: Record<string, string> = {};
      for (const e of container.env) {
        const ref = e.valueFrom?.secretKeyRef;
        expect(ref, `${e.name} comes from a Secret`).toBeDefined();
        needed.set(ref.name, (needed.get(ref.name) ?? new Set()).add(ref.key));
        env[e.name] = dummy[e.name] ?? `dummy-${ref.key}`;
      }
      // In values only (comments are not substituted); $${ is a literal.
      const values = JSON.stringify(parse(text));
      const referenced = [...values.matchAll(/(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]);
      expect(referenced.length).toBeGreaterThan(0);
      expect(referenced.filter((name) => !((name as string) in env))).toEqual([]);
      const config = loadConfigText(text, basename(configFile), env, tmp);
      expect(config.warehouse.url).toBe(dummy.WAREHOUSE_URL);
      expect(config.warehouse.password).toBe(dummy.WAREHOUSE_PASSWORD);

      // serve's own start check (src/runtime/serve.ts) with a web config of the documented shape.
      const web = join(tmp, 'web-config.yml');
      writeFileSync(web, `basic_auth_users:\n  prometheus: '${bcrypt.hashSync('x', 4)}'\n`);
      const security = new Security(config.raw, {
        web: new WebConfigSource(web, log),
        log,
        lifecycle: false,
        insecureActions: false,
      });
      expect(security.problems(config.raw)).toEqual([]);

      // Prometheus' scrape credentials, and every Secret key above, are created by the documented commands.
      const auth = monitor.spec.endpoints[0].basicAuth;
      for (const sel of [auth.username, auth.password]) {
        needed.set(sel.name, (needed.get(sel.name) ?? new Set()).add(sel.key));
      }
      const documented = documentedSecrets();
      for (const [name, keys] of needed) {
        expect(
          [...keys].filter((k) => !documented.get(name)?.has(k)),
          `Secret ${name} in docs/kubernetes.md`,
        ).toEqual([]);
      }
    });

    it('the PrometheusRule holds the groups of every rule file, unchanged', () => {
      const groups = ruleFileGroups();
      expect(rule.spec.groups).toEqual(groups);
      // prometheus-operator writes one rule file per PrometheusRule: group names must be unique across them all.
      const names = (groups as { name: string }[]).map((g) => g.name);
      expect(new Set(names).size).toBe(names.length);
    });

    it('every dashboard is in exactly one ConfigMap with the grafana_dashboard label, byte for byte', () => {
      const dir = join(ROOT, 'grafana/dashboards/mlwatch');
      const labelled = objects.filter(
        (o) => o.kind === 'ConfigMap' && o.metadata.labels?.grafana_dashboard === '1',
      );
      const values = labelled.flatMap((cm) => Object.entries(cm.data as Record<string, string>));
      const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
      expect(values).toHaveLength(files.length);
      for (const f of files) {
        const json = readFileSync(join(dir, f), 'utf8');
        expect(
          values.filter(([, v]) => v === json).map(([k]) => k),
          f,
        ).toEqual([`mlwatch-${f}`]);
      }
      // The sidecar writes every key into one folder: keys must not collide with each other (or with other charts').
      expect(new Set(values.map(([k]) => k)).size).toBe(values.length);
    });
  },
);
