import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { GRPC_SERVER_NAMES, GRPC_SERVICES } from './grpc-services';

/** `package.Service` for every service in proto/hs (the contracts), read from the .proto files. */
function protoServices(dir: string): string[] {
  const names: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.proto')) continue;
    const text = readFileSync(join(entry.parentPath, entry.name), 'utf8');
    const pkg = /^package ([\w.]+);/m.exec(text)?.[1];
    for (const m of text.matchAll(/^service (\w+)/gm)) names.push(`${pkg}.${m[1]}`);
  }
  return names.sort();
}

describe('GRPC_SERVICES', () => {
  it('routes every product gRPC service in proto/hs, and nothing else', () => {
    const expected = protoServices(resolve(__dirname, '../../../../proto/hs')).filter((name) => !name.startsWith('hs.platform.'));
    expect(Object.keys(GRPC_SERVICES).sort()).toEqual(expected);
  });

  it('names the room server, the client API and the federation receiver as the gRPC servers', () => {
    expect([...GRPC_SERVER_NAMES].sort()).toEqual(['client-api', 'federation-receiver', 'room-server']);
  });
});
