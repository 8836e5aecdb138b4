// How a checkout's own `npm start` runs the homeserver, for the launchers that start it
// themselves (bench targets, the fuzzer) so that what they measure is what `npm start`
// runs: the environment its start script sets before `node` (`NAME=value ... node`), the
// allocator `deploy/allocator.sh` picks on this machine, and the Node flags.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const MAIN = 'dist/apps/homeserver/src/main.js';

/** `{ env, flags }` of `npm start` in `root` (a checkout without these parts gets none). */
export function startCommandOf(root) {
  const start = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts?.start ?? '';
  const launch = /((?:\b[A-Z_][A-Z0-9_]*=\S+\s+)*)node((?:\s+--\S+)*)\s+dist\/apps\/homeserver\/src\/main\.js/.exec(start);
  const pairs = (launch?.[1] ?? '').trim().split(/\s+/).filter(Boolean);
  const env = Object.fromEntries(pairs.map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]));
  const flags = (launch?.[2] ?? '').trim().split(/\s+/).filter(Boolean);
  return { env: { ...allocatorEnvOf(root, start), ...env }, flags, main: join(root, MAIN) };
}

/** What sourcing `deploy/allocator.sh` sets here, when the start script sources it (LD_PRELOAD, MALLOC_CONF). */
function allocatorEnvOf(root, start) {
  const script = join(root, 'deploy/allocator.sh');
  if (!start.includes('deploy/allocator.sh') || !existsSync(script)) return {};
  const env = { PATH: process.env.PATH ?? '', ...(process.env.AXON_JEMALLOC !== undefined ? { AXON_JEMALLOC: process.env.AXON_JEMALLOC } : {}) };
  const out = execFileSync('sh', ['-c', `. "$1"; printf '%s\\n%s' "\${LD_PRELOAD:-}" "\${MALLOC_CONF:-}"`, 'sh', script], { env, encoding: 'utf8' });
  const [preload = '', conf = ''] = out.split('\n');
  return { ...(preload ? { LD_PRELOAD: preload } : {}), ...(conf ? { MALLOC_CONF: conf } : {}) };
}
