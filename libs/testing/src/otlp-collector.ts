import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface OtlpCollector {
  /** Base URL to configure as the OTLP/HTTP endpoint. */
  readonly endpoint: string;
  /** Every export received: path (`/v1/traces`, `/v1/metrics`) and raw body. */
  readonly received: { url: string; body: Buffer }[];
  close(): Promise<void>;
}

/** A minimal OTLP/HTTP receiver on 127.0.0.1 that records what exporters send it. */
export async function startOtlpCollector(): Promise<OtlpCollector> {
  const received: { url: string; body: Buffer }[] = [];
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      received.push({ url: req.url ?? '', body: Buffer.concat(parts) });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    received,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
