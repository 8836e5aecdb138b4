import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from './load-config';

function yamlFile(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'axon-config-'));
  const file = join(dir, 'axon.yaml');
  writeFileSync(file, text);
  return file;
}

function problemsOf(fn: () => unknown): readonly string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('defaults to embedded mode on localhost', () => {
    const config = loadConfig({ env: {} });
    expect(config.server_name).toBe('localhost');
    expect(config.data_dir).toBe('./data');
    expect(config.listen.client).toEqual({ host: '127.0.0.1', port: 8008 });
    expect(config.listen.federation).toEqual({ host: '127.0.0.1', port: 8448 });
    expect(config.listen.metrics).toBeUndefined();
    expect(config.database.url).toBeUndefined();
    expect(config.kafka.brokers).toBeUndefined();
    expect(config.redis.url).toBeUndefined();
    expect(config.registration).toEqual({ enabled: false, guest_access: false, registration_tokens: [] });
    expect(config.rate_limits.enabled).toBe(true);
    expect(config.rate_limits.login).toEqual({ per_second: 0.17, burst_count: 3 });
    expect(config.auth.access_token_lifetime_ms).toBe(300_000);
    expect(config.rooms.default_version).toBe('12');
    expect(config.server_notices).toEqual({ system_mxid_display_name: 'Server Notices', room_name: 'Server Notices' });
  });

  it('applies every documented environment variable', () => {
    const config = loadConfig({
      env: {
        AXON_SERVER_NAME: 'hs1',
        AXON_DATA_DIR: '/var/lib/axon',
        AXON_CLIENT_LISTEN: '127.0.0.2:8008',
        AXON_FEDERATION_LISTEN: '[::1]:8448',
        AXON_FEDERATION_TLS_CERT: '/etc/axon/federation.crt',
        AXON_FEDERATION_TLS_KEY: '/etc/axon/federation.key',
        AXON_METRICS_LISTEN: '10.0.0.5:9090',
        AXON_DATABASE_URL: 'postgres://axon:axon@127.0.0.1:5432/axon',
        AXON_KAFKA_BROKERS: '127.0.0.1:9092, 127.0.0.1:9094',
        AXON_REDIS_URL: 'redis://127.0.0.1:6379',
        AXON_REGISTRATION_SHARED_SECRET: 'complement',
        AXON_ENABLE_REGISTRATION: 'true',
        AXON_ENABLE_GUEST_ACCESS: 'yes',
        AXON_ACCESS_TOKEN_LIFETIME_MS: '60000',
        AXON_RATE_LIMITS_ENABLED: 'false',
        AXON_DEFAULT_ROOM_VERSION: '10',
        AXON_SERVER_NOTICES_LOCALPART: '_server',
        AXON_FEDERATION_CA_FILES: '/etc/axon/ca-1.pem, /etc/axon/ca-2.pem',
        AXON_FEDERATION_VERIFY_CERTIFICATES: 'false',
        AXON_FEDERATION_IP_RANGE_BLACKLIST: '10.0.0.0/8',
        AXON_FEDERATION_IP_RANGE_WHITELIST: '127.0.0.0/8,::1/128',
        AXON_FEDERATION_REQUEST_TIMEOUT_MS: '15000',
      },
    });
    expect(config.server_name).toBe('hs1');
    expect(config.data_dir).toBe('/var/lib/axon');
    expect(config.listen.client).toEqual({ host: '127.0.0.2', port: 8008 });
    expect(config.listen.federation).toEqual({ host: '::1', port: 8448 });
    expect(config.federation.tls).toEqual({ certificate_path: '/etc/axon/federation.crt', private_key_path: '/etc/axon/federation.key' });
    expect(config.listen.metrics).toEqual({ host: '10.0.0.5', port: 9090 });
    expect(config.database.url).toBe('postgres://axon:axon@127.0.0.1:5432/axon');
    expect(config.kafka.brokers).toEqual(['127.0.0.1:9092', '127.0.0.1:9094']);
    expect(config.redis.url).toBe('redis://127.0.0.1:6379');
    expect(config.registration).toEqual({ enabled: true, shared_secret: 'complement', guest_access: true, registration_tokens: [] });
    expect(config.auth.access_token_lifetime_ms).toBe(60_000);
    expect(config.rate_limits.enabled).toBe(false);
    expect(config.rooms.default_version).toBe('10');
    expect(config.server_notices.system_mxid_localpart).toBe('_server');
    expect(config.federation.client).toEqual({
      ca_files: ['/etc/axon/ca-1.pem', '/etc/axon/ca-2.pem'],
      verify_certificates: false,
      ip_range_blacklist: ['10.0.0.0/8'],
      ip_range_whitelist: ['127.0.0.0/8', '::1/128'],
      request_timeout_ms: 15_000,
    });
  });

  it('refuses a federation certificate without its key', () => {
    const problems = problemsOf(() => loadConfig({ env: { AXON_FEDERATION_TLS_CERT: '/etc/axon/federation.crt' } }));
    expect(problems).toEqual([expect.stringMatching(/^federation\.tls\.private_key_path \(AXON_FEDERATION_TLS_KEY\): /)]);
  });

  it('refuses a server notices localpart that cannot make a user ID', () => {
    const problems = problemsOf(() => loadConfig({ env: { AXON_SERVER_NOTICES_LOCALPART: 'Server Notices' } }));
    expect(problems).toEqual([expect.stringMatching(/^server_notices\.system_mxid_localpart \(AXON_SERVER_NOTICES_LOCALPART\): must be a user ID localpart/)]);
  });

  it('reads registration tokens and rate limits, and refuses unknown room versions and malformed tokens', () => {
    const good = yamlFile(
      [
        'registration:',
        '  registration_tokens:',
        '    - token: abc.DEF_1~-',
        '      uses_allowed: 2',
        '    - token: later',
        '      expiry_time: 1700000000000',
        'rate_limits:',
        '  login: { per_second: 1, burst_count: 5 }',
      ].join('\n'),
    );
    const config = loadConfig({ env: { AXON_CONFIG: good } });
    expect(config.registration.registration_tokens).toEqual([
      { token: 'abc.DEF_1~-', uses_allowed: 2 },
      { token: 'later', expiry_time: 1700000000000 },
    ]);
    expect(config.rate_limits.login).toEqual({ per_second: 1, burst_count: 5 });
    expect(config.rate_limits.registration).toEqual({ per_second: 0.17, burst_count: 3 });
    const bad = yamlFile(['registration:', '  registration_tokens:', '    - token: "has space"', 'rate_limits:', '  general: { per_second: 0, burst_count: 1 }'].join('\n'));
    const problems = problemsOf(() => loadConfig({ env: { AXON_CONFIG: bad, AXON_DEFAULT_ROOM_VERSION: '13' } }));
    expect(problems).toHaveLength(3);
    expect(problems.some((p) => p.startsWith('registration.registration_tokens.0.token'))).toBe(true);
    expect(problems.some((p) => p.startsWith('rate_limits.general.per_second'))).toBe(true);
    expect(problems.some((p) => p.startsWith('rooms.default_version (AXON_DEFAULT_ROOM_VERSION)'))).toBe(true);
  });

  it('reads the YAML file named by AXON_CONFIG, with the environment winning', () => {
    const file = yamlFile(
      ['server_name: example.org', 'registration:', '  enabled: true', 'telemetry:', '  log_level: debug'].join('\n'),
    );
    const config = loadConfig({ env: { AXON_CONFIG: file, AXON_SERVER_NAME: 'matrix.example.org' } });
    expect(config.server_name).toBe('matrix.example.org');
    expect(config.registration.enabled).toBe(true);
    expect(config.telemetry.log_level).toBe('debug');
  });

  it('reports every error together', () => {
    const file = yamlFile(['server_name: "bad name!"', 'unknown_key: 1', 'database:', '  pool_size: 0'].join('\n'));
    const problems = problemsOf(() =>
      loadConfig({ env: { AXON_CONFIG: file, AXON_CLIENT_LISTEN: 'nonsense', AXON_ENABLE_REGISTRATION: 'maybe' } }),
    );
    expect(problems.some((p) => p.startsWith('server_name'))).toBe(true);
    expect(problems.some((p) => p.includes('unknown_key'))).toBe(true);
    expect(problems.some((p) => p.startsWith('database.pool_size'))).toBe(true);
    expect(problems.some((p) => p.startsWith('listen.client (AXON_CLIENT_LISTEN)'))).toBe(true);
    expect(problems.some((p) => p.startsWith('registration.enabled (AXON_ENABLE_REGISTRATION)'))).toBe(true);
    expect(problems).toHaveLength(5);
  });

  it('reads old verify keys for key rotation and refuses malformed ones', () => {
    const key = 'VGhpcyBpcyAzMiBieXRlcyBvZiBwdWJsaWMga2V5ISE';
    const good = yamlFile(['signing:', '  old_verify_keys:', '    ed25519:old_1:', `      key: ${key}`, '      expired_ts: 1700000000000'].join('\n'));
    expect(loadConfig({ env: { AXON_CONFIG: good } }).signing.old_verify_keys).toEqual({ 'ed25519:old_1': { key, expired_ts: 1700000000000 } });
    expect(loadConfig({ env: {} }).signing.old_verify_keys).toEqual({});
    const bad = yamlFile(
      ['signing:', '  old_verify_keys:', '    rsa:1:', `      key: ${key}`, '      expired_ts: 1', '    ed25519:2:', '      key: short', '      expired_ts: -1'].join('\n'),
    );
    const problems = problemsOf(() => loadConfig({ env: { AXON_CONFIG: bad } }));
    expect(problems.some((p) => p.startsWith('signing.old_verify_keys.rsa:1'))).toBe(true);
    expect(problems).toHaveLength(3);
    expect(problems.some((p) => p.startsWith('signing.old_verify_keys.ed25519:2.key'))).toBe(true);
    expect(problems.some((p) => p.startsWith('signing.old_verify_keys.ed25519:2.expired_ts'))).toBe(true);
  });

  it('reads trusted key servers (notaries) and refuses one without keys', () => {
    const key = 'VGhpcyBpcyAzMiBieXRlcyBvZiBwdWJsaWMga2V5ISE';
    expect(loadConfig({ env: {} }).federation.trusted_key_servers).toEqual([]);
    const good = yamlFile(['federation:', '  trusted_key_servers:', '    - server_name: notary.example:8448', '      verify_keys:', `        ed25519:auto: ${key}`].join('\n'));
    expect(loadConfig({ env: { AXON_CONFIG: good } }).federation.trusted_key_servers).toEqual([{ server_name: 'notary.example:8448', verify_keys: { 'ed25519:auto': key } }]);
    const bad = yamlFile(
      ['federation:', '  trusted_key_servers:', '    - server_name: notary.example', '      verify_keys: {}', '    - server_name: "not a name"', '      verify_keys:', '        ed25519:a: short'].join('\n'),
    );
    const problems = problemsOf(() => loadConfig({ env: { AXON_CONFIG: bad } }));
    expect(problems.some((p) => p.startsWith('federation.trusted_key_servers.0.verify_keys'))).toBe(true);
    expect(problems.some((p) => p.startsWith('federation.trusted_key_servers.1.server_name'))).toBe(true);
    expect(problems.some((p) => p.startsWith('federation.trusted_key_servers.1.verify_keys.ed25519:a'))).toBe(true);
    expect(problems).toHaveLength(3);
  });

  it('rejects unreadable and malformed files', () => {
    expect(problemsOf(() => loadConfig({ env: { AXON_CONFIG: '/nonexistent/axon.yaml' } }))[0]).toMatch(
      /cannot read/,
    );
    expect(problemsOf(() => loadConfig({ env: { AXON_CONFIG: yamlFile('a: 1\na: 2\n') } }))[0]).toMatch(/unique/i);
    expect(problemsOf(() => loadConfig({ env: { AXON_CONFIG: yamlFile('- 1\n- 2\n') } }))[0]).toMatch(/mapping/);
  });

  it('returns a deeply frozen object', () => {
    const config = loadConfig({ env: {} });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.listen.client)).toBe(true);
    expect(() => {
      (config as { server_name: string }).server_name = 'x';
    }).toThrow(TypeError);
  });
});
