import { createHash } from 'node:crypto';
import { parseCanonicalJson, type JsonObject } from '@axon/matrix-canonical-json';
import type { ServerName } from '@axon/matrix-identifiers';
import { finalizeEdu, type Edu } from '../edus';
import type { QueuedBatch } from './ports';

/** At most this many PDUs and EDUs in one transaction (the spec's limits). */
export const MAX_PDUS_PER_TRANSACTION = 50;
export const MAX_EDUS_PER_TRANSACTION = 100;

/**
 * The transaction ID of a batch: its first and last queue positions, and a digest of
 * all of them. A transaction retried after a failure or a crash is read from the same
 * rows, so it gets the same ID, and the receiver, which remembers transactions by origin
 * and ID, answers it without processing it twice. The digest keeps two different sets
 * from sharing an ID: rows are numbered when inserted but committed in any order, so a
 * retry can find a row between the first and the last that the first try did not carry,
 * and a receiver that saw the ID already would drop it.
 */
export function transactionId(batch: QueuedBatch): string {
  const positions = [...batch.pdus, ...batch.edus].map((row) => BigInt(row.position)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (positions.length === 0) throw new Error('a transaction carries at least one PDU or EDU');
  const digest = createHash('sha256').update(positions.join(',')).digest('base64url').slice(0, 8);
  return `${positions[0]!}-${positions[positions.length - 1]!}-${digest}`;
}

/**
 * The body of `PUT /_matrix/federation/v1/send/{txnId}`. PDUs are parsed from their
 * canonical JSON (integers beyond 2^53 kept exact), so the client re-encodes them to the
 * same bytes.
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#put_matrixfederationv1sendtxnid
 */
export function transactionBody(origin: ServerName, batch: QueuedBatch, now: number): JsonObject {
  const pdus = batch.pdus.map((row) => {
    const parsed = parseCanonicalJson(row.pduJson, { mode: 'lenient' });
    if (!parsed.ok) throw new Error(`queued PDU ${row.eventId} is not JSON: ${parsed.error.message}`);
    return parsed.value;
  });
  const edus = batch.edus.map((row) => finalizeEdu(JSON.parse(row.eduJson) as Edu, now) as unknown as JsonObject);
  return { origin, origin_server_ts: now, pdus, edus };
}
