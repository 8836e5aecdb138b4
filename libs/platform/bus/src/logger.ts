export type BusLogLevel = 'debug' | 'info' | 'warn' | 'error';

/** The bus's only logging dependency; adapt the application logger to it. */
export interface BusLogger {
  log(level: BusLogLevel, message: string, fields?: Readonly<Record<string, unknown>>): void;
}

const RANK: Record<BusLogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** JSON lines on stderr at `minLevel` and above; the default until telemetry provides a logger. */
export function stderrLogger(minLevel: BusLogLevel = 'warn'): BusLogger {
  return {
    log(level, message, fields) {
      if (RANK[level] < RANK[minLevel]) return;
      process.stderr.write(`${JSON.stringify({ level, component: 'bus', message, ...fields })}\n`);
    },
  };
}

export function errorFields(err: unknown): Record<string, unknown> {
  if (err instanceof Error) return { error: err.message, errorName: err.name, stack: err.stack };
  return { error: String(err) };
}

export function describeError(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}
