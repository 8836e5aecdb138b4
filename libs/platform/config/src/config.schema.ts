import { z } from 'zod';
import { isKnownRoomVersion } from '@axon/matrix-room-versions';

/**
 * `host:port` as the listeners take it; IPv6 hosts in brackets (`[::1]:8008`).
 * The port must be 0-65535 (0 asks the OS for a free port, useful in tests).
 */
const listenAddress = z.string().transform((value, ctx) => {
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+):(\d{1,5})$/.exec(value);
  const port = match ? Number(match[2]) : NaN;
  if (!match || port > 65535) {
    ctx.addIssue({ code: 'custom', message: `expected host:port (e.g. 127.0.0.1:8008), got "${value}"` });
    return z.NEVER;
  }
  const host = match[1]!.replace(/^\[(.*)\]$/, '$1');
  return { host, port };
});

/** A Matrix server name: hostname, IPv4 or bracketed IPv6, optional port (appendix "Server names"). */
const serverName = z
  .string()
  .min(1)
  .max(255)
  .regex(
    /^(?:\[[0-9A-Fa-f:.]{2,45}\]|[0-9A-Za-z.-]{1,255})(?::\d{1,5})?$/,
    'must be a server name: a DNS name, IPv4 address or [IPv6] literal, with an optional :port',
  );

/** An Ed25519 server key ID, `ed25519:<version>` (the only algorithm servers sign with). */
const serverKeyId = z.string().regex(/^ed25519:[A-Za-z0-9_]{1,255}$/);

/** An Ed25519 public key in unpadded Base64, as `verify_keys` publish it. */
const ed25519PublicKey = z.string().regex(/^[A-Za-z0-9+/]{43}$/, 'must be a 32-byte Ed25519 public key in unpadded Base64');

/** A token bucket, as Synapse's `rc_*` settings: `burst_count` at once, then `per_second` on average. */
const rateLimitRule = z
  .object({
    per_second: z.number().positive(),
    burst_count: z.number().int().min(1),
  })
  .strict();

/**
 * Synapse's default `ip_range_blacklist`: where federation requests are never sent
 * (loopback, private networks, link-local, CGNAT, documentation and reserved ranges).
 */
export const DEFAULT_IP_RANGE_BLACKLIST: string[] = [
  '127.0.0.0/8',
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '100.64.0.0/10',
  '192.0.0.0/24',
  '169.254.0.0/16',
  '192.88.99.0/24',
  '198.18.0.0/15',
  '192.0.2.0/24',
  '198.51.100.0/24',
  '203.0.113.0/24',
  '224.0.0.0/4',
  '0.0.0.0/8',
  '255.255.255.255/32',
  '::1/128',
  'fe80::/10',
  'fc00::/7',
  '2001:db8::/32',
  'ff00::/8',
  'fec0::/10',
  '::/128',
];

const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

export const configSchema = z
  .object({
    /** The Matrix server name: the part after the colon in user IDs. */
    server_name: serverName.default('localhost'),
    /** Where the embedded database, media and keys live. */
    data_dir: z.string().min(1).default('./data'),
    listen: z
      .object({
        client: listenAddress.prefault('127.0.0.1:8008'),
        federation: listenAddress.prefault('127.0.0.1:8448'),
        /** The gRPC listener of this process, when it serves gRPC (distributed mode). */
        grpc: listenAddress.prefault('127.0.0.1:50051'),
        /**
         * A listener of its own for `/metrics`, `/ready` and `/health`, which the client
         * listener then no longer serves; absent means the client listener serves them.
         */
        metrics: listenAddress.optional(),
      })
      .prefault({}),
    /** Client-visible base URL advertised in `/.well-known/matrix/client`. */
    public_baseurl: z.url().optional(),
    /** Delegation target advertised in `/.well-known/matrix/server` (`host:port`). */
    federation_delegate: z.string().optional(),
    database: z
      .object({
        /** Postgres URL; absent means the embedded PGlite database in `data_dir`. */
        url: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL').optional(),
        // At least 2: the in-process bus holds one connection for its lock on Postgres.
        pool_size: z.number().int().min(2).max(500).default(10),
      })
      .prefault({}),
    kafka: z
      .object({
        /** Broker list; absent means the in-process bus, durable in the database. */
        brokers: z.array(z.string().min(1)).min(1).optional(),
        client_id: z.string().min(1).default('axon'),
        /**
         * Prepended to every topic name and consumer group, so several deployments (or
         * test runs) can share one cluster. Default none: topics are `hs.room.input.v1`...
         */
        topic_prefix: z
          .string()
          .regex(/^[A-Za-z0-9._-]{0,100}$/, "may only hold letters, digits, '.', '_' and '-'")
          .default(''),
        /**
         * A consumer silent for this long is declared dead and its partitions move to the
         * other replicas, in milliseconds: the stall a crashed replica's rooms see. The
         * broker must allow it (`group.min.session.timeout.ms`, 6 s by default; the local
         * launcher's broker allows 1 s and runs 3 s). Heartbeats go every sixth of it.
         */
        session_timeout_ms: z.number().int().min(1000).max(300_000).default(30_000),
        /**
         * Partition counts by topic name (`hs.room.input.v1: 64`), for the topics whose count
         * should differ from Axon's: a consumer group's parallelism. Every process of a
         * deployment needs the same counts. Topics are created with them; a count above an
         * existing topic's raises the topic at start once its consumers have consumed
         * everything in it, one below it is refused (Kafka cannot remove partitions).
         * Raising one on a running deployment: `docs/deployment.md`.
         */
        partitions: z.record(z.string().regex(/^hs\.[a-z0-9.-]+\.v[1-9][0-9]*$/, 'must be a topic name such as hs.room.input.v1'), z.number().int().min(1).max(10_000)).default({}),
      })
      .prefault({}),
    redis: z
      .object({
        /** Redis URL; absent means in-process wake-ups, caches and rate limits. */
        url: z.string().regex(/^rediss?:\/\//, 'must be a redis:// URL').optional(),
        /** Prepended to every key and pub/sub channel, so several deployments can share one Redis. */
        key_prefix: z.string().min(1).max(100).default('axon:'),
      })
      .prefault({}),
    grpc: z
      .object({
        /** Per-call deadline for gRPC clients, in milliseconds. */
        deadline_ms: z.number().int().min(1).default(5000),
        /**
         * Where each gRPC service is reached; absent means in-process. Any gRPC target:
         * `host:port`, `dns:///name:port` (every address the name resolves to: a headless
         * Service), `ipv4:a:p,b:q`, or `file:///path` (the `host:port` lines of a file,
         * followed as it changes: the local launcher's replica registry).
         */
        targets: z.record(z.string(), z.string()).default({}),
        /**
         * A gRPC server closes each client connection after about this long (GOAWAY; its
         * running calls get `max_connection_age_grace_ms` more), so clients resolve their
         * target again and spread over the replicas there are now: a replica added behind a
         * DNS name gets calls within this time. 0 never.
         */
        max_connection_age_ms: z.number().int().min(0).default(30_000),
        max_connection_age_grace_ms: z.number().int().min(0).default(10_000),
      })
      .prefault({}),
    registration: z
      .object({
        /** Open registration (`POST /_matrix/client/v3/register`). */
        enabled: z.boolean().default(false),
        /** Secret for `/_synapse/admin/v1/register`; takes precedence over `shared_secret_path`. */
        shared_secret: z.string().min(1).optional(),
        /**
         * File holding that secret when `shared_secret` is absent: read at start, or
         * generated there on first start (mode 0600), as Synapse's generated config carries
         * one, so `npm run create-user` can make the first account. Absent means
         * `<data_dir>/registration.secret`; `false` turns shared-secret registration off.
         */
        shared_secret_path: z.union([z.string().min(1), z.literal(false)]).optional(),
        /** Whether `kind=guest` registration is allowed (only while registration is enabled). */
        guest_access: z.boolean().default(false),
        /**
         * Tokens for the `m.login.registration_token` stage. When the list is not empty,
         * registration requires one of them (the only flow offered).
         */
        registration_tokens: z
          .array(
            z
              .object({
                /** The token: 1 to 64 characters of `[A-Za-z0-9._~-]` (the spec's grammar). */
                token: z.string().regex(/^[A-Za-z0-9._~-]{1,64}$/, 'must be 1-64 characters of A-Z a-z 0-9 . _ ~ -'),
                /** How many registrations the token allows; absent means unlimited. */
                uses_allowed: z.number().int().min(0).optional(),
                /** When the token stops being valid, in milliseconds since the epoch; absent means never. */
                expiry_time: z.number().int().min(0).optional(),
              })
              .strict(),
          )
          .default([]),
      })
      .prefault({}),
    auth: z
      .object({
        /**
         * Lifetime of access tokens issued with a refresh token (`refresh_token: true`),
         * in milliseconds. Tokens issued without one never expire.
         */
        access_token_lifetime_ms: z.number().int().min(1000).default(5 * 60_000),
        /** Lifetime of `m.login.token` tokens from `POST /_matrix/client/v1/login/get_token`, in milliseconds. */
        login_token_lifetime_ms: z.number().int().min(1000).max(3_600_000).default(120_000),
        /** Whether `POST /_matrix/client/v1/login/get_token` is offered (`m.get_login_token`). */
        login_token_enabled: z.boolean().default(true),
        /** How long a user-interactive authentication session lives, in milliseconds. */
        uia_session_lifetime_ms: z.number().int().min(10_000).default(15 * 60_000),
      })
      .prefault({}),
    rate_limits: z
      .object({
        /** Off disables every rate limit (tests, trusted deployments). */
        enabled: z.boolean().default(true),
        /** Login attempts per client IP address. */
        login: rateLimitRule.prefault({ per_second: 0.17, burst_count: 3 }),
        /** Registration attempts (and username checks) per client IP address. */
        registration: rateLimitRule.prefault({ per_second: 0.17, burst_count: 3 }),
        /** Every authenticated request, per user. */
        general: rateLimitRule.prefault({ per_second: 10, burst_count: 100 }),
        /** User reports (`POST /users/{userId}/report`), per reporting user (Synapse's `rc_reports`). */
        reports: rateLimitRule.prefault({ per_second: 1, burst_count: 5 }),
        /** User directory searches, per user (Synapse's `rc_user_directory`). */
        user_directory: rateLimitRule.prefault({ per_second: 0.016, burst_count: 200 }),
      })
      .prefault({}),
    rooms: z
      .object({
        /** The room version of new rooms, advertised in `m.room_versions` of `/capabilities`. */
        default_version: z
          .string()
          .refine((v) => isKnownRoomVersion(v), 'must be a room version Axon knows (1 to 12)')
          .default('12'),
      })
      .prefault({}),
    server_notices: z
      .object({
        /**
         * The localpart of the user that sends server notices (Synapse's
         * `system_mxid_localpart`); absent turns server notices off.
         */
        system_mxid_localpart: z
          .string()
          .regex(/^[a-z0-9._=/+-]{1,255}$/, 'must be a user ID localpart: a-z 0-9 . _ = - / +')
          .optional(),
        /** The display name of the notices user. */
        system_mxid_display_name: z.string().min(1).default('Server Notices'),
        /** The name of the room each user receives notices in. */
        room_name: z.string().min(1).default('Server Notices'),
      })
      .prefault({}),
    turn: z
      .object({
        /** TURN server URIs for VoIP (`GET /voip/turnServer`), e.g. `turn:turn.example.com:3478?transport=udp`; none means no TURN server is offered. */
        uris: z.array(z.string().regex(/^turns?:/, 'must be a turn: or turns: URI')).default([]),
        /**
         * The secret shared with the TURN server (coturn's `static-auth-secret`, its REST API
         * scheme): each user gets a username `<expiry>:<user ID>` and the password
         * Base64(HMAC-SHA1(secret, username)), valid for `user_lifetime_ms`. Takes precedence
         * over `username`/`password`. A secret: set it with `AXON_TURN_SHARED_SECRET`.
         */
        shared_secret: z.string().min(1).optional(),
        /** A fixed username and password given to every user instead (no shared secret). */
        username: z.string().min(1).optional(),
        password: z.string().min(1).optional(),
        /** How long the credentials are valid (`ttl`), in milliseconds; an hour by default, as Synapse's `turn_user_lifetime`. */
        user_lifetime_ms: z.number().int().min(1000).default(3_600_000),
        /** Whether guests may get credentials too (Synapse's `turn_allow_guests`). */
        allow_guests: z.boolean().default(true),
      })
      .prefault({}),
    presence: z
      .object({
        /** Off: no presence in `/sync`, `set_presence` is ignored and `PUT /presence` changes nothing. */
        enabled: z.boolean().default(true),
        /** A user whose clients stopped syncing for this long goes `offline`, in milliseconds. */
        offline_after_ms: z.number().int().min(10_000).default(120_000),
      })
      .prefault({}),
    telemetry: z
      .object({
        service_name: z.string().min(1).default('axon'),
        log_level: logLevel.default('info'),
        /** OTLP/HTTP endpoint (e.g. http://127.0.0.1:4318); absent means OpenTelemetry off. */
        otlp_endpoint: z.url().optional(),
        /** Serve Prometheus metrics at `/metrics`. */
        metrics_enabled: z.boolean().default(true),
      })
      .prefault({}),
    federation: z
      .object({
        /**
         * TLS of the federation listener (`listen.federation`): PEM certificate chain and
         * private key. Both or neither; neither serves plain HTTP (behind a TLS-terminating
         * proxy or Ingress).
         */
        tls: z
          .object({
            certificate_path: z.string().min(1),
            private_key_path: z.string().min(1),
          })
          .optional(),
        /** Outbound requests to other homeservers. */
        client: z
          .object({
            /** PEM files of CAs trusted for other servers' certificates, besides the system's. */
            ca_files: z.array(z.string().min(1)).default([]),
            /** Verify other servers' certificates (name and chain). Off only for tests. */
            verify_certificates: z.boolean().default(true),
            /**
             * Address ranges (CIDR) outbound federation never connects to, as Synapse's
             * `ip_range_blacklist`: private, loopback, link-local and reserved ranges.
             */
            ip_range_blacklist: z.array(z.string().min(1)).default(DEFAULT_IP_RANGE_BLACKLIST),
            /** Ranges allowed although the blacklist names them (`127.0.0.1/8` for tests). */
            ip_range_whitelist: z.array(z.string().min(1)).default([]),
            /** Deadline of one outbound federation request, in milliseconds. */
            request_timeout_ms: z.number().int().min(1000).default(60_000),
          })
          .prefault({}),
        /**
         * Notary servers asked for another server's keys when that server does not answer
         * `/_matrix/key/v2/server` itself, as Synapse's `trusted_key_servers`: each
         * notary's server name and the keys its answers must be signed with (key ID to
         * unpadded Base64 public key). Empty: only servers themselves are asked.
         */
        trusted_key_servers: z
          .array(
            z
              .object({
                server_name: serverName,
                verify_keys: z
                  .record(serverKeyId, ed25519PublicKey)
                  .refine((keys) => Object.keys(keys).length > 0, 'at least one key: a notary\'s answers are always checked'),
              })
              .strict(),
          )
          .default([]),
        /** The federation sender: per-destination transaction queues. */
        sender: z
          .object({
            /** Wait after a destination's first failed transaction, in milliseconds; doubled per failure, with jitter. */
            backoff_base_ms: z.number().int().min(1).default(2000),
            /** Longest wait between two tries of a failing destination, in milliseconds. */
            backoff_max_ms: z.number().int().min(1).default(3_600_000),
            /**
             * PDUs of one room queued for one destination beyond which the oldest are dropped
             * (catch-up: the destination fetches the gap with get_missing_events once the
             * newest arrive).
             */
            max_queued_pdus_per_room: z.number().int().min(1).default(1000),
          })
          .refine((sender) => sender.backoff_base_ms <= sender.backoff_max_ms, { message: 'must not exceed backoff_max_ms', path: ['backoff_base_ms'] })
          .prefault({}),
      })
      .prefault({}),
    signing: z
      .object({
        /** The server's Ed25519 signing key file; absent means `<data_dir>/signing.key`, generated on first start. */
        key_path: z.string().min(1).optional(),
        /** The Ed25519 implementation: node:crypto (`native`), libsodium, or `auto` (native when available). */
        backend: z.enum(['auto', 'libsodium', 'native']).default('auto'),
        /**
         * How long a `/_matrix/key/v2/server` response stays valid (`valid_until_ts`), in
         * milliseconds. Receivers cap it at 7 days; at least 1 hour, as the spec asks.
         */
        key_validity_ms: z
          .number()
          .int()
          .min(3_600_000)
          .max(7 * 24 * 3_600_000)
          .default(24 * 3_600_000),
        /**
         * Keys this server signed with before (after a key rotation), published in
         * `old_verify_keys` so events signed with them still verify: key ID to the
         * public key (unpadded Base64) and when it stopped being used (`expired_ts`, ms).
         */
        old_verify_keys: z
          .record(
            serverKeyId,
            z.object({
              key: ed25519PublicKey,
              expired_ts: z.number().int().min(0),
            }),
          )
          .default({}),
      })
      .prefault({}),
    shutdown: z
      .object({
        /** How long SIGTERM waits for in-flight work before giving up, in milliseconds. */
        grace_ms: z.number().int().min(0).default(10000),
      })
      .prefault({}),
    memory: z
      .object({
        /**
         * After work, once the process has been idle this long (milliseconds) and its heap
         * grew 16 MB since the last time, it runs one memory-reducing garbage collection,
         * handing the heap's garbage and freed pages back to the system. 0: never (V8's own
         * heuristics only).
         */
        reduce_when_idle_ms: z.number().int().min(0).default(1000),
      })
      .prefault({}),
  })
  .strict();

/** The raw (pre-validation) shape accepted from YAML. */
export type ConfigInput = z.input<typeof configSchema>;
/** The validated configuration: typed, defaulted and (once loaded) deeply frozen. */
export type AxonConfig = DeepReadonly<z.output<typeof configSchema>>;

export type DeepReadonly<T> = T extends (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;
