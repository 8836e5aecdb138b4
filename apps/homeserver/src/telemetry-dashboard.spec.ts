import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { createBusMetrics } from '@axon/platform-bus';
import { createHttpMetrics } from '@axon/platform-http';
import { Metrics } from '@axon/platform-telemetry';
import { createRoomServerMetrics } from '@axon/services-room-server';
import { createSyncMetrics } from '@axon/services-sync';

const TELEMETRY_DIR = join(__dirname, '../../../deploy/telemetry');

/** Labels a scrape adds to every series (deploy/telemetry/otel-collector.yaml), and `le` of histogram buckets. */
const SCRAPE_LABELS = new Set(['service', 'instance', 'job', 'namespace', 'pod']);

/** Every metric an Axon process registers, as its exposition names (histograms: _bucket, _sum, _count), with their labels. */
function registeredMetrics(app: string): Map<string, ReadonlySet<string>> {
  const metrics = new Metrics(app);
  createHttpMetrics(metrics);
  createBusMetrics(metrics);
  createRoomServerMetrics(metrics);
  createSyncMetrics(metrics);
  const names = new Map<string, ReadonlySet<string>>();
  for (const metric of metrics.registry.getMetricsAsArray()) {
    const { name, type, labelNames } = metric as unknown as { name: string; type: string; labelNames?: readonly string[] };
    const labels = new Set(labelNames ?? []);
    if (type === 'histogram') {
      names.set(`${name}_bucket`, new Set([...labels, 'le']));
      names.set(`${name}_sum`, labels);
      names.set(`${name}_count`, labels);
    } else {
      names.set(name, labels);
    }
  }
  return names;
}

interface Panel {
  readonly title?: string;
  readonly targets?: ReadonlyArray<{ readonly expr?: string }>;
  readonly panels?: readonly Panel[];
}

interface Dashboard {
  readonly schemaVersion: number;
  readonly panels: readonly Panel[];
  readonly templating: { readonly list: ReadonlyArray<{ readonly name: string; readonly type: string; readonly query?: unknown; readonly datasource?: unknown }> };
}

const dashboard = JSON.parse(readFileSync(join(TELEMETRY_DIR, 'grafana-axon.json'), 'utf8')) as Dashboard;

/** Every PromQL expression of the dashboard: panel targets (rows included) and query variables. */
function expressions(): Array<{ where: string; expr: string }> {
  const out: Array<{ where: string; expr: string }> = [];
  const walk = (panels: readonly Panel[]): void => {
    for (const panel of panels) {
      for (const target of panel.targets ?? []) if (target.expr !== undefined) out.push({ where: panel.title ?? '?', expr: target.expr });
      walk(panel.panels ?? []);
    }
  };
  walk(dashboard.panels);
  for (const variable of dashboard.templating.list) {
    const query = variable.query as { query?: string } | string | undefined;
    const text = typeof query === 'string' ? query : query?.query;
    if (variable.type === 'query' && text !== undefined) out.push({ where: `variable ${variable.name}`, expr: text });
  }
  return out;
}

/** The metric selectors `{__name__=~"…", label…}` of an expression: the name pattern and the other labels matched. */
function selectors(expr: string): Array<{ pattern: RegExp; labels: string[] }> {
  return [...expr.matchAll(/\{([^{}]*__name__=~"([^"]+)"[^{}]*)\}/g)].map(([, body, pattern]) => ({
    pattern: new RegExp(`^(?:${pattern!})$`),
    labels: [...body!.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g)].map(([, label]) => label!).filter((label) => label !== '__name__'),
  }));
}

// The dashboard names metrics the code registers, so neither can drift from the other.
describe('deploy/telemetry/grafana-axon.json', () => {
  const processes = ['homeserver', 'room_server'].map((app) => ({ app, metrics: registeredMetrics(app) }));
  const all = expressions();

  it('is a recent dashboard with a Prometheus datasource variable every query uses', () => {
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(39);
    expect(dashboard.templating.list).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'datasource', type: 'datasource', query: 'prometheus' })]));
    expect(all.length).toBeGreaterThanOrEqual(10);
    expect(JSON.stringify(dashboard.panels)).not.toMatch(/"uid":\s*"(?!\$\{datasource\})/);
  });

  it.each(all.map((e) => [e.where, e.expr]))('%s: %s names only registered metrics and labels', (_where, expr) => {
    // Metric names are matched by __name__ (they embed the process's app name); a bare
    // hs_… identifier outside a string would bind the dashboard to one process.
    expect(expr.replace(/"[^"]*"/g, '""')).not.toMatch(/\bhs_/);
    const found = selectors(expr);
    expect(found.length).toBeGreaterThan(0);
    for (const { pattern, labels } of found) {
      for (const { app, metrics } of processes) {
        const matching = [...metrics.keys()].filter((name) => pattern.test(name));
        expect({ app, pattern: pattern.source, matching: matching.length > 0 }).toEqual({ app, pattern: pattern.source, matching: true });
        for (const label of labels) {
          const known = matching.every((name) => metrics.get(name)!.has(label)) || SCRAPE_LABELS.has(label);
          expect({ app, pattern: pattern.source, label, known }).toEqual({ app, pattern: pattern.source, label, known: true });
        }
      }
    }
    // Labels grouped by must exist on the selected metrics (or come from the scrape).
    for (const [, list] of expr.matchAll(/\bby\s*\(([^)]*)\)/g)) {
      for (const label of list!.split(',').map((l) => l.trim())) {
        const known = SCRAPE_LABELS.has(label) || found.some(({ pattern }) => [...processes[0]!.metrics].some(([name, labels]) => pattern.test(name) && labels.has(label)));
        expect({ label, known }).toEqual({ label, known: true });
      }
    }
  });
});

describe('deploy/telemetry/otel-collector.yaml', () => {
  interface Collector {
    receivers: Record<string, unknown>;
    processors: Record<string, unknown>;
    exporters: Record<string, unknown>;
    extensions?: Record<string, unknown>;
    service: { extensions?: string[]; pipelines: Record<string, { receivers: string[]; processors: string[]; exporters: string[] }> };
  }
  const config = parseYaml(readFileSync(join(TELEMETRY_DIR, 'otel-collector.yaml'), 'utf8')) as Collector;

  it('parses, and every pipeline names only components it defines', () => {
    expect(Object.keys(config.service.pipelines).sort()).toEqual(['metrics', 'traces']);
    for (const [name, pipeline] of Object.entries(config.service.pipelines)) {
      for (const receiver of pipeline.receivers) expect({ name, receiver, defined: receiver in config.receivers }).toEqual({ name, receiver, defined: true });
      for (const processor of pipeline.processors) expect({ name, processor, defined: processor in config.processors }).toEqual({ name, processor, defined: true });
      for (const exporter of pipeline.exporters) expect({ name, exporter, defined: exporter in config.exporters }).toEqual({ name, exporter, defined: true });
      expect(pipeline.processors).toContain('batch');
    }
    for (const extension of config.service.extensions ?? []) expect(config.extensions).toHaveProperty(extension);
  });

  it('receives OTLP over HTTP and gRPC and scrapes /metrics from annotated pods and the local targets', () => {
    expect(config.receivers).toMatchObject({ otlp: { protocols: { grpc: expect.anything(), http: expect.anything() } } });
    const scrape = (config.receivers['prometheus'] as { config: { scrape_configs: Array<Record<string, unknown>> } }).config.scrape_configs;
    const pods = scrape.find((job) => 'kubernetes_sd_configs' in job);
    expect(JSON.stringify(pods)).toContain('__meta_kubernetes_pod_annotation_prometheus_io_scrape');
    const local = scrape.find((job) => 'file_sd_configs' in job);
    expect(local).toBeDefined();
    // Every job labels its series with `service`, which the dashboard groups by.
    expect(JSON.stringify(pods)).toContain('"target_label":"service"');
    const example = JSON.parse(readFileSync(join(TELEMETRY_DIR, 'targets/local-targets.json.example'), 'utf8')) as Array<{ labels: { service?: string } }>;
    for (const group of example) expect(group.labels.service).toBeDefined();
  });
});
