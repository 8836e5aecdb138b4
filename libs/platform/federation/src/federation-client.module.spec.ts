import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Global, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { loadConfig } from '@axon/platform-config';
import { CONFIG, LOGGER, ServerKeys, ShutdownSequence } from '@axon/platform-runtime';
import { createLogger } from '@axon/platform-telemetry';
import { FederationDestinationRefusedError } from './errors';
import { FederationClient } from './federation-client';
import { FederationClientModule } from './federation-client.module';

describe('FederationClientModule', () => {
  const dir = mkdtempSync(join(tmpdir(), 'axon-fed-module-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('gives one client built from the configuration, closed by the shutdown sequence', async () => {
    const logger = createLogger({ level: 'silent', service: 'test', destination: new Writable({ write: (_c, _e, cb) => cb() }) });
    const keys = await ServerKeys.load({ keyPath: join(dir, 'signing.key'), backend: 'auto' });
    const shutdown = new ShutdownSequence(logger);

    /** The providers RuntimeModule gives every process, without its infrastructure. */
    @Global()
    @Module({
      providers: [
        { provide: CONFIG, useValue: loadConfig({ env: {}, overrides: { server_name: 'origin.test' } }) },
        { provide: LOGGER, useValue: logger },
        { provide: ServerKeys, useValue: keys },
        { provide: ShutdownSequence, useValue: shutdown },
      ],
      exports: [CONFIG, LOGGER, ServerKeys, ShutdownSequence],
    })
    class RuntimeStandIn {}

    @Module({ imports: [RuntimeStandIn, FederationClientModule] })
    class ServiceModule {}

    const app = await NestFactory.createApplicationContext(ServiceModule, { logger: false });
    const client = app.get(FederationClient);
    expect(app.get(FederationClient)).toBe(client);
    // The default blocklist of the configuration is in force.
    await expect(client.get('127.0.0.1', '/_matrix/federation/v1/version')).rejects.toBeInstanceOf(FederationDestinationRefusedError);
    const close = jest.spyOn(client, 'close');
    await shutdown.run();
    expect(close).toHaveBeenCalledTimes(1);
    await app.close();
  });
});
