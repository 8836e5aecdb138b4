import 'reflect-metadata';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import { DiagnosticsDefinition } from '@axon/contracts-grpc';
import { loadConfig } from '@axon/platform-config';
import { Database } from '@axon/platform-database';
import { createLogger, Metrics } from '@axon/platform-telemetry';
import { Readiness } from './lifecycle';
import { RpcHost } from './rpc-host';
import { RuntimeModule } from './runtime.module';

const quietLogger = () =>
  createLogger({ level: 'warn', service: 'test', destination: new Writable({ write: (_c, _e, cb) => cb() }) });

async function boot(env: Record<string, string>): Promise<INestApplicationContext> {
  const config = loadConfig({ env: { AXON_DATA_DIR: mkdtempSync(join(tmpdir(), 'axon-rt-')), ...env } });
  return NestFactory.createApplicationContext(
    RuntimeModule.forRoot({ config, logger: quietLogger(), metrics: new Metrics('homeserver'), version: '9.9.9' }),
    { logger: false },
  );
}

describe('RuntimeModule on embedded defaults', () => {
  let app: INestApplicationContext;

  beforeAll(async () => {
    app = await boot({ AXON_SERVER_NAME: 'rt.test' });
  });
  afterAll(async () => {
    await app.close();
  });

  it('opens the embedded database and reports ready', async () => {
    expect(app.get(Database).kind).toBe('pglite');
    expect(await app.get(Readiness).evaluate()).toEqual({ ready: true, checks: { database: 'ok', cache: 'ok', bus: 'ok' } });
  });

  it('serves Diagnostics in-process, and over gRPC to a process that targets it', async () => {
    const rpc = app.get(RpcHost);
    const local = await rpc.client(DiagnosticsDefinition).describe({});
    expect(local).toMatchObject({
      service: 'homeserver',
      serverName: 'rt.test',
      version: '9.9.9',
      transports: { database: 'pglite', cache: 'in-process', bus: 'in-process', rpc: 'in-process' },
    });

    // Another process (here: another RpcHost) whose config targets this one's listener.
    const port = await rpc.listenGrpc('127.0.0.1:0');
    {
      const remoteConfig = loadConfig({
        env: {},
        overrides: { 'grpc.targets': { [DiagnosticsDefinition.fullName]: `127.0.0.1:${port}` } },
      });
      const remoteHost = new RpcHost(remoteConfig, { error: () => undefined, warn: () => undefined });
      try {
        const remote = await remoteHost.client(DiagnosticsDefinition).describe({});
        expect(remote.serverName).toBe('rt.test');
        expect(remoteHost.transport).toBe('grpc');
      } finally {
        await remoteHost.close();
      }
    }
  });

  it('turns not ready once shutdown begins', async () => {
    const other = await boot({});
    const readiness = other.get(Readiness);
    await other.close();
    const after = await readiness.evaluate();
    expect(after.ready).toBe(false);
    expect(after.checks['shutdown']).toBe('draining');
  });
});
