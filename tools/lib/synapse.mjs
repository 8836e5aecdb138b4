// Synapse from PyPI (deploy/local/synapse.sh), configured the same way for every tool that
// runs it beside Axon (the benches, the client scenarios, the federation tests): client
// listener on 127.0.0.1, open registration without verification, every rate limit out of
// the way, logs at WARNING in the server's directory; for the federation tests a TLS
// federation listener as well.
//
// Also a command, for callers that cannot import an ES module (the TypeScript test
// harness, libs/testing/src/federation-net.ts): installs the venv if needed, writes the
// configuration and prints what configureSynapse returns, as JSON:
//   node tools/lib/synapse.mjs configure <dir> '<options as JSON>'
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The Python of the cached Synapse venv (installed on first use), and `synapse X on python Y`. */
export function synapsePython() {
  const python = execFileSync('bash', [join(ROOT, 'deploy/local/synapse.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  const [py, syn] = execFileSync(python, ['-c', 'import sys, synapse; print(sys.version.split()[0], synapse.__version__)'], { encoding: 'utf8' }).trim().split(' ');
  return { python, version: `synapse ${syn} on python ${py}` };
}

/**
 * Writes `dir/homeserver.yaml` (and its log config) for a Synapse on `port` with
 * `database` (Synapse's `database` section: sqlite3 or psycopg2), generates its keys, and
 * returns the config file and how to run it.
 *
 * `federation`, when given, adds a federation listener with TLS on `federation.port`
 * (`certificatePath`, `privateKeyPath`: PEM files), trusts `caFiles` for other servers'
 * certificates (verification stays on), lets outbound federation reach
 * `ipRangeWhitelist` (Synapse refuses loopback and private addresses otherwise) and keeps
 * presence on.
 */
export function configureSynapse(python, dir, { serverName, port, database, federation }) {
  const big = { per_second: 1_000_000, burst_count: 1_000_000 };
  const logConfig = {
    version: 1,
    formatters: { precise: { format: '%(asctime)s - %(name)s - %(lineno)d - %(levelname)s - %(message)s' } },
    handlers: { file: { class: 'logging.FileHandler', formatter: 'precise', filename: join(dir, 'homeserver.log') } },
    root: { level: 'WARNING', handlers: ['file'] },
    loggers: { synapse: { level: 'WARNING' }, 'synapse.storage.SQL': { level: 'WARNING' }, 'synapse.access': { level: 'WARNING' } },
    disable_existing_loggers: false,
  };
  mkdirSync(join(dir, 'media'), { recursive: true });
  // YAML is a superset of JSON: both files are written as JSON.
  writeFileSync(join(dir, 'log.config'), JSON.stringify(logConfig, null, 2));
  const config = {
    server_name: serverName,
    pid_file: join(dir, 'homeserver.pid'),
    listeners: [{ port, bind_addresses: ['127.0.0.1'], type: 'http', tls: false, x_forwarded: false, resources: [{ names: ['client'], compress: false }] }],
    database,
    log_config: join(dir, 'log.config'),
    media_store_path: join(dir, 'media'),
    signing_key_path: join(dir, 'signing.key'),
    report_stats: false,
    macaroon_secret_key: randomBytes(32).toString('hex'),
    form_secret: randomBytes(32).toString('hex'),
    registration_shared_secret: randomBytes(32).toString('hex'),
    enable_registration: true,
    enable_registration_without_verification: true,
    // Setup only (registration); no measured or tested path hashes a password often.
    bcrypt_rounds: 4,
    trusted_key_servers: [],
    suppress_key_server_warning: true,
    rc_message: big,
    rc_registration: big,
    rc_registration_token_validity: big,
    rc_login: { address: big, account: big, failed_attempts: big },
    rc_joins: { local: big, remote: big },
    rc_joins_per_room: big,
    rc_invites: { per_room: big, per_user: big, per_issuer: big },
    rc_3pid_validation: big,
    rc_admin_redaction: big,
    rc_room_creation: big,
    rc_presence: { per_user: big },
    rc_delayed_event_mgmt: big,
    rc_key_requests: big,
    rc_third_party_invite: big,
    rc_media_create: big,
    rc_reports: big,
    rc_user_directory: big,
    // Inbound federation requests per origin: none delayed, none refused.
    rc_federation: { window_size: 1000, sleep_limit: 1_000_000, sleep_delay: 0, reject_limit: 1_000_000, concurrent: 1_000_000 },
    ...(federation ? federationSettings(federation) : {}),
  };
  if (federation) config.listeners.push(federationListener(federation.port));
  const configFile = join(dir, 'homeserver.yaml');
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  execFileSync(python, ['-m', 'synapse.app.homeserver', '-c', configFile, '--generate-keys'], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
  return {
    configFile,
    command: python,
    args: ['-m', 'synapse.app.homeserver', '-c', configFile],
    env: { PATH: process.env.PATH ?? '', HOME: dir },
  };
}

function federationListener(port) {
  return { port, bind_addresses: ['127.0.0.1'], type: 'http', tls: true, x_forwarded: false, resources: [{ names: ['federation'], compress: false }] };
}

function federationSettings({ certificatePath, privateKeyPath, caFiles, ipRangeWhitelist }) {
  return {
    tls_certificate_path: certificatePath,
    tls_private_key_path: privateKeyPath,
    federation_verify_certificates: true,
    federation_custom_ca_list: caFiles,
    ip_range_whitelist: ipRangeWhitelist,
    use_presence: true,
    // Off by default in Synapse: the federation tests read its room directory from Axon.
    allow_public_rooms_over_federation: true,
    room_list_publication_rules: [{ action: 'allow' }],
  };
}

if (process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [command, dir, options] = process.argv.slice(2);
  if (command !== 'configure' || dir === undefined || options === undefined) {
    console.error("usage: node tools/lib/synapse.mjs configure <dir> '<options as JSON>'");
    process.exit(2);
  }
  const { python, version } = synapsePython();
  console.log(JSON.stringify({ ...configureSynapse(python, dir, JSON.parse(options)), version }));
}
