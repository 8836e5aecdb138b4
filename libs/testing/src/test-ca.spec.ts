import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestCa } from './test-ca';

describe('createTestCa', () => {
  const dir = mkdtempSync(join(tmpdir(), 'axon-ca-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function fetchWith(ca: string | undefined, servername: string, port: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/', servername, ca, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(String(res.statusCode)));
      });
      req.on('error', reject);
      req.end();
    });
  }

  it('issues certificates that verify against the CA for the names given, and only against it', async () => {
    const ca = createTestCa(dir);
    const issued = ca.issue('hs1', ['hs1.test', '127.0.0.1']);
    const server = createServer({ cert: issued.certificate, key: issued.privateKey }, (_req, res) => res.end('ok'));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as { port: number };
    try {
      await expect(fetchWith(ca.certificate, 'hs1.test', port)).resolves.toBe('200');
      await expect(fetchWith(ca.certificate, 'other.test', port)).rejects.toThrow(/altnames|Hostname/i);
      await expect(fetchWith(undefined, 'hs1.test', port)).rejects.toThrow(/certificate/i);
    } finally {
      server.close();
    }
  });
});
