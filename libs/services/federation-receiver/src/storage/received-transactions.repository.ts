import type { ServerName } from '@axon/matrix-identifiers';
import type { DataSource } from '@axon/platform-database';

/** How long a transaction's answer is kept for a sender that sends it again. */
export const RECEIVED_TRANSACTION_TTL_MS = 24 * 3_600_000;

/** The answers given to received transactions (`received_transactions`), per origin and transaction ID. */
export class ReceivedTransactionsRepository {
  constructor(private readonly db: DataSource) {}

  async answerOf(origin: ServerName, txnId: string): Promise<string | undefined> {
    const rows = (await this.db.query(`SELECT response FROM received_transactions WHERE origin = $1 AND txn_id = $2`, [origin, txnId])) as Array<{ response: string }>;
    return rows[0]?.response;
  }

  /** Records an answer (the first one recorded stands) and forgets those past their day. */
  async record(origin: ServerName, txnId: string, response: string, now: number): Promise<void> {
    await this.db.query(`INSERT INTO received_transactions (origin, txn_id, response, received_ts) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`, [origin, txnId, response, now]);
    await this.db.query(`DELETE FROM received_transactions WHERE received_ts < $1`, [now - RECEIVED_TRANSACTION_TTL_MS]);
  }
}
