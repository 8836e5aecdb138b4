import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type { Counter, Gauge, Histogram } from 'prom-client';

const APP_NAME = /^[a-z][a-z0-9_]*$/;

/**
 * The process's Prometheus registry. Metric names follow the house rule
 * `hs_<app>_<subsystem>_<name>_<unit>`; `app` is fixed per process.
 */
export class Metrics {
  readonly registry = new Registry();

  constructor(readonly app: string) {
    if (!APP_NAME.test(app)) throw new Error(`metrics app name must match ${APP_NAME}: "${app}"`);
    collectDefaultMetrics({ register: this.registry, prefix: `hs_${app}_process_` });
  }

  private name(subsystem: string, name: string, unit?: string): string {
    return ['hs', this.app, subsystem, name, unit].filter(Boolean).join('_');
  }

  counter<L extends string>(subsystem: string, name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
    return new Counter({ name: this.name(subsystem, name, 'total'), help, labelNames, registers: [this.registry] });
  }

  gauge<L extends string>(
    subsystem: string,
    name: string,
    unit: string | undefined,
    help: string,
    labelNames: readonly L[] = [],
  ): Gauge<L> {
    return new Gauge({ name: this.name(subsystem, name, unit), help, labelNames, registers: [this.registry] });
  }

  histogram<L extends string>(
    subsystem: string,
    name: string,
    unit: string,
    help: string,
    labelNames: readonly L[] = [],
    buckets?: number[],
  ): Histogram<L> {
    return new Histogram({
      name: this.name(subsystem, name, unit),
      help,
      labelNames,
      registers: [this.registry],
      ...(buckets ? { buckets } : {}),
    });
  }

  /** The text exposition format for a `/metrics` scrape. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
