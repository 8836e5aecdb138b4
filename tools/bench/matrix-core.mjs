// Matrix core throughput: canonical JSON encoding, content hashing, event signing and
// event verification on a realistic m.room.message PDU (~1 KB and ~60 KB), for each
// Ed25519 backend (libsodium, native node:crypto), next to raw node:crypto Ed25519
// sign/verify of the same canonical bytes the library signs. Each measurement is a
// time-boxed loop (short warm-up, then ~1 s of counted operations). Run `npm run bench`.
//
// Note: signEvent/verifyEventSignature sign the *redacted* event (room v11 rules strip an
// m.room.message's content), so the signed bytes are small whatever the body size; the
// raw baseline signs exactly those bytes. The content hash covers the full event.
import { createHash, createPrivateKey, createPublicKey, sign as cryptoSign, verify as cryptoVerify } from 'node:crypto';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const dist = new URL('../../dist/libs/', import.meta.url).pathname;
const { encodeCanonicalJsonBytes } = require(join(dist, 'matrix/canonical-json/src/index.js'));
const {
  createLibsodiumEd25519Backend,
  createNativeEd25519Backend,
  createSigningKey,
  computeContentHash,
  signEvent,
  verifyEventSignature,
} = require(join(dist, 'matrix/signing/src/index.js'));
const { REDACTION_V11, redactEvent } = require(join(dist, 'matrix/events/src/index.js'));

const MEASURE_MS = Number(process.env.BENCH_MS ?? 800);
const WARMUP_MS = Math.max(50, Math.round(MEASURE_MS / 5));
const SERVER = 'bench.example.org';
const STRICT = { mode: 'strict' };

// Runs fn in batches until `ms` has passed; returns ops/s. The batch size grows so the
// clock is read rarely for fast operations.
function timed(fn, ms) {
  let ops = 0;
  let batch = 1;
  const t0 = performance.now();
  let elapsed = 0;
  while (elapsed < ms) {
    for (let i = 0; i < batch; i++) fn();
    ops += batch;
    elapsed = performance.now() - t0;
    if (elapsed < ms / 20) batch *= 2;
  }
  return (ops * 1000) / elapsed;
}

function measure(fn) {
  timed(fn, WARMUP_MS);
  return timed(fn, MEASURE_MS);
}

function must(result) {
  if (!result.ok) throw new Error(`unexpected error: ${JSON.stringify(result.error)}`);
  return result.value;
}

const b64 = (n, seed) => createHash('sha256').update(`${seed}`).digest('base64url').slice(0, n);

// A room-v11 m.room.message PDU as it arrives over federation, with the body padded so
// the full canonical JSON is about `targetBytes`.
function makePdu(targetBytes) {
  const base = {
    auth_events: [`$${b64(43, 'a1')}`, `$${b64(43, 'a2')}`, `$${b64(43, 'a3')}`],
    content: {
      body: '',
      format: 'org.matrix.custom.html',
      formatted_body: '',
      'm.mentions': { user_ids: ['@bob:example.com'] },
      msgtype: 'm.text',
    },
    depth: 12345,
    hashes: { sha256: b64(43, 'h') },
    origin_server_ts: 1735689600000,
    prev_events: [`$${b64(43, 'p1')}`],
    room_id: '!OGEhHVWSdvArJzumhm:matrix.org',
    sender: '@alice:bench.example.org',
    signatures: { [SERVER]: { 'ed25519:a_old': b64(86, 's') } },
    type: 'm.room.message',
    unsigned: { age_ts: 1735689600000 },
  };
  const size = () => encodeCanonicalJsonBytes(base, STRICT).length;
  const words = 'Lorem ipsum dolor sit amet, consectetur adipiscing elit, café ü 🎉 "quoted" \\ tab\t. ';
  let text = '';
  while (size() < targetBytes) {
    text += words;
    base.content.body = text;
    base.content.formatted_body = `<p>${text}</p>`;
  }
  return base;
}

const fmt = (n) => Math.round(n).toLocaleString('en-US');
const ratio = (a, b) => (b ? `${((a / b) * 100).toFixed(1)}%` : '');

const libsodium = await createLibsodiumEd25519Backend();
const native = await createNativeEd25519Backend();
const backends = [libsodium, native].filter(Boolean);
const seed = new Uint8Array(createHash('sha256').update('axon bench seed').digest());
const key = must(createSigningKey('bench', seed));
const publicKey = libsodium.publicKeyFromSeed(seed);

// Raw node:crypto keys, built once (the native backend rebuilds KeyObjects per call).
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const rawPriv = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
const rawPub = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' });

console.log(`node ${process.version} on ${cpus()[0]?.model ?? 'unknown CPU'} (${cpus().length} CPUs), ${process.platform}/${process.arch}`);
console.log(`backends: ${backends.map((b) => b.name).join(', ')}; ~${MEASURE_MS} ms per measurement after ${WARMUP_MS} ms warm-up`);

const started = performance.now();
for (const target of [1024, 60 * 1024]) {
  const pdu = makePdu(target);
  const fullBytes = encodeCanonicalJsonBytes(pdu, STRICT).length;
  const signedPdu = signEvent(pdu, { serverName: SERVER, key, backend: libsodium, redactionRules: REDACTION_V11 });
  // The bytes the library signs: the redacted, hashed event without signatures/unsigned.
  const redacted = redactEvent(signedPdu, REDACTION_V11);
  delete redacted.signatures;
  delete redacted.unsigned;
  const signedBytes = encodeCanonicalJsonBytes(redacted, STRICT);
  const libSig = Buffer.from(signedPdu.signatures[SERVER]['ed25519:bench'], 'base64');
  const rawSig = cryptoSign(null, signedBytes, rawPriv);
  if (!rawSig.equals(libSig)) throw new Error('raw node:crypto signature differs from the library signature');
  if (!cryptoVerify(null, signedBytes, rawPub, rawSig)) throw new Error('raw verify failed');
  // Same-size raw baseline over the full canonical bytes, for scale.
  const fullCanonical = encodeCanonicalJsonBytes(pdu, STRICT);

  const rows = [];
  const row = (name, opsPerSec, base, note = '') => rows.push({ name, opsPerSec, base, note });

  const enc = measure(() => encodeCanonicalJsonBytes(pdu, STRICT));
  const stringify = measure(() => Buffer.from(JSON.stringify(pdu)));
  row('canonical JSON encode (bytes)', enc, stringify, 'vs JSON.stringify+Buffer.from');
  const hash = measure(() => computeContentHash(pdu));
  const rawHash = measure(() => createHash('sha256').update(fullCanonical).digest('base64'));
  row('content hash', hash, rawHash, 'vs sha256 of pre-encoded bytes');

  const rawSign = measure(() => cryptoSign(null, signedBytes, rawPriv));
  const rawVerify = measure(() => cryptoVerify(null, signedBytes, rawPub, rawSig));
  const verifyOpts = (backend) => ({ serverName: SERVER, keyId: 'ed25519:bench', publicKey, backend, redactionRules: REDACTION_V11 });
  for (const backend of backends) {
    const signOpts = { serverName: SERVER, key, backend, redactionRules: REDACTION_V11 };
    const s = measure(() => signEvent(pdu, signOpts));
    row(`signEvent [${backend.name}]`, s, rawSign, 'vs raw crypto.sign');
    const vOpts = verifyOpts(backend);
    must(verifyEventSignature(signedPdu, vOpts));
    const v = measure(() => verifyEventSignature(signedPdu, vOpts));
    row(`verifyEventSignature [${backend.name}]`, v, rawVerify, 'vs raw crypto.verify');
  }
  for (const backend of backends) {
    row(`  backend.sign only [${backend.name}]`, measure(() => backend.sign(seed, signedBytes)), rawSign, 'vs raw crypto.sign');
    row(`  backend.verify only [${backend.name}]`, measure(() => backend.verify(publicKey, signedBytes, libSig)), rawVerify, 'vs raw crypto.verify');
  }
  row('raw crypto.sign (cached KeyObject)', rawSign, null);
  row('raw crypto.verify (cached KeyObject)', rawVerify, null);

  console.log();
  console.log(
    `m.room.message PDU: ${fullBytes.toLocaleString('en-US')} B canonical (full), ${signedBytes.length} B signed (redacted, room v11 rules)`,
  );
  const w = Math.max(...rows.map((r) => r.name.length));
  console.log(`${'operation'.padEnd(w)}  ${'ops/s'.padStart(11)}  ${'baseline/s'.padStart(11)}  ${'lib/raw'.padStart(7)}  baseline`);
  console.log('-'.repeat(w + 2 + 11 + 2 + 11 + 2 + 7 + 2 + 30));
  for (const r of rows) {
    console.log(
      `${r.name.padEnd(w)}  ${fmt(r.opsPerSec).padStart(11)}  ${(r.base ? fmt(r.base) : '').padStart(11)}  ${(r.base ? ratio(r.opsPerSec, r.base) : '').padStart(7)}  ${r.note}`,
    );
  }
}
console.log(`\ntotal ${((performance.now() - started) / 1000).toFixed(1)} s`);
