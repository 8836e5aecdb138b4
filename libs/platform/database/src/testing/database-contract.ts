import { Writable } from 'node:stream';
import type { MigrationInterface, QueryRunner } from 'typeorm';
import { createLogger } from '@axon/platform-telemetry';
import { Database, type DatabaseOptions } from '../database';

class CreateNotes1700000000000 implements MigrationInterface {
  name = 'CreateNotes1700000000000';
  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE notes (
      id BIGSERIAL PRIMARY KEY,
      body TEXT NOT NULL,
      blob BYTEA,
      doc JSONB,
      big BIGINT,
      at TIMESTAMPTZ NOT NULL DEFAULT now()
    )`);
  }
  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE notes');
  }
}

class AddNotesTag1700000000001 implements MigrationInterface {
  name = 'AddNotesTag1700000000001';
  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE notes ADD COLUMN tag TEXT NOT NULL DEFAULT 'none'`);
  }
  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE notes DROP COLUMN tag');
  }
}

const MIGRATIONS = [CreateNotes1700000000000, AddNotesTag1700000000001];

/** A fresh backend per test: options for `Database.open` and a unique schema prefix. */
export interface DatabaseBinding {
  options(): DatabaseOptions;
  /** Whether a closed-and-reopened database keeps its data (false for in-memory). */
  readonly persistent: boolean;
}

/**
 * The database port's contract, run against embedded PGlite and real Postgres: the same
 * SQL, the same result shapes, schemas per service, migrations once, isolated transactions.
 */
export function describeDatabaseContract(name: string, makeBinding: () => Promise<DatabaseBinding>): void {
  describe(`database contract: ${name}`, () => {
    let binding: DatabaseBinding;
    let db: Database;
    let seq = 0;
    const schema = (label: string) => `t_${label}_${process.pid}_${Date.now() % 1e6}_${seq++}`;

    beforeEach(async () => {
      binding = await makeBinding();
      db = await Database.open(binding.options());
    });
    afterEach(async () => {
      await db.close();
    });

    it('runs migrations at start, in the service schema, once', async () => {
      const s = schema('mig');
      const ds = await db.dataSource({ schema: s, migrations: MIGRATIONS });
      const applied = await ds.query(`SELECT name FROM "${s}".migrations ORDER BY id`);
      expect(applied.map((r: { name: string }) => r.name)).toEqual(MIGRATIONS.map((m) => m.name));
      await ds.query(`INSERT INTO notes (body) VALUES ('x')`);
      const again = await db.dataSource({ schema: s, migrations: MIGRATIONS });
      expect(await again.query(`SELECT count(*)::int AS n FROM "${s}".migrations`)).toEqual([{ n: 2 }]);
      expect(await again.query(`SELECT body, tag FROM notes`)).toEqual([{ body: 'x', tag: 'none' }]);
    });

    it('keeps each service in its own schema', async () => {
      const a = await db.dataSource({ schema: schema('a'), migrations: MIGRATIONS });
      const b = await db.dataSource({ schema: schema('b'), migrations: MIGRATIONS });
      await a.query(`INSERT INTO notes (body) VALUES ('only in a')`);
      expect(await b.query(`SELECT body FROM notes`)).toEqual([]);
      expect(await a.query(`SELECT body FROM notes`)).toEqual([{ body: 'only in a' }]);
    });

    it('returns the same value shapes on both backends', async () => {
      const ds = await db.dataSource({ schema: schema('types'), migrations: MIGRATIONS });
      await ds.query(`INSERT INTO notes (body, blob, doc, big) VALUES ($1, $2, $3, $4)`, [
        'é',
        Buffer.from([0, 1, 254, 255]),
        JSON.stringify({ a: [1, 'two'], b: null }),
        '9007199254740993',
      ]);
      const [row] = await ds.query(`SELECT id, body, blob, doc, big, at FROM notes`);
      expect(row.id).toBe('1');
      expect(row.body).toBe('é');
      expect(Buffer.isBuffer(row.blob)).toBe(true);
      expect([...row.blob]).toEqual([0, 1, 254, 255]);
      expect(row.doc).toEqual({ a: [1, 'two'], b: null });
      expect(row.big).toBe('9007199254740993');
      expect(row.at).toBeInstanceOf(Date);
      const updated = await ds.query(`UPDATE notes SET body = 'y' WHERE id = $1`, ['1']);
      expect(updated[1]).toBe(1);
    });

    it('fails a statement with an error that, logged, shows none of its values', async () => {
      const ds = await db.dataSource({ schema: schema('log'), migrations: MIGRATIONS });
      await ds.query(`CREATE UNIQUE INDEX notes_body ON notes (body)`);
      await ds.query(`INSERT INTO notes (body) VALUES ('marker-unique-4')`);
      const failing: Array<[string, unknown[]]> = [
        // jsonb refuses U+0000: the error quotes the parameter in `where`.
        [`INSERT INTO notes (body, doc) VALUES ($1, $2::jsonb)`, ['marker-body-1', JSON.stringify({ a: '\u0000 marker-doc-2' })]],
        // A data exception quotes the input in its message.
        [`SELECT $1::bigint`, ['marker-int-3']],
        // A unique violation names the key's value in `detail`.
        [`INSERT INTO notes (body) VALUES ($1)`, ['marker-unique-4']],
      ];
      const lines: string[] = [];
      const logger = createLogger({ level: 'error', service: 'contract', destination: new Writable({ write: (chunk: Buffer, _e, cb) => (lines.push(chunk.toString()), cb()) }) });
      for (const [sql, params] of failing) {
        const error = await ds.query(sql, params).then(
          () => undefined,
          (err: unknown) => err,
        );
        expect(error).toBeInstanceOf(Error);
        logger.error({ err: error }, 'statement failed');
      }
      expect(lines).toHaveLength(failing.length);
      for (const line of lines) {
        expect(line).not.toMatch(/marker-/);
        // What failed stays readable: the statement and the SQLSTATE.
        expect(JSON.parse(line)).toMatchObject({ err: { query: expect.any(String), code: expect.stringMatching(/^[0-9A-Z]{5}$/) } });
      }
    });

    it('commits and rolls back transactions, isolated from each other', async () => {
      const ds = await db.dataSource({ schema: schema('tx'), migrations: MIGRATIONS });
      await ds.transaction(async (em) => {
        await em.query(`INSERT INTO notes (body) VALUES ('kept')`);
      });
      await expect(
        ds.transaction(async (em) => {
          await em.query(`INSERT INTO notes (body) VALUES ('dropped')`);
          throw new Error('abort');
        }),
      ).rejects.toThrow('abort');

      // Two transactions at once: the failing one must not take the other's rows with it.
      let enteredA!: () => void;
      const aEntered = new Promise<void>((r) => (enteredA = r));
      const a = ds.transaction(async (em) => {
        await em.query(`INSERT INTO notes (body) VALUES ('a1')`);
        enteredA();
        await new Promise((r) => setTimeout(r, 20));
        await em.query(`INSERT INTO notes (body) VALUES ('a2')`);
      });
      const b = (async () => {
        await aEntered;
        await ds.transaction(async (em) => {
          await em.query(`INSERT INTO notes (body) VALUES ('b1')`);
          throw new Error('b fails');
        });
      })();
      await a;
      await expect(b).rejects.toThrow('b fails');
      const rows = await ds.query(`SELECT body FROM notes ORDER BY id`);
      expect(rows.map((r: { body: string }) => r.body)).toEqual(['kept', 'a1', 'a2']);
    });

    it('migrates once when replicas start together', async () => {
      const s = schema('race');
      // On Postgres a second replica is a second Database (its own pool); embedded mode
      // has one process, so its racing DataSources share the one instance.
      const other = binding.options().url ? await Database.open(binding.options()) : db;
      try {
        const [x, y] = await Promise.all([
          db.dataSource({ schema: s, migrations: MIGRATIONS }),
          other.dataSource({ schema: s, migrations: MIGRATIONS }),
        ]);
        expect(await x.query(`SELECT count(*)::int AS n FROM migrations`)).toEqual([{ n: 2 }]);
        expect(await y.query(`SELECT count(*)::int AS n FROM notes`)).toEqual([{ n: 0 }]);
      } finally {
        if (other !== db) await other.close();
      }
    });

    it('keeps committed data across a restart', async () => {
      if (!binding.persistent) throw new Error('contract bindings must be persistent');
      const s = schema('durable');
      const ds = await db.dataSource({ schema: s, migrations: MIGRATIONS });
      await ds.query(`INSERT INTO notes (body) VALUES ('survives')`);
      await db.close();
      db = await Database.open(binding.options());
      const again = await db.dataSource({ schema: s, migrations: MIGRATIONS });
      expect(await again.query(`SELECT body FROM notes`)).toEqual([{ body: 'survives' }]);
    });
  });
}
