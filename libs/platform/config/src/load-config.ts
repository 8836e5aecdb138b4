import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { configSchema, type AxonConfig } from './config.schema';

/** Raised once at boot with every problem found in the file and the environment. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type EnvParser = (raw: string) => unknown;
const asString: EnvParser = (raw) => raw;
const asList: EnvParser = (raw) =>
  raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
const asBool: EnvParser = (raw) => {
  const v = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  return raw; // left as a string so validation reports it
};
/** `name=value;name=value` (values may hold commas, e.g. a gRPC target of several addresses). */
const asMap: EnvParser = (raw) => {
  const map: Record<string, string> = {};
  for (const entry of raw.split(';').map((s) => s.trim()).filter((s) => s.length > 0)) {
    const eq = entry.indexOf('=');
    if (eq <= 0) return raw; // left as a string so validation reports it
    map[entry.slice(0, eq).trim()] = entry.slice(eq + 1).trim();
  }
  return map;
};
const asInt: EnvParser = (raw) => (/^-?\d+$/.test(raw.trim()) ? Number(raw) : raw);

/**
 * Environment variables and the config key each overrides. Documented in
 * docs/configuration.md; tests and tools outside the project rely on these names.
 */
export const ENV_OVERRIDES: ReadonlyArray<readonly [string, readonly string[], EnvParser]> = [
  ['AXON_SERVER_NAME', ['server_name'], asString],
  ['AXON_DATA_DIR', ['data_dir'], asString],
  ['AXON_CLIENT_LISTEN', ['listen', 'client'], asString],
  ['AXON_FEDERATION_LISTEN', ['listen', 'federation'], asString],
  ['AXON_FEDERATION_TLS_CERT', ['federation', 'tls', 'certificate_path'], asString],
  ['AXON_FEDERATION_TLS_KEY', ['federation', 'tls', 'private_key_path'], asString],
  ['AXON_GRPC_LISTEN', ['listen', 'grpc'], asString],
  ['AXON_METRICS_LISTEN', ['listen', 'metrics'], asString],
  ['AXON_GRPC_TARGETS', ['grpc', 'targets'], asMap],
  ['AXON_GRPC_MAX_CONNECTION_AGE_MS', ['grpc', 'max_connection_age_ms'], asInt],
  ['AXON_PUBLIC_BASEURL', ['public_baseurl'], asString],
  ['AXON_DATABASE_URL', ['database', 'url'], asString],
  ['AXON_DATABASE_POOL_SIZE', ['database', 'pool_size'], asInt],
  ['AXON_KAFKA_BROKERS', ['kafka', 'brokers'], asList],
  ['AXON_KAFKA_TOPIC_PREFIX', ['kafka', 'topic_prefix'], asString],
  ['AXON_KAFKA_SESSION_TIMEOUT_MS', ['kafka', 'session_timeout_ms'], asInt],
  ['AXON_REDIS_URL', ['redis', 'url'], asString],
  ['AXON_REDIS_KEY_PREFIX', ['redis', 'key_prefix'], asString],
  ['AXON_REGISTRATION_SHARED_SECRET', ['registration', 'shared_secret'], asString],
  ['AXON_REGISTRATION_SHARED_SECRET_PATH', ['registration', 'shared_secret_path'], (raw) => (raw.trim().toLowerCase() === 'false' ? false : raw)],
  ['AXON_TURN_URIS', ['turn', 'uris'], asList],
  ['AXON_TURN_SHARED_SECRET', ['turn', 'shared_secret'], asString],
  ['AXON_TURN_USER_LIFETIME_MS', ['turn', 'user_lifetime_ms'], asInt],
  ['AXON_ENABLE_REGISTRATION', ['registration', 'enabled'], asBool],
  ['AXON_ENABLE_GUEST_ACCESS', ['registration', 'guest_access'], asBool],
  ['AXON_ACCESS_TOKEN_LIFETIME_MS', ['auth', 'access_token_lifetime_ms'], asInt],
  ['AXON_RATE_LIMITS_ENABLED', ['rate_limits', 'enabled'], asBool],
  ['AXON_PRESENCE_ENABLED', ['presence', 'enabled'], asBool],
  ['AXON_DEFAULT_ROOM_VERSION', ['rooms', 'default_version'], asString],
  ['AXON_SERVER_NOTICES_LOCALPART', ['server_notices', 'system_mxid_localpart'], asString],
  ['AXON_LOG_LEVEL', ['telemetry', 'log_level'], asString],
  ['AXON_OTLP_ENDPOINT', ['telemetry', 'otlp_endpoint'], asString],
  ['AXON_SERVICE_NAME', ['telemetry', 'service_name'], asString],
  ['AXON_SHUTDOWN_GRACE_MS', ['shutdown', 'grace_ms'], asInt],
  ['AXON_MEMORY_REDUCE_WHEN_IDLE_MS', ['memory', 'reduce_when_idle_ms'], asInt],
  ['AXON_METRICS_ENABLED', ['telemetry', 'metrics_enabled'], asBool],
  ['AXON_SIGNING_KEY_PATH', ['signing', 'key_path'], asString],
  ['AXON_CRYPTO_BACKEND', ['signing', 'backend'], asString],
  ['AXON_FEDERATION_CA_FILES', ['federation', 'client', 'ca_files'], asList],
  ['AXON_FEDERATION_VERIFY_CERTIFICATES', ['federation', 'client', 'verify_certificates'], asBool],
  ['AXON_FEDERATION_IP_RANGE_BLACKLIST', ['federation', 'client', 'ip_range_blacklist'], asList],
  ['AXON_FEDERATION_IP_RANGE_WHITELIST', ['federation', 'client', 'ip_range_whitelist'], asList],
  ['AXON_FEDERATION_REQUEST_TIMEOUT_MS', ['federation', 'client', 'request_timeout_ms'], asInt],
  ['AXON_FEDERATION_SENDER_BACKOFF_BASE_MS', ['federation', 'sender', 'backoff_base_ms'], asInt],
  ['AXON_FEDERATION_SENDER_BACKOFF_MAX_MS', ['federation', 'sender', 'backoff_max_ms'], asInt],
  ['AXON_FEDERATION_SENDER_MAX_QUEUED_PDUS_PER_ROOM', ['federation', 'sender', 'max_queued_pdus_per_room'], asInt],
];

function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]!] = value;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

export interface LoadConfigOptions {
  /** Environment to read; defaults to `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Overrides applied last (tests, embedded tools). */
  readonly overrides?: Readonly<Record<string, unknown>>;
}

/**
 * Reads the YAML file named by `AXON_CONFIG` (if any), applies the environment
 * overrides, validates everything with zod and returns a deeply frozen config.
 * Every problem is reported in one {@link ConfigError}.
 */
export function loadConfig(options: LoadConfigOptions = {}): AxonConfig {
  const env = options.env ?? process.env;
  const problems: string[] = [];
  let raw: Record<string, unknown> = {};

  const file = env['AXON_CONFIG'];
  if (file) {
    let text: string | undefined;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      problems.push(`AXON_CONFIG: cannot read ${file}: ${(err as Error).message}`);
    }
    if (text !== undefined) {
      const doc = parseDocument(text, { uniqueKeys: true });
      for (const e of doc.errors) problems.push(`${file}: ${e.message.split('\n')[0]}`);
      if (doc.errors.length === 0) {
        const parsed: unknown = doc.toJS();
        if (parsed === null || parsed === undefined) raw = {};
        else if (typeof parsed === 'object' && !Array.isArray(parsed)) raw = parsed as Record<string, unknown>;
        else problems.push(`${file}: the top level must be a mapping`);
      }
    }
  }

  for (const [name, path, parse] of ENV_OVERRIDES) {
    const value = env[name];
    if (value !== undefined && value !== '') setPath(raw, path, parse(value));
  }
  for (const [key, value] of Object.entries(options.overrides ?? {})) setPath(raw, key.split('.'), value);

  const result = configSchema.safeParse(raw);
  if (!result.success) {
    for (const issue of result.error.issues) {
      const key = issue.path.join('.') || '(root)';
      const envName = ENV_OVERRIDES.find(([, p]) => p.join('.') === key)?.[0];
      problems.push(`${key}${envName ? ` (${envName})` : ''}: ${issue.message}`);
    }
  }
  if (problems.length > 0 || !result.success) throw new ConfigError(problems);
  return deepFreeze(result.data) as AxonConfig;
}
