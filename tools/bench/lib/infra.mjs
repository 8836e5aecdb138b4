// The connection settings of deploy/local (Postgres, Redis, Kafka), for benches that start
// services needing all three.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './run.mjs';

/** Sets every variable deploy/local/env.sh prints that the environment does not set already. */
export function useLocalInfraEnv() {
  const lines = execFileSync('bash', [join(ROOT, 'deploy/local/env.sh')], { encoding: 'utf8' }).trim().split('\n');
  for (const line of lines) {
    const [key, value] = line.split(/=(.*)/s);
    process.env[key] ??= value;
  }
}
