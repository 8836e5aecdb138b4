import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

// The process runner as a real process, from the build the Jest global setup makes.
const RUN_PROCESS = join(resolve(__dirname, '../../../..'), 'dist/libs/platform/process/src');

/**
 * An app whose `close` leaves a TCP connection open, as a client library may (kafkajs
 * after a broker restart): it closes its listener but not the connection to it.
 */
const LEAKY_APP = `
const { createServer, connect } = require('node:net');
const { once } = require('node:events');
require(${JSON.stringify(RUN_PROCESS)}).runProcess({
  app: 'leaky',
  version: '0',
  async start() {
    const server = createServer(() => {}).listen(0, '127.0.0.1');
    await once(server, 'listening');
    const leaked = connect(server.address().port, '127.0.0.1');
    await once(leaked, 'connect');
    return { addresses: {}, async close() { server.close(); } };
  },
});
`;

interface Run {
  readonly exit: { code: number | null; signal: NodeJS.Signals | null };
  readonly logs: Record<string, unknown>[];
}

/** Starts the app, sends SIGTERM once it is ready, and collects its exit and JSON logs. */
function runUntilSigterm(graceMs: number): Promise<Run> {
  const dataDir = mkdtempSync(join(tmpdir(), 'axon-run-process-'));
  const child = spawn(process.execPath, ['-e', LEAKY_APP], {
    env: { PATH: process.env['PATH'] ?? '', AXON_DATA_DIR: dataDir, AXON_SHUTDOWN_GRACE_MS: String(graceMs), AXON_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const logs: Record<string, unknown>[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const entry = JSON.parse(line) as Record<string, unknown>;
    logs.push(entry);
    if (entry['msg'] === 'leaky ready') child.kill('SIGTERM');
  });
  return new Promise((resolveRun) =>
    child.once('exit', (code, signal) => {
      rmSync(dataDir, { recursive: true, force: true });
      resolveRun({ exit: { code, signal }, logs });
    }),
  );
}

describe('runProcess shutdown', () => {
  it('exits 0 once closed, naming the handles a library left open, instead of waiting out the grace period to exit 1', async () => {
    // A grace period longer than this test's timeout: only the exit after close can pass.
    const { exit, logs } = await runUntilSigterm(120_000);
    expect(exit).toEqual({ code: 0, signal: null });
    const messages = logs.map((entry) => entry['msg']);
    expect(messages).toEqual(expect.arrayContaining(['leaky ready', 'shutting down: draining requests', 'shutdown complete']));
    const lingering = logs.find((entry) => entry['msg'] === 'closed, but handles are still open; exiting');
    expect(lingering?.['active']).toEqual(expect.arrayContaining(['TCPSocketWrap']));
    expect(messages).not.toContain('shutdown grace period exceeded; exiting');
  }, 30_000);
});
