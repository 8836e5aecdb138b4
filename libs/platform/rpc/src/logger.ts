/**
 * The logging the RPC layer needs: pino's `(fields, message)` shape, so the telemetry
 * library's logger can be passed as is.
 */
export interface RpcLogger {
  error(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

/** Until a process passes its own logger: one JSON line per entry on stderr. */
export const stderrLogger: RpcLogger = {
  error: (fields, message) => writeLine('error', fields, message),
  warn: (fields, message) => writeLine('warn', fields, message),
};

function writeLine(level: string, fields: Record<string, unknown>, message: string): void {
  const entry = { level, time: Date.now(), name: 'rpc', msg: message, ...serializeErrors(fields) };
  process.stderr.write(`${JSON.stringify(entry)}\n`);
}

function serializeErrors(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(fields).map(([key, value]) => [
      key,
      value instanceof Error ? { type: value.name, message: value.message, stack: value.stack } : value,
    ]),
  );
}
