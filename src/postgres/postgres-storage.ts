import { createHash } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import { CheckpointError, quote } from '../errors';
import { alreadyCommitted, BaseStorage, checkpointNotFound } from '../storage/base-storage';
import type { CommittedCheckpoint, CreateCheckpointOptions, Storage } from '../storage/storage';
import { GuardWrapper } from '../wrappers/guard-wrapper';
import { batches } from '../database/batches';
import { CLOSED, CloseGate } from '../database/close-gate';
import { withDeadline } from '../database/deadline';
import { loadDriver } from '../database/load-driver';
import { ensureSchema, tableNames, type TableNames } from './postgres-schema';
import { copyValues } from './copy-values';
import { keyList, type SummaryRow } from './postgres-key-list';
import { ignore, isHealthy, release } from './postgres-pooled-client';
import { PostgresCommittedCheckpoint } from './postgres-committed-checkpoint';
import { positive, type PostgresStorageOptions } from './postgres-storage-options';
import { PostgresUncommittedCheckpoint } from './postgres-uncommitted-checkpoint';
import {
  commitTokenStatement,
  existsStatement,
  firstSliceStatement,
  insertCheckpointStatement,
  insertCheckpointWithValuesStatement,
  insertValuesStatement,
  loadStatement,
  prefixStatement,
  removeStatement,
  sliceStatement,
  storedIdentifiersStatement,
  summaryFromValuesStatement,
  summaryStatement,
  suspectKeysStatement,
} from './postgres-statements';
import {
  PREPARED_ROWS,
  COPY_BYTES,
  INSERT_BATCH,
  MAX_POSTGRES_VALUE_BYTES,
  READ_CHUNK_BYTES,
  MAX_POSTGRES_KEYS,
  SUSPECT_NAME,
  MAX_POSTGRES_CHECKPOINTS,
  SUMMARY_SCAN,
  PREFIX_BATCH,
} from './postgres-limits';
import { describeCause, serverAddress, type ServerAddress } from '../database/server-address';
import { readStoredName, storedName } from '../database/stored-name';
import { connectionLost } from '../database/connection-lost';
import type { DamagedName } from '../database/damaged-name';
import type {
  CheckpointSummaries,
  CheckpointSummary,
  SummaryListing,
} from '../storage/checkpoint-summaries';
import {
  selectWithPrefix,
  type PrefixListing,
  type PrefixListingOptions,
} from '../storage/prefix-listing';
import { nameProblem } from '../storage/names';
import { prefixRange, sortedNames, sortKey } from '../database/sort-key';
import { readStoredLabel, storedLabel } from '../database/stored-label';

/**
 * Checkpoints in a PostgreSQL database, shared by every instance of a service.
 *
 * Layout: two tables (see `postgres-schema.ts` and the README, "Running several
 * instances"): `<table>` holds one narrow row per committed checkpoint, with a unique
 * constraint on the identifier; `<table>_values` holds the payloads.
 *
 * Where an uncommitted checkpoint lives: in this process, as the encoded bytes `put`
 * produced, until `commitCheckpoint` sends all of them in one transaction. Nothing is
 * written to the server before commit, so a crashed process leaves nothing to clean up,
 * each value crosses the network and the WAL once (a staging table would write it twice),
 * and reading your own writes costs no round trip. The price is memory: an open draft
 * holds its values, which its caller had in memory a moment before anyway.
 *
 * Commit is one transaction: insert the checkpoint row (`ON CONFLICT DO NOTHING`: an
 * existing identifier, committed by any process, makes it `AlreadyExists`; a concurrent
 * committer waits on the unique index until the first one finishes) and its values. Up
 * to one batch of values (500 rows, 16 MiB) this is a single statement, one round trip;
 * beyond, BEGIN, a statement per batch, COMMIT. Values of 4 MiB and more are streamed by
 * a binary COPY in the same transaction (`copy-values.ts`). A lost connection rolls the
 * transaction back and raises `Io`; the handle stays open. If the connection dropped just as the
 * server committed, the outcome is unknown to the client: retrying with the same handle
 * then succeeds if the first attempt landed (the row carries the handle's token), and
 * otherwise commits anew.
 *
 * Reads: a value is read in 8 MiB slices into one buffer of its size; an idempotent read
 * (listing, load, get, the existence check of create) is sent once more on a new
 * connection when its connection dropped. close() fails work still waiting for a
 * connection with `Released` and lets work holding one finish. Identifiers and keys read
 * back are checked like a caller's; those outside the grammar are skipped, and
 * listDamaged() reports them.
 *
 * Every fixed statement, and the commit statement of up to 16 values, is a named
 * prepared statement (`prepareStatements`, on by default): parsed and planned once per
 * pooled connection instead of on every call. Planning the two-table INSERT was about
 * half of a small commit's server time.
 *
 * `PostgresStorage.open()` returns the storage wrapped in a {@link GuardWrapper};
 * `PostgresStorage.openRaw()` the bare one, for composing wrapper chains.
 *
 * @example
 * ```ts
 * import { PostgresStorage } from 'checkpointable/postgres';
 * const storage = await PostgresStorage.open({ connectionString: process.env.DATABASE_URL });
 * const draft = await storage.createCheckpoint('order-42');
 * await draft.put('order', { id: 42 });
 * await (await storage.commitCheckpoint(draft)).release();
 * await storage.close();
 * ```
 */
export class PostgresStorage
  extends BaseStorage<PostgresUncommittedCheckpoint>
  implements SummaryListing, PrefixListing
{
  protected readonly storageName = 'PostgresStorage';
  /** The `table` option as given, e.g. `'checkpointable'`. */
  readonly table: string;
  /** `host:port` of the server, as shown in messages. */
  readonly server: string;
  /** Prepared statement names by text, so a commit does not hash its statement again. */
  private readonly statementNames = new Map<string, string>();
  /** @internal the largest value a commit sends; tests lower it to reach the refusal */
  maxValueBytes = MAX_POSTGRES_VALUE_BYTES;
  /**
   * Work that holds a pooled connection, which close() lets finish before ending the
   * pool; and the waits for a connection, which close() fails with `Released`.
   */
  private readonly gate = new CloseGate();

  private constructor(
    /** @internal */
    readonly pool: Pool,
    private readonly ownsPool: boolean,
    /** @internal */
    readonly names: TableNames,
    private readonly address: ServerAddress,
    private readonly prepare: boolean,
  ) {
    super();
    this.table = names.given;
    this.server = address.display;
  }

  /**
   * Connects, creates the tables if absent, and returns the storage guarded.
   *
   * @throws {CheckpointError} `Initialization` when the server cannot be reached (naming
   *   host and port), the table name is unusable or taken, or `pg` is not installed;
   *   `Version` when the table has a schema version this release does not know
   *
   * @example
   * ```ts
   * const storage = await PostgresStorage.open({
   *   connectionString: 'postgres://app@db:5432/app',
   *   table: 'checkpoints',
   * });
   * ```
   */
  static async open(options: PostgresStorageOptions): Promise<Storage> {
    return GuardWrapper.wrap(await PostgresStorage.openRaw(options));
  }

  /**
   * Like {@link PostgresStorage.open}, without the guard, for composing wrapper chains.
   *
   * @throws {CheckpointError} as {@link PostgresStorage.open}
   *
   * @example
   * ```ts
   * const storage = GuardWrapper.wrap(
   *   ChecksumWrapper.wrap(await PostgresStorage.openRaw({ connectionString })),
   * );
   * ```
   */
  static async openRaw(options: PostgresStorageOptions): Promise<PostgresStorage> {
    const { connectionString, pool: given } = options ?? {};
    const names = tableNames(options?.table ?? 'checkpointable');
    if (given === undefined && (typeof connectionString !== 'string' || connectionString === '')) {
      throw new CheckpointError(
        'Initialization',
        'PostgresStorage.open() needs a connectionString (such as "postgres://user@host:5432/database") or a pg Pool as `pool`.',
      );
    }
    const connectTimeoutMs = positive(options.connectTimeoutMs, 5000, 'connectTimeoutMs', 1);
    let address: ServerAddress;
    let pool: Pool;
    if (given !== undefined) {
      const o =
        (given as Pool & { options?: { host?: string; port?: number; connectionString?: string } })
          .options ?? {};
      address =
        typeof o.connectionString === 'string'
          ? serverAddress(o.connectionString, 5432)
          : { display: `${o.host ?? 'localhost'}:${o.port ?? 5432}` };
      pool = given;
    } else {
      address = serverAddress(connectionString!, 5432);
      const pg = await loadDriver<typeof import('pg')>('pg', 'PostgresStorage', '^8.11.0');
      pool = new pg.Pool({
        connectionString,
        connectionTimeoutMillis: connectTimeoutMs,
        ...(options.queryTimeoutMs
          ? { query_timeout: positive(options.queryTimeoutMs, 0, 'queryTimeoutMs') }
          : {}),
        max: positive(options.maxConnections, 10, 'maxConnections', 1),
        keepAlive: true,
        application_name: options.applicationName ?? 'checkpointable',
      });
      // A pooled connection that dies while idle (server restart, pg_terminate_backend)
      // is reported here; unheard, Node would crash the process. The pool drops it, and
      // the next query opens a new one or reports the failure as Io.
      pool.on('error', () => undefined);
    }
    const prepare = options.prepareStatements ?? true;
    if (typeof prepare !== 'boolean') {
      throw new CheckpointError(
        'Initialization',
        `PostgresStorage option prepareStatements must be true or false, not ${String(prepare)}.`,
      );
    }
    const storage = new PostgresStorage(pool, given === undefined, names, address, prepare);
    try {
      // Our own pool times out by itself (connectionTimeoutMillis covers the whole
      // start-up); a borrowed one may have no time-out and wait for ever.
      const connecting = storage.connect('Initialization', 'connect');
      const client =
        given === undefined
          ? await connecting
          : await withDeadline(connecting, connectTimeoutMs, (late) => release(late, false)).catch(
              (error: unknown) => {
                throw error instanceof CheckpointError
                  ? error
                  : storage.failure('Initialization', 'connect', error);
              },
            );
      try {
        await ensureSchema(client, names);
      } catch (error) {
        release(client, true);
        if (error instanceof CheckpointError) throw error;
        throw storage.failure(
          'Initialization',
          'create or check the checkpoint tables',
          error,
          {},
          'Check that the schema exists and that the user may create tables in it, or have an administrator create them (the layout is in the README, "Running several instances").',
        );
      }
      release(client, false);
    } catch (error) {
      if (storage.ownsPool) await pool.end().catch(() => undefined);
      throw error;
    }
    return storage;
  }

  protected async doCreate(
    identifier: string,
    options: CreateCheckpointOptions = {},
  ): Promise<PostgresUncommittedCheckpoint> {
    // The commit refuses an existing identifier atomically (ON CONFLICT), so a caller that
    // builds every value before committing may skip this round trip.
    if (options.checkExists === false) return new PostgresUncommittedCheckpoint(identifier, this);
    const found = await this.query(
      `check for checkpoint ${quote(identifier)}`,
      existsStatement(this.names),
      [storedName(identifier)],
      { identifier },
    );
    if (found.rowCount !== 0) throw alreadyCommitted(identifier);
    return new PostgresUncommittedCheckpoint(identifier, this);
  }

  protected async doCommit(
    checkpoint: PostgresUncommittedCheckpoint,
  ): Promise<CommittedCheckpoint> {
    const { identifier } = checkpoint;
    for (const [key, bytes] of checkpoint.values) {
      if (bytes.length > this.maxValueBytes)
        throw tooLarge(identifier, key, bytes.length, this.maxValueBytes);
    }
    // No automatic retry: whether a commit whose connection dropped landed is decided by
    // the handle's token when the caller retries (see the class comment).
    const committed = await this.withClient(
      `commit checkpoint ${quote(identifier)}`,
      { identifier },
      false,
      (client) => this.insert(checkpoint, client),
      (error) => this.commitFailure(identifier, error),
    );
    if (committed !== undefined) return committed;
    // This handle's earlier attempt landed although the reply to it was lost. It is loaded
    // only now that the connection went back: were every pooled connection held by such a
    // retry (a pool of one, or as many retries as connections), loading through the pool
    // would wait for itself until the connect time-out. The values stay with the handle
    // until the load succeeds, so a load that fails can be retried too.
    const loaded = await this.doLoad(identifier);
    checkpoint.values.clear();
    return loaded;
  }

  /**
   * Writes the checkpoint row and its values in one transaction on `client`. Returns
   * undefined when this handle's own earlier attempt already landed.
   */
  private async insert(
    checkpoint: PostgresUncommittedCheckpoint,
    client: PoolClient,
  ): Promise<CommittedCheckpoint | undefined> {
    const { identifier, token } = checkpoint;
    // The checkpoint row and the first batch of values go in one statement: on its own
    // it is one transaction, so a typical commit costs one round trip. Values beyond one
    // batch, and large values (streamed by COPY), need BEGIN ... COMMIT around several
    // statements.
    const large: [string, Uint8Array][] = [];
    for (const entry of checkpoint.values) if (entry[1].length >= COPY_BYTES) large.push(entry);
    const [first = [], ...rest] = batches(checkpoint.values, INSERT_BATCH);
    const explicit = rest.length > 0 || large.length > 0;
    try {
      if (explicit) await client.query('BEGIN');
      const { label } = checkpoint;
      const params: unknown[] = [
        storedName(identifier),
        token,
        label === undefined ? null : storedLabel(label),
        sortKey(identifier),
        keyList(checkpoint.values),
      ];
      const rows = first.map(([key, bytes]) => {
        params.push(storedName(key), Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length));
        return `($${params.length - 1}::text, $${params.length}::bytea)`;
      });
      const inserted = await client.query<{ id: string; created_at: Date }>(
        this.statement(
          rows.length === 0
            ? insertCheckpointStatement(this.names)
            : insertCheckpointWithValuesStatement(this.names, rows),
          params,
          rows.length <= PREPARED_ROWS,
        ),
      );
      if (inserted.rowCount === 0) {
        const existing = await client.query<{ id: string; created_at: Date; commit_token: string }>(
          this.statement(commitTokenStatement(this.names), [storedName(identifier)]),
        );
        if (explicit) await client.query('ROLLBACK');
        if (existing.rows[0]?.commit_token === token) return undefined;
        throw alreadyCommitted(identifier);
      }
      const { id, created_at: createdAt } = inserted.rows[0];
      for (const batch of rest) {
        const params: unknown[] = [id];
        const rows = batch.map(([key, bytes]) => {
          params.push(storedName(key), Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length));
          return `($1, $${params.length - 1}, $${params.length})`;
        });
        await client.query(insertValuesStatement(this.names, rows), params);
      }
      if (large.length > 0) {
        await copyValues(
          client,
          this.names.values,
          large.map(([key, value]) => ({ checkpointId: id, key: storedName(key), value })),
        );
      }
      if (explicit) await client.query('COMMIT');
      const keys = [...checkpoint.values.keys()];
      checkpoint.values.clear(); // the handle is used up; its bytes now live in the database
      return new PostgresCommittedCheckpoint(this, identifier, id, createdAt, keys, label);
    } catch (error) {
      if (explicit && !(error instanceof CheckpointError))
        await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  }

  private commitFailure(identifier: string, error: unknown): CheckpointError {
    return this.failure(
      'Io',
      `commit checkpoint ${quote(identifier)}`,
      error,
      { identifier },
      'The transaction was rolled back, so no part of the checkpoint is visible, and the handle is still open: retry commitCheckpoint() with it, or discard it. (Should the connection have dropped just as the server committed, the retry finds out and succeeds.)',
    );
  }

  protected async doLoad(identifier: string): Promise<CommittedCheckpoint> {
    // One statement, so the row and its keys come from one snapshot. The keys are
    // counted first and come back only when they are no more than a checkpoint may
    // have, one row per key (not one array of them, which a damaged table could grow
    // past what a JavaScript string holds), each cut at the longest stored name.
    const found = await this.query<{
      id: string;
      created_at: Date;
      label: string | null;
      count: string;
      key: string | null;
    }>(
      `load checkpoint ${quote(identifier)}`,
      loadStatement(this.names),
      [storedName(identifier)],
      { identifier },
    );
    const first = found.rows[0];
    if (first === undefined) throw checkpointNotFound(identifier);
    if (Number(first.count) > MAX_POSTGRES_KEYS) {
      throw new CheckpointError(
        'Deserialize',
        `Checkpoint ${quote(identifier)} holds ${first.count} keys in PostgreSQL table ${this.table}_values, more than the ${MAX_POSTGRES_KEYS} PostgresStorage reads back: the table is damaged. Remove the checkpoint, or restore the table from a backup.`,
        { identifier },
      );
    }
    const label = this.readLabel(identifier, first.label);
    const keys: string[] = [];
    for (const row of found.rows) {
      if (row.key === null) continue; // a checkpoint without values
      // A key outside the grammar is never handed out; listDamaged() reports it.
      const read = readStoredName(row.key);
      if ('name' in read) keys.push(read.name);
    }
    return new PostgresCommittedCheckpoint(
      this,
      identifier,
      first.id,
      first.created_at,
      keys,
      label,
    );
  }

  private damagedList(identifier: string): CheckpointError {
    return new CheckpointError(
      'Deserialize',
      `Checkpoint ${quote(identifier)} in PostgreSQL table ${this.table} is damaged: its keys could not be listed. Remove the checkpoint, or restore the table from a backup.`,
      { identifier },
    );
  }

  /** A stored label, checked: `undefined` for none, `Deserialize` when it is damaged. */
  private readLabel(identifier: string, stored: string | null): string | undefined {
    if (stored === null) return undefined;
    const read = readStoredLabel(stored);
    if ('label' in read) return read.label;
    throw new CheckpointError(
      'Deserialize',
      `Checkpoint ${quote(identifier)} in PostgreSQL table ${this.table} is damaged: ${read.problem}. Remove the checkpoint, or restore the table from a backup.`,
      { identifier },
    );
  }

  /**
   * The summaries of the committed checkpoints among `identifiers` (see
   * {@link SummaryListing}), in one statement that reads the checkpoint rows and the
   * keys with their sizes (`octet_length`, which PostgreSQL answers from the value's
   * header), never a value. A checkpoint whose label, key count or sizes are damaged is
   * reported in `damaged`.
   *
   * @throws {CheckpointError} `Io` when the server cannot be reached; `Released` after close()
   * @example
   * ```ts
   * const { summaries, damaged } = await storage.summarizeCheckpoints(['order-42']);
   * ```
   */
  async summarizeCheckpoints(identifiers: readonly string[]): Promise<CheckpointSummaries> {
    this.assertOpen();
    const out: CheckpointSummaries = { summaries: [], damaged: [] };
    const asked = identifiers.filter((id) => nameProblem(id) === undefined);
    if (asked.length === 0) return out;
    // One narrow row per checkpoint: its keys and their sizes come from `key_list`, written
    // by the commit (`key/size` entries joined by `\`; neither character is in a name, so
    // a valid list splits exactly, and a damaged key holding them fails the name check
    // like any damaged key). Rows without one (over 1 MiB) are summarized from the values.
    const stored = asked.map(storedName);
    // Many identifiers are summarized from one pass over the table, filtered here: cheaper
    // than sending them all and matching them on the server. The time comes back as
    // milliseconds (floored, as a load's Date holds it), which parses faster than text.
    const all = asked.length >= SUMMARY_SCAN;
    const found = await this.query<SummaryRow>(
      `summarize ${asked.length} checkpoints`,
      summaryStatement(this.names, all),
      all ? [] : [stored],
    );
    if (found.rows.length > MAX_POSTGRES_CHECKPOINTS) {
      throw new CheckpointError(
        'Other',
        `PostgreSQL table ${this.table} holds more than ${MAX_POSTGRES_CHECKPOINTS} checkpoints, more than one listing returns; remove old checkpoints (the CLI's prune does it), or split them over several tables.`,
      );
    }
    const missing = found.rows.filter((row) => row.list === null);
    if (missing.length > 0) {
      const joined = await this.query<SummaryRow>(
        `summarize ${missing.length} checkpoints from their values`,
        summaryFromValuesStatement(this.names),
        [missing.map((row) => row.identifier)],
      );
      found.rows.push(...joined.rows);
    }
    const byId = new Map<string, SummaryRow>();
    for (const row of found.rows)
      if (row.list !== null || !byId.has(row.identifier)) byId.set(row.identifier, row);
    for (const [i, identifier] of asked.entries()) {
      const row = byId.get(stored[i]);
      if (row === undefined) continue; // not committed, or removed meanwhile
      try {
        if (Number(row.count) > MAX_POSTGRES_KEYS) {
          throw new CheckpointError(
            'Deserialize',
            `Checkpoint ${quote(identifier)} holds ${row.count} keys in PostgreSQL table ${this.table}_values, more than the ${MAX_POSTGRES_KEYS} PostgresStorage reads back: the table is damaged. Remove the checkpoint, or restore the table from a backup.`,
            { identifier },
          );
        }
        if (row.list === null) throw this.damagedList(identifier);
        const label = this.readLabel(identifier, row.label);
        const sizes = new Map<string, number>();
        for (const item of row.list === '' ? [] : row.list.split('\\')) {
          const slash = item.lastIndexOf('/');
          const read = readStoredName(item.slice(0, slash));
          if (!('name' in read)) continue; // never handed out; listDamaged() reports it
          const text = item.slice(slash + 1);
          const size = /^\d{1,10}$/.test(text) ? Number(text) : NaN;
          if (!(size <= MAX_POSTGRES_VALUE_BYTES)) {
            throw this.damagedValue(
              identifier,
              read.name,
              `it claims ${text} bytes, more than PostgresStorage ever stores (${MAX_POSTGRES_VALUE_BYTES})`,
            );
          }
          sizes.set(read.name, size);
        }
        const summary: CheckpointSummary = {
          identifier,
          createdAt: new Date(row.created_ms),
          keys: sortedNames([...sizes.keys()]),
          sizes,
          ...(label === undefined ? {} : { label }),
        };
        out.summaries.push(summary);
      } catch (error) {
        if (!(error instanceof CheckpointError)) throw error;
        out.damaged.push({ identifier, error });
      }
    }
    return out;
  }

  /**
   * The committed identifiers starting with `prefix`, in JavaScript string order (see
   * {@link PrefixListing}): a range scan of the sort-key index, reading only as many rows
   * as `limit` asks for. Rows outside the grammar, or whose sort key does not match their
   * identifier, are skipped (listDamaged() reports them) and more are read in their place.
   *
   * @throws {CheckpointError} `Io` when the server cannot be reached; `Released` after
   *   close(); `Other` for a bad option
   * @example
   * ```ts
   * const [latest] = await storage.checkpointIdentifiersWithPrefix('@series:orders:', {
   *   descending: true,
   *   limit: 1,
   * });
   * ```
   */
  async checkpointIdentifiersWithPrefix(
    prefix: string,
    options: PrefixListingOptions = {},
  ): Promise<string[]> {
    this.assertOpen();
    selectWithPrefix([], prefix, options); // checks the options
    const { before, limit = MAX_POSTGRES_CHECKPOINTS, descending = false } = options;
    const range = prefixRange(prefix, before);
    const out: string[] = [];
    // The next rows start after the last one read (`from`), so skipped rows never make a
    // listing return fewer than it could.
    let from: Buffer | undefined;
    while (out.length < limit) {
      const want = Math.min(limit - out.length, PREFIX_BATCH);
      const params: unknown[] = [range.low];
      const where = ['sort_key >= $1'];
      if (range.high !== undefined) where.push(`sort_key < $${params.push(range.high)}`);
      if (from !== undefined)
        where.push(`sort_key ${descending ? '<' : '>'} $${params.push(from)}`);
      const found = await this.query<{ identifier: string; sort_key: Buffer }>(
        `list checkpoints starting with ${quote(prefix)}`,
        prefixStatement(this.names, where, descending, params.push(want)),
        params,
      );
      for (const row of found.rows) {
        const read = readStoredName(row.identifier);
        if (
          'name' in read &&
          read.name.startsWith(prefix) &&
          sortKey(read.name).equals(row.sort_key)
        )
          out.push(read.name);
      }
      if (found.rows.length < want) break;
      from = found.rows[found.rows.length - 1].sort_key;
    }
    return out;
  }

  protected async doRemove(identifier: string): Promise<void> {
    // One statement: the cascade deletes the values in the same transaction.
    const deleted = await this.query(
      `remove checkpoint ${quote(identifier)}`,
      removeStatement(this.names),
      [storedName(identifier)],
      { identifier },
      false,
    );
    if (deleted.rowCount === 0) throw checkpointNotFound(identifier);
  }

  protected async doList(): Promise<string[]> {
    // Reads the narrow checkpoint table only; no payload is touched. Identifiers outside
    // the grammar are skipped here and reported by listDamaged().
    const found = await this.listStored('list checkpoints');
    const names: string[] = [];
    for (const row of found) {
      const read = readStoredName(row.identifier);
      if ('name' in read) names.push(read.name);
    }
    return names;
  }

  /**
   * The identifiers and keys in the tables that no caller could have written (outside
   * the grammar, longer than any name, not in the stored form), which
   * `checkpointIdentifiers()`, `loadCheckpoint()` and `keys()` therefore never show.
   * It reads every key of every checkpoint: a check for operators and tests, not for a
   * hot path.
   *
   * @returns one entry per damaged name, identifiers first; empty when there is none
   * @throws {CheckpointError} `Io` when the server cannot be reached; `Released` after close()
   *
   * @example
   * ```ts
   * for (const { name, reason } of await storage.listDamaged()) console.warn(name, reason);
   * ```
   */
  async listDamaged(): Promise<DamagedName[]> {
    this.assertOpen();
    const damaged: DamagedName[] = [];
    for (const row of await this.listStored('list damaged checkpoints', true)) {
      const read = readStoredName(row.identifier);
      if ('problem' in read) {
        damaged.push({
          name: row.identifier,
          reason: `checkpoint identifier: ${lengthProblem(row.length ?? 0) ?? read.problem}`,
        });
      } else if (row.sort_key !== undefined && !sortKey(read.name).equals(row.sort_key)) {
        damaged.push({
          name: row.identifier,
          reason:
            'checkpoint identifier: its sort_key does not match it, so prefix listings leave it out',
        });
      }
    }
    // Only keys the grammar may refuse come back (too long, a separator, a control
    // character, which includes the escape of stored lone surrogates, or a dot name),
    // each cut at the longest stored name; JavaScript then decides, as for any name.
    const found = await this.query<{ key: string; length: number; identifier: string }>(
      'list damaged keys',
      suspectKeysStatement(this.names),
      [SUSPECT_NAME],
    );
    for (const row of found.rows) {
      const read = readStoredName(row.key);
      if ('problem' in read) {
        damaged.push({
          name: row.key,
          reason: `key of checkpoint ${quote(row.identifier)}: ${lengthProblem(row.length) ?? read.problem}`,
        });
      }
    }
    return damaged;
  }

  /**
   * The stored identifiers, each cut at the longest stored name (with its real length
   * when `lengths`, for listDamaged's reasons).
   */
  private async listStored(
    action: string,
    lengths = false,
  ): Promise<{ identifier: string; length?: number; sort_key?: Buffer }[]> {
    const found = await this.query<{ identifier: string; length?: number; sort_key?: Buffer }>(
      action,
      storedIdentifiersStatement(this.names, lengths),
      [],
    );
    if (found.rows.length > MAX_POSTGRES_CHECKPOINTS) {
      throw new CheckpointError(
        'Other',
        `PostgreSQL table ${this.table} holds more than ${MAX_POSTGRES_CHECKPOINTS} checkpoints, more than one listing returns; remove old checkpoints (the CLI's prune does it), or split them over several tables.`,
      );
    }
    return found.rows;
  }

  protected async doClose(): Promise<void> {
    // Work still waiting for a connection fails now with Released; work that holds one
    // (a query on the wire, a commit mid-transaction) finishes first, so the pool ends
    // with nothing half done and no caller is left waiting.
    this.gate.stop();
    await this.gate.settled();
    if (this.ownsPool) await this.pool.end();
  }

  /**
   * @internal runs one statement on a pooled connection, turning a driver failure into
   * `Io`. A `retry` statement (an idempotent read) is sent once more, on a new
   * connection, when the connection dropped under it.
   */
  async query<R extends object = Record<string, unknown>>(
    action: string,
    sql: string,
    params: unknown[],
    details: { identifier?: string; key?: string } = {},
    retry = true,
  ): Promise<{ rows: R[]; rowCount: number | null }> {
    return this.withClient(action, details, retry, (client) =>
      client.query<R>(this.statement(sql, params)),
    );
  }

  /**
   * @internal reads one value in slices into one buffer of its size, checking the size
   * the server reports before allocating it; `undefined` when the row is gone.
   */
  async readValue(
    checkpointId: string,
    identifier: string,
    key: string,
  ): Promise<Uint8Array | undefined> {
    const details = { identifier, key };
    const action = `read key ${quote(key)} of checkpoint ${quote(identifier)}`;
    const params = [checkpointId, storedName(key)];
    const first = await this.query<{ size: number; part: string }>(
      action,
      firstSliceStatement(this.names),
      params,
      details,
    );
    const row = first.rows[0];
    if (row === undefined) return undefined;
    const { size } = row;
    if (!Number.isSafeInteger(size) || size < 0 || size > MAX_POSTGRES_VALUE_BYTES) {
      throw this.damagedValue(
        identifier,
        key,
        `it claims ${String(size)} bytes, more than PostgresStorage ever stores (${MAX_POSTGRES_VALUE_BYTES})`,
      );
    }
    const bytes = Buffer.allocUnsafe(size);
    const slice = (from: number) =>
      this.query<{ part: string }>(
        action,
        sliceStatement(this.names),
        [...params, from + 1],
        details,
      );
    // One slice is asked for while the one before is copied into place, so the server's
    // work (it may have to decompress up to the slice) overlaps ours; never more than
    // one slice waits, so the memory a read needs beyond the value stays two slices.
    let next = READ_CHUNK_BYTES < size ? slice(READ_CHUNK_BYTES) : undefined;
    try {
      let offset = this.fill(bytes, 0, row.part, identifier, key);
      while (next !== undefined) {
        const found = await next;
        next = offset + READ_CHUNK_BYTES < size ? slice(offset + READ_CHUNK_BYTES) : undefined;
        const part = found.rows[0]?.part;
        if (part === undefined) return undefined; // removed while it was being read
        offset = this.fill(bytes, offset, part, identifier, key);
      }
    } finally {
      // A slice still asked for when the read ended early is waited for (it holds a
      // connection) and its outcome dropped.
      await next?.catch(ignore);
    }
    return new Uint8Array(bytes.buffer, bytes.byteOffset, size);
  }

  /** Writes one hex slice at `offset`, checking that it is whole; returns the new end. */
  private fill(
    bytes: Buffer,
    offset: number,
    hex: string,
    identifier: string,
    key: string,
  ): number {
    const expected = Math.min(READ_CHUNK_BYTES, bytes.length - offset);
    if (hex.length !== expected * 2 || bytes.write(hex, offset, expected, 'hex') !== expected) {
      throw this.damagedValue(
        identifier,
        key,
        `a slice from byte ${offset} came back as ${Math.floor(hex.length / 2)} bytes, not ${expected}`,
      );
    }
    return offset + expected;
  }

  private damagedValue(identifier: string, key: string, why: string): CheckpointError {
    return new CheckpointError(
      'Deserialize',
      `PostgresStorage could not read key ${quote(key)} of checkpoint ${quote(identifier)} (PostgreSQL at ${this.server}, table ${this.table}): ${why}, so the row is damaged. Remove the checkpoint, or restore the table from a backup.`,
      { identifier, key },
    );
  }

  /**
   * Runs `work` on a pooled connection and gives the connection back: destroyed, not
   * pooled, when it dropped under the work. Idempotent work (`retry`) runs once more on
   * a new connection after such a drop.
   */
  private async withClient<T>(
    action: string,
    details: { identifier?: string; key?: string },
    retry: boolean,
    work: (client: PoolClient) => Promise<T>,
    fail: (error: unknown) => CheckpointError = (error) =>
      this.failure('Io', action, error, details),
  ): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const client = await this.connect('Io', action, details.identifier);
      let failed = false;
      const running = work(client);
      this.gate.enter(running);
      try {
        return await running;
      } catch (error) {
        if (error instanceof CheckpointError) throw error;
        // A connection that failed under a statement (mid-transaction, perhaps) is
        // destroyed, never handed back to the pool.
        failed = true;
        if (retry && attempt === 0 && !this.closed && connectionLost(error)) continue;
        throw fail(error);
      } finally {
        this.gate.leave(running);
        release(client, failed || !isHealthy(client));
      }
    }
  }

  /**
   * A query config, named (a prepared statement, parsed and planned once per connection)
   * when preparing is on and `prepared` allows it. The name is derived from the text, so
   * one name always means one text, as pg requires, and two storages on different tables
   * never share a name; the `checkpointable_` prefix keeps clear of the application's own
   * statements on a borrowed pool. PostgreSQL re-plans a prepared statement by itself when
   * a table it uses is altered.
   */
  private statement(
    text: string,
    values: unknown[],
    prepared = true,
  ): { text: string; values: unknown[]; name?: string } {
    if (!this.prepare || !prepared) return { text, values };
    let name = this.statementNames.get(text);
    if (name === undefined) {
      name = `checkpointable_${createHash('sha1').update(text).digest('hex').slice(0, 32)}`;
      this.statementNames.set(text, name);
    }
    return { name, text, values };
  }

  private async connect(
    kind: 'Io' | 'Initialization',
    action: string,
    identifier?: string,
  ): Promise<PoolClient> {
    this.assertOpen();
    const connecting = this.pool.connect();
    let client: PoolClient;
    try {
      client = await Promise.race([connecting, this.gate.closing]);
    } catch (error) {
      if (error === CLOSED) {
        // Closed while waiting: a connection that still arrives goes straight back.
        connecting.then((late) => late.release(), ignore);
        throw new CheckpointError(
          'Released',
          'This PostgresStorage was closed while the operation waited for a connection; open a new one to keep working with its checkpoints.',
        );
      }
      throw this.failure(kind, action, error, identifier === undefined ? {} : { identifier });
    }
    // pg-pool listens for errors only on idle clients. A checked-out one whose socket
    // dies after its query failed (pg_terminate_backend, then ECONNRESET) would emit
    // an unheard 'error' and crash the process; the query already reported it.
    client.on('error', ignore);
    return client;
  }

  /** @internal an error naming the server, the table and the fix, never the password. */
  failure(
    kind: 'Io' | 'Initialization',
    action: string,
    error: unknown,
    details: { identifier?: string; key?: string } = {},
    advice = kind === 'Initialization'
      ? 'Check that the server is running and reachable from here, and that the connection string (user, database, password) is right.'
      : 'Check that the server is up and reachable, then retry.',
  ): CheckpointError {
    return new CheckpointError(
      kind,
      `PostgresStorage could not ${action} (PostgreSQL at ${this.server}, table ${this.table}): ${describeCause(error, this.address)}. ${advice}`,
      { ...details, cause: error },
    );
  }
}

/** The `length()` of a stored name, as the reason it is damaged when it is too long. */
function lengthProblem(length: number): string | undefined {
  return length > 255 ? `it is ${length} characters long` : undefined;
}

function tooLarge(identifier: string, key: string, size: number, limit: number): CheckpointError {
  return new CheckpointError(
    'Other',
    `Value ${quote(key)} of checkpoint ${quote(identifier)} is ${size} bytes, more than the ${limit} bytes PostgresStorage stores in one value (PostgreSQL's bytea holds at most 1 GiB); split it over several keys, or keep it in a FileStorage. Nothing was sent, and the handle is still open.`,
    { identifier, key },
  );
}
