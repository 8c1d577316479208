import { isUtf8 } from 'node:buffer';
import type { Redis, RedisOptions } from 'ioredis';
import { CheckpointError, quote } from '../errors';
import { batches } from '../database/batches';
import { CLOSED, CloseGate } from '../database/close-gate';
import { withDeadline } from '../database/deadline';
import { loadDriver } from '../database/load-driver';
import { describeCause, serverAddress, type ServerAddress } from '../database/server-address';
import { readStoredName, storedName } from '../database/stored-name';
import { MAX_LABEL_LENGTH } from '../storage/checkpoint-summaries';
import { connectionLost } from '../database/connection-lost';
import type { DamagedName } from '../database/damaged-name';
import { alreadyCommitted, BaseStorage, checkpointNotFound } from '../storage/base-storage';
import { sortNames } from '../storage/names';
import type { CommittedCheckpoint, CreateCheckpointOptions, Storage } from '../storage/storage';
import { GuardWrapper } from '../wrappers/guard-wrapper';
import { SCRIPTS } from './redis-scripts';
import { RedisCommittedCheckpoint } from './redis-committed-checkpoint';
import { busy, lostOr, openFailure, wrongType } from './redis-failures';
import { parseEntry, type IndexEntry } from './redis-index-entry';
import {
  BUILD_BATCH,
  HSET_BATCH,
  MAX_ENTRY_BYTES,
  MAX_REDIS_CHECKPOINTS,
  MAX_REDIS_KEYS,
  MAX_STORED_NAME_BYTES,
  MAX_SUMMARY_BYTES,
  ONE_TRIP_BYTES,
  ONE_TRIP_KEYS,
  RANGE_STEP,
  RETRIES,
} from './redis-limits';
import { whole, type RedisStorageOptions } from './redis-storage-options';
import { readStoredBytes, shown, UTF8 } from './redis-stored-bytes';
import { summaryOf } from './redis-summary';
import { RedisUncommittedCheckpoint } from './redis-uncommitted-checkpoint';
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
import { nameOfSortKey, prefixRange, sortedNames, sortKey } from '../database/sort-key';
import { MAX_STORED_LABEL, readStoredLabel, storedLabel } from '../database/stored-label';

/**
 * The data-hash field that holds a checkpoint's label. It starts with a zero byte, which
 * no stored key can contain, so it never meets a key; loads and listings leave it out.
 */
const LABEL_FIELD = '\u0000label';
/** The client with the scripts registered on it (`defineCommand`: EVALSHA, EVAL if unknown). */
type ScriptedClient = Redis &
  Record<
    keyof typeof SCRIPTS | `${keyof typeof SCRIPTS}Buffer`,
    (...args: (string | Buffer)[]) => Promise<unknown>
  >;

/** What `run` needs besides the action: where, which keys, and how to fail. */
interface RunOptions {
  /** The checkpoint and key the operation is about, for the error. */
  details?: { identifier?: string; key?: string };
  /** The Redis keys the commands touch, named when one holds the wrong type. */
  keys?: string[];
  /** An idempotent read: sent once more after a dropped connection. */
  retry?: boolean;
  /** What to do, after the cause, in an `Io` message. */
  advice?: string;
}

/**
 * Checkpoints in Redis, shared by every instance of a service.
 *
 * Key layout, for the default prefix `checkpointable:`:
 * ```
 * checkpointable:index            hash: identifier -> "<dataId> <createdAt ms>", committed only
 * checkpointable:data:<dataId>    hash: key -> value bytes, one per checkpoint (and its label)
 * checkpointable:order            sorted set: identifiers in JavaScript order, for prefix listings
 * checkpointable:summary          hash: identifier -> label, keys and value sizes, for listings
 * ```
 * (See `redis-scripts.ts` for the order set's members and the summaries.)
 * Listing reads the index hash only (one HKEYS; never KEYS or SCAN over the keyspace,
 * never a payload). Identifiers and keys are stored as written, UTF-8; a lone surrogate
 * is escaped (see `stored-name.ts`). Values are binary-safe Buffers.
 *
 * An uncommitted checkpoint lives in this process, as the encoded bytes `put` produced,
 * until `commitCheckpoint`; a crashed process leaves nothing behind. Commit then takes
 * one of two paths, both ending in one atomic Lua script (every script is registered
 * with `defineCommand`, so it travels as a SHA1 after its first use on a connection):
 * - Small (at most 1,000 keys and 64 KiB, the common case): one script, one round trip,
 *   refuses an identifier already in the index (`AlreadyExists`, whichever process
 *   committed it), writes the data hash and adds the index entry. Nothing is written
 *   before the check, so a refused or cut-off commit leaves nothing behind.
 * - Staged (anything larger):
 *   1. write the values into a new data hash, in batches, each batch with a time-to-live
 *      (`stagingTtlMs`) in the same MULTI, so a commit that dies half way leaves only
 *      keys that expire, and no single command grows with the checkpoint;
 *   2. one script refuses an identifier already in the index, checks that every staged
 *      value is there, removes the time-to-live and adds the index entry.
 * Readers look only at the index, so they see all of a checkpoint or nothing. A lost
 * connection fails the commit with `Io` and leaves the handle open. If it dropped after
 * the script ran, retrying with the same handle finds its own entry and succeeds.
 *
 * Reads: an idempotent read (listing, load, get, the existence check of create) is sent
 * once more, after ioredis reconnects, when the connection dropped under it. Everything
 * read back is checked before use: key counts against a bound (asked for first, in the
 * script that lists), index entries against the form this class writes, names against
 * the grammar and strict UTF-8 (those outside are skipped, and listDamaged() reports
 * them), and a key of another type is `Deserialize` naming it (`Initialization` at open).
 * close() lets commands on a live connection finish and fails those waiting for a
 * reconnect with `Released`.
 *
 * `RedisStorage.open()` returns the storage wrapped in a {@link GuardWrapper};
 * `RedisStorage.openRaw()` the bare one, for composing wrapper chains.
 *
 * @example
 * ```ts
 * import { RedisStorage } from 'checkpointable/redis';
 * const storage = await RedisStorage.open({ url: process.env.REDIS_URL });
 * const draft = await storage.createCheckpoint('order-42');
 * await draft.put('order', { id: 42 });
 * await (await storage.commitCheckpoint(draft)).release();
 * await storage.close();
 * ```
 */
export class RedisStorage
  extends BaseStorage<RedisUncommittedCheckpoint>
  implements SummaryListing, PrefixListing
{
  protected readonly storageName = 'RedisStorage';
  /** The key prefix, e.g. `'checkpointable:'`. */
  readonly prefix: string;
  /** `host:port` of the server, as shown in messages. */
  readonly server: string;
  /** @internal the index hash's key */
  readonly indexKey: string;
  /** @internal the order set's key (identifiers in JavaScript order, see redis-scripts.ts) */
  readonly orderKey: string;
  /** @internal the summary hash's key (what listing reads, see redis-scripts.ts) */
  readonly summaryKey: string;
  /**
   * @internal the one-round-trip bound (keys, bytes); tests lower it below zero to send
   * every commit down the staged path
   */
  oneTrip = { keys: ONE_TRIP_KEYS, bytes: ONE_TRIP_BYTES };
  /** @internal the client, with the storage's scripts registered on it */
  readonly scripts: ScriptedClient;
  /**
   * Commands under way, which close() lets finish on a live connection; and the waits
   * for a reconnect, which close() fails with `Released` when it must not wait.
   */
  private readonly gate = new CloseGate();

  private constructor(
    /** @internal */
    readonly client: Redis,
    private readonly ownsClient: boolean,
    prefix: string,
    private readonly address: ServerAddress,
    private readonly stagingTtlMs: number,
  ) {
    super();
    this.prefix = prefix;
    this.server = address.display;
    this.indexKey = `${prefix}index`;
    this.orderKey = `${prefix}order`;
    this.summaryKey = `${prefix}summary`;
    // On a borrowed client this adds methods under the library's own names (SCRIPTS);
    // defining them again, as a second storage on the same client does, is harmless.
    for (const [name, { keys, lua }] of Object.entries(SCRIPTS))
      client.defineCommand(name, { numberOfKeys: keys, lua });
    this.scripts = client as ScriptedClient;
  }

  /**
   * Connects and returns the storage guarded.
   *
   * @throws {CheckpointError} `Initialization` when the server cannot be reached (naming
   *   host and port), an option is unusable, or `ioredis` is not installed
   *
   * @example
   * ```ts
   * const storage = await RedisStorage.open({ url: 'redis://cache:6379', prefix: 'orders:' });
   * ```
   */
  static async open(options: RedisStorageOptions): Promise<Storage> {
    return GuardWrapper.wrap(await RedisStorage.openRaw(options));
  }

  /**
   * Like {@link RedisStorage.open}, without the guard, for composing wrapper chains.
   *
   * @throws {CheckpointError} as {@link RedisStorage.open}
   *
   * @example
   * ```ts
   * const storage = GuardWrapper.wrap(ChecksumWrapper.wrap(await RedisStorage.openRaw({ url })));
   * ```
   */
  static async openRaw(options: RedisStorageOptions): Promise<RedisStorage> {
    const { url, client: given } = options ?? {};
    const prefix = options?.prefix ?? 'checkpointable:';
    // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
    if (typeof prefix !== 'string' || prefix.length > 200 || /[\u0000-\u001f]/.test(prefix)) {
      throw new CheckpointError(
        'Initialization',
        'RedisStorage prefix must be a string of at most 200 characters without control characters, such as "checkpointable:".',
      );
    }
    if (given === undefined && (typeof url !== 'string' || url === '')) {
      throw new CheckpointError(
        'Initialization',
        'RedisStorage.open() needs a url (such as "redis://127.0.0.1:6379") or an ioredis client as `client`.',
      );
    }
    const stagingTtlMs = whole(options.stagingTtlMs, 3_600_000, 'stagingTtlMs', 1);
    const connectTimeoutMs = whole(options.connectTimeoutMs, 5000, 'connectTimeoutMs', 1);
    let opened = false;
    let address: ServerAddress;
    let client: Redis;
    let lastError: unknown;
    if (given !== undefined) {
      address = { display: `${given.options?.host ?? 'localhost'}:${given.options?.port ?? 6379}` };
      client = given;
    } else {
      address = serverAddress(url!, 6379);
      const ioredis = await loadDriver<typeof import('ioredis') & { Redis?: typeof Redis }>(
        'ioredis',
        'RedisStorage',
        '^5.3.0 || ^6.0.0',
      );
      const RedisClass = (ioredis.Redis ?? ioredis) as unknown as new (
        url: string,
        options: RedisOptions,
      ) => Redis;
      const commandTimeout = whole(options.commandTimeoutMs, 0, 'commandTimeoutMs', 0);
      client = new RedisClass(url!, {
        lazyConnect: true,
        connectionName: options.connectionName ?? 'checkpointable',
        connectTimeout: connectTimeoutMs,
        ...(commandTimeout > 0 ? { commandTimeout } : {}),
        // A command in flight when the connection drops fails at once (Io) instead of
        // being resent after a reconnect: the caller decides whether to retry.
        maxRetriesPerRequest: 0,
        // No retries while opening: an unreachable server is an error, not a hang.
        // Once open, reconnect with a capped back-off.
        retryStrategy: (times) => (opened ? Math.min(times * 100, 2000) : null),
      });
      // ioredis reports connection trouble as events; unheard, it logs them. The cause
      // reaches the user through the failing command instead.
      client.on('error', (error) => {
        lastError = error;
      });
    }
    const storage = new RedisStorage(client, given === undefined, prefix, address, stagingTtlMs);
    // ioredis's connectTimeout covers the TCP connect only; a peer that accepts and then
    // stays silent (a wrong port, a hung server) would stall the ready check for ever.
    // The whole handshake therefore runs against one deadline.
    try {
      await withDeadline(
        (async () => {
          if (client.status === 'wait') await client.connect();
          await client.ping();
        })(),
        connectTimeoutMs,
      );
      opened = true;
    } catch (error) {
      if (storage.ownsClient) client.disconnect();
      const silent = error instanceof Error && error.message.startsWith('no answer within');
      throw openFailure(address, silent ? error : (lastError ?? error));
    }
    // A key of another type where the index belongs is another program's, or damage:
    // every operation would fail on it, so open says so, naming it.
    let type: string;
    try {
      type = await withDeadline(client.type(storage.indexKey), connectTimeoutMs);
    } catch (error) {
      if (storage.ownsClient) client.disconnect();
      throw openFailure(address, error);
    }
    if (type !== 'hash' && type !== 'none') {
      if (storage.ownsClient) client.disconnect();
      throw new CheckpointError(
        'Initialization',
        `RedisStorage cannot use prefix ${quote(prefix)} (Redis at ${address.display}): key ${quote(storage.indexKey)} holds a ${type}, not the hash of checkpoints RedisStorage keeps there. It belongs to another program or is damaged; choose another prefix, or remove that key if nothing needs it.`,
      );
    }
    try {
      await storage.ensureOrder(type === 'hash');
    } catch (error) {
      if (storage.ownsClient) client.disconnect();
      throw error instanceof CheckpointError && error.kind === 'Initialization'
        ? error
        : openFailure(address, error);
    }
    return storage;
  }

  protected async doCreate(
    identifier: string,
    options: CreateCheckpointOptions = {},
  ): Promise<RedisUncommittedCheckpoint> {
    // The commit script refuses an existing identifier atomically, so a caller that builds
    // every value before committing may skip this round trip.
    if (options.checkExists === false) return new RedisUncommittedCheckpoint(identifier, this);
    const exists = await this.run(
      `check for checkpoint ${quote(identifier)}`,
      () => this.client.hexists(this.indexKey, storedName(identifier)),
      { details: { identifier }, keys: [this.indexKey], retry: true },
    );
    if (exists === 1) throw alreadyCommitted(identifier);
    return new RedisUncommittedCheckpoint(identifier, this);
  }

  protected async doCommit(checkpoint: RedisUncommittedCheckpoint): Promise<CommittedCheckpoint> {
    const { identifier } = checkpoint;
    const dataId = checkpoint.nextDataId();
    const dataKey = this.dataKey(dataId);
    const action = `commit checkpoint ${quote(identifier)}`;
    const advice =
      'Nothing of the checkpoint is visible (values already sent expire on their own), and the handle is still open: retry commitCheckpoint() with it, or discard it. (Should the connection have dropped after the commit landed, the retry finds out and succeeds.)';
    // The label travels as one more field of the data hash (see LABEL_FIELD).
    const { label } = checkpoint;
    let fields = checkpoint.values;
    if (label !== undefined) {
      fields = new Map(checkpoint.values);
      fields.set(LABEL_FIELD, Buffer.from(storedLabel(label)));
    }
    const member = this.orderMember(identifier);
    const summary = summaryOf(checkpoint.values, label);
    const result = await this.run(
      action,
      async () => {
        if (this.fitsOneTrip(fields)) {
          const args: (string | Buffer)[] = [];
          for (const [key, bytes] of fields)
            args.push(storedName(key), Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length));
          return (await this.scripts.checkpointableWriteAndPublish(
            this.indexKey,
            dataKey,
            this.orderKey,
            this.summaryKey,
            storedName(identifier),
            checkpoint.token,
            dataId,
            member,
            summary,
            ...args,
          )) as [number, string];
        }
        for (const batch of batches(fields, HSET_BATCH)) {
          const fields: (string | Buffer)[] = [];
          for (const [key, bytes] of batch)
            fields.push(storedName(key), Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length));
          const replies = await this.client
            .multi()
            .hset(dataKey, ...fields)
            .pexpire(dataKey, this.stagingTtlMs)
            .exec();
          const failed = replies?.find(([error]) => error !== null)?.[0];
          if (replies === null || failed) throw failed ?? new Error('MULTI was aborted');
        }
        return (await this.scripts.checkpointablePublish(
          this.indexKey,
          dataKey,
          this.orderKey,
          this.summaryKey,
          storedName(identifier),
          checkpoint.token,
          String(fields.size),
          dataId,
          member,
          summary,
        )) as [number, string];
      },
      {
        details: { identifier },
        keys: [this.indexKey, dataKey, this.orderKey, this.summaryKey],
        advice,
      },
    );
    const [status, raw] = result;
    if (status === 0) throw alreadyCommitted(identifier);
    if (status === 2) {
      throw new CheckpointError(
        'Io',
        `RedisStorage could not ${action} (Redis at ${this.server}, prefix ${quote(this.prefix)}): the values sent expired or were evicted before the commit finished (stagingTtlMs is ${this.stagingTtlMs}; check maxmemory-policy). ${advice}`,
        { identifier },
      );
    }
    const entry = parseEntry(Buffer.from(raw), identifier, this.indexKey);
    if (entry.dataId !== dataId) {
      // An earlier attempt of this handle landed although its reply was lost.
      checkpoint.values.clear();
      return this.doLoad(identifier);
    }
    const keys = [...checkpoint.values.keys()];
    checkpoint.values.clear(); // the handle is used up; its bytes now live in Redis
    return new RedisCommittedCheckpoint(this, identifier, entry, keys, label);
  }

  protected async doLoad(identifier: string): Promise<CommittedCheckpoint> {
    for (let attempt = 0; attempt < RETRIES; attempt++) {
      const entry = await this.entry(identifier);
      if (entry === undefined) throw checkpointNotFound(identifier);
      const dataKey = this.dataKey(entry.dataId);
      const reply = await this.run(
        `load checkpoint ${quote(identifier)}`,
        () =>
          this.scripts.checkpointableReadIfCurrentBuffer(
            ...this.readArgs(identifier, entry, false),
          ),
        { details: { identifier }, keys: [this.indexKey, dataKey], retry: true },
      );
      // undefined: removed or replaced between the two reads; look again.
      const read = this.readReply(identifier, entry, reply);
      if (read === undefined) continue;
      return new RedisCommittedCheckpoint(
        this,
        identifier,
        entry,
        [...read.sizes.keys()],
        read.label,
      );
    }
    throw busy(identifier, 'load');
  }

  protected async doRemove(identifier: string): Promise<void> {
    const stored = storedName(identifier);
    for (let attempt = 0; attempt < RETRIES; attempt++) {
      const entry = await this.entry(identifier);
      if (entry === undefined) throw checkpointNotFound(identifier);
      const dataKey = this.dataKey(entry.dataId);
      const removed = await this.run(
        `remove checkpoint ${quote(identifier)}`,
        () =>
          this.scripts.checkpointableRemoveIfCurrent(
            this.indexKey,
            dataKey,
            this.orderKey,
            this.summaryKey,
            stored,
            entry.raw,
            this.orderMember(identifier),
          ),
        {
          details: { identifier },
          keys: [this.indexKey, dataKey, this.orderKey, this.summaryKey],
        },
      );
      if (removed === 1) return;
    }
    throw busy(identifier, 'remove');
  }

  protected async doList(): Promise<string[]> {
    // Identifiers outside the grammar are skipped here and reported by listDamaged().
    const names: string[] = [];
    for (const raw of await this.listStored('list checkpoints')) {
      const read = readStoredBytes(raw);
      if ('name' in read) names.push(read.name);
    }
    return names;
  }

  /**
   * The identifiers and keys in Redis that no caller could have written (outside the
   * grammar, longer than any name, not valid UTF-8, not in the stored form), which
   * `checkpointIdentifiers()`, `loadCheckpoint()` and `keys()` therefore never show.
   * It reads the key names of every checkpoint: a check for operators and tests, not
   * for a hot path.
   *
   * @returns one entry per damaged name; empty when there is none
   * @throws {CheckpointError} `Io` when the server cannot be reached; `Released` after
   *   close(); `Deserialize` when the index is not a hash
   *
   * @example
   * ```ts
   * for (const { name, reason } of await storage.listDamaged()) console.warn(name, reason);
   * ```
   */
  async listDamaged(): Promise<DamagedName[]> {
    const damaged: DamagedName[] = [];
    const valid: string[] = [];
    for (const raw of await this.listStored('list damaged checkpoints')) {
      const read = readStoredBytes(raw);
      if ('name' in read) valid.push(read.name);
      else damaged.push({ name: shown(raw), reason: `checkpoint identifier: ${read.problem}` });
    }
    damaged.push(...(await this.orderProblems(valid)));
    for (const identifier of sortNames(valid)) {
      let loaded: RedisCommittedCheckpoint;
      try {
        loaded = (await this.doLoad(identifier)) as RedisCommittedCheckpoint;
      } catch (error) {
        if (CheckpointError.is(error, 'NotFound')) continue; // removed meanwhile
        if (!CheckpointError.is(error, 'Deserialize')) throw error;
        damaged.push({ name: identifier, reason: `checkpoint: ${error.message}` });
        continue;
      }
      const keys = (await this.run(
        'list damaged keys',
        () => this.client.hkeysBuffer(loaded.dataKey),
        { details: { identifier }, keys: [loaded.dataKey], retry: true },
      )) as Buffer[];
      for (const raw of keys) {
        if (raw.length === LABEL_FIELD.length && raw.toString('latin1') === LABEL_FIELD) continue;
        const read = readStoredBytes(raw);
        if ('problem' in read) {
          damaged.push({
            name: shown(raw),
            reason: `key of checkpoint ${quote(identifier)}: ${read.problem}`,
          });
        }
      }
    }
    return damaged;
  }

  /**
   * Where the order set and the index disagree: committed identifiers the set lacks
   * (prefix listings leave them out) and members that name no identifier correctly.
   * Members of identifiers no longer committed are not damage: listings skip them.
   */
  private async orderProblems(committed: string[]): Promise<DamagedName[]> {
    const members = (await this.run(
      'list damaged order entries',
      async () => {
        const count = await this.client.zcard(this.orderKey);
        if (count > MAX_REDIS_CHECKPOINTS + 1) return count;
        return this.client.zrangeBuffer(this.orderKey, '0', '-1');
      },
      { keys: [this.orderKey], retry: true },
    )) as Buffer[] | number;
    if (typeof members === 'number') {
      return [
        {
          name: this.orderKey,
          reason: `order set: it holds ${members} members, more than the ${MAX_REDIS_CHECKPOINTS} checkpoints a store lists; remove the key and reopen the storage to build it again`,
        },
      ];
    }
    const problems: DamagedName[] = [];
    const listed = new Set<string>();
    for (const member of members) {
      if (member.length === 0) continue; // the completeness mark
      const name = this.nameOfMember(member);
      if (name === undefined) {
        problems.push({
          name: shown(member),
          reason:
            'order set member: it is not the sort key, two zero bytes and the identifier; remove the member',
        });
      } else listed.add(name);
    }
    for (const identifier of committed) {
      if (!listed.has(identifier)) {
        problems.push({
          name: identifier,
          reason: `checkpoint identifier: it is missing from the order set ${quote(this.orderKey)}, so prefix listings (series) leave it out; remove that key and reopen the storage to build it again`,
        });
      }
    }
    return problems;
  }

  /** The index's field names, as bytes, refused when there are more than a listing returns. */
  private async listStored(action: string): Promise<Buffer[]> {
    const found = (await this.run(
      action,
      () => this.scripts.checkpointableListBuffer(this.indexKey, String(MAX_REDIS_CHECKPOINTS)),
      { keys: [this.indexKey], retry: true },
    )) as Buffer[] | number;
    if (typeof found === 'number') {
      throw new CheckpointError(
        'Other',
        `Redis hash ${quote(this.indexKey)} lists ${found} checkpoints, more than the ${MAX_REDIS_CHECKPOINTS} one listing returns; remove old checkpoints (the CLI's prune does it), or split them over several prefixes.`,
      );
    }
    return found;
  }

  protected async doClose(): Promise<void> {
    // On a live connection, commands under way finish (their replies come before
    // QUIT's). Commands waiting for a connection (the server is unreachable and the
    // client reconnecting) fail now with Released, rather than when it gives up.
    if (this.client.status !== 'ready') {
      this.gate.stop();
    }
    await this.gate.settled();
    if (!this.ownsClient) return;
    if (this.client.status !== 'ready') {
      this.client.disconnect();
      return;
    }
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect(); // already broken: nothing left to flush
    }
  }

  /**
   * Checks the order set's key, and builds the set when the store was written before it
   * existed (an index without the set's completeness mark): once, since the mark is added
   * at the end, and safely beside other writers, since each batch adds only identifiers
   * still in the index and commits and removals keep the set themselves.
   */
  private async ensureOrder(indexExists: boolean): Promise<void> {
    const type = await this.client.type(this.orderKey);
    if (type !== 'zset' && type !== 'none') {
      throw new CheckpointError(
        'Initialization',
        `RedisStorage cannot use prefix ${quote(this.prefix)} (Redis at ${this.server}): key ${quote(this.orderKey)} holds a ${type}, not the sorted set of identifiers RedisStorage keeps there. It belongs to another program or is damaged; choose another prefix, or remove that key if nothing needs it (open() builds it again).`,
      );
    }
    if (!indexExists || (await this.client.zscore(this.orderKey, '')) !== null) return;
    const names: string[] = [];
    for (const raw of await this.listStored('build the order of checkpoints')) {
      const read = readStoredBytes(raw);
      if ('name' in read) names.push(read.name); // listDamaged() reports the others
    }
    for (let i = 0; i === 0 || i < names.length; i += BUILD_BATCH) {
      const args: (string | Buffer)[] = [];
      for (const name of names.slice(i, i + BUILD_BATCH))
        args.push(storedName(name), this.orderMember(name));
      args.push(i + BUILD_BATCH >= names.length ? '1' : '0');
      await this.run(
        'build the order of checkpoints',
        () => this.scripts.checkpointableBuildOrder(this.orderKey, this.indexKey, ...args),
        { keys: [this.orderKey, this.indexKey] },
      );
    }
  }

  /** @internal the order-set member of an identifier: sort key, two zero bytes, stored name */
  orderMember(identifier: string): Buffer {
    return Buffer.concat([sortKey(identifier), ZERO_PAIR, Buffer.from(storedName(identifier))]);
  }

  /**
   * The summaries of the committed checkpoints among `identifiers` (see
   * {@link SummaryListing}), in two round trips whatever their number: one HMGET on the
   * index, then one pipeline of a script per checkpoint that answers its label, key names
   * and value sizes (HSTRLEN), never a value. A checkpoint whose entry, label or key
   * count is damaged is reported in `damaged`.
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
    const action = `summarize ${asked.length} checkpoints`;
    const replies = (await this.run(
      action,
      () =>
        this.scripts.checkpointableSummarizeBuffer(
          this.indexKey,
          this.summaryKey,
          String(MAX_ENTRY_BYTES),
          String(MAX_SUMMARY_BYTES),
          ...asked.map(storedName),
        ),
      { keys: [this.indexKey, this.summaryKey], retry: true },
    )) as (Buffer | number | null)[];
    // Checkpoints without a summary (written before summaries, or too large for one) are
    // read from their data hashes, in one pipeline.
    const entries: { identifier: string; entry: IndexEntry }[] = [];
    const done = new Map<string, CheckpointSummary>();
    for (const [i, identifier] of asked.entries()) {
      const raw = replies[2 * i];
      const stored = replies[2 * i + 1];
      if (raw === null || raw === undefined) continue; // not committed, or removed meanwhile
      try {
        const entry = parseEntry(
          typeof raw === 'number' ? Buffer.alloc(MAX_ENTRY_BYTES + 1) : raw,
          identifier,
          this.indexKey,
        );
        if (stored === null || stored === undefined) {
          entries.push({ identifier, entry });
          continue;
        }
        done.set(identifier, this.readSummary(identifier, entry, stored));
      } catch (error) {
        if (!(error instanceof CheckpointError)) throw error;
        out.damaged.push({ identifier, error });
      }
    }
    if (entries.length > 0) await this.summarizeFromData(entries, done, out.damaged);
    for (const identifier of asked) {
      const summary = done.get(identifier);
      if (summary !== undefined) out.summaries.push(summary);
    }
    return out;
  }

  /** A summary read from the summary hash, checked; `Deserialize` when it is damaged. */
  private readSummary(
    identifier: string,
    entry: IndexEntry,
    stored: Buffer | number,
  ): CheckpointSummary {
    const damaged = (why: string) =>
      new CheckpointError(
        'Deserialize',
        `The summary of checkpoint ${quote(identifier)} in Redis hash ${quote(this.summaryKey)} is damaged: ${why}. Remove the checkpoint, or restore the Redis data from a backup.`,
        { identifier },
      );
    if (typeof stored === 'number')
      throw damaged(`it is ${stored} bytes long, longer than any summary`);
    let parsed: unknown;
    try {
      if (!isUtf8(stored)) throw new Error('not UTF-8');
      parsed = JSON.parse(stored.toString('utf8'));
    } catch {
      throw damaged('it is not JSON in UTF-8');
    }
    const { k, l } = (parsed ?? {}) as { k?: unknown; l?: unknown };
    if (typeof k !== 'string') throw damaged('it has no key list');
    if (l !== undefined && (typeof l !== 'string' || l.length > MAX_LABEL_LENGTH)) {
      throw damaged('its label is not a string of at most 65,536 characters');
    }
    const sizes = new Map<string, number>();
    for (const item of k === '' ? [] : k.split('\\')) {
      const slash = item.lastIndexOf('/');
      const read = readStoredName(item.slice(0, slash));
      if (!('name' in read)) continue; // never handed out; listDamaged() reports it
      const text = item.slice(slash + 1);
      if (!/^\d{1,10}$/.test(text))
        throw damaged(`the size of key ${quote(read.name)} is ${quote(text)}`);
      sizes.set(read.name, Number(text));
    }
    return {
      identifier,
      createdAt: entry.createdAt,
      keys: sortedNames([...sizes.keys()]),
      sizes,
      ...(l === undefined ? {} : { label: l }),
    };
  }

  /** Summaries read from the data hashes, one script per checkpoint in one pipeline. */
  private async summarizeFromData(
    entries: { identifier: string; entry: IndexEntry }[],
    done: Map<string, CheckpointSummary>,
    damaged: CheckpointSummaries['damaged'],
  ): Promise<void> {
    const action = `summarize ${entries.length} checkpoints from their data`;
    const replies = await this.run(
      action,
      async () => {
        const pipeline = this.client.pipeline() as unknown as Record<
          string,
          (...args: (string | Buffer)[]) => unknown
        > & { exec(): Promise<[Error | null, unknown][] | null> };
        for (const { identifier, entry } of entries)
          pipeline.checkpointableReadIfCurrentBuffer(...this.readArgs(identifier, entry, true));
        const results = await pipeline.exec();
        if (results === null) throw new Error('the pipeline was aborted');
        return results.map(([error, reply]) => {
          if (error !== null) throw error;
          return reply;
        });
      },
      { keys: [this.indexKey], retry: true },
    );
    for (const [i, { identifier, entry }] of entries.entries()) {
      try {
        const read = this.readReply(identifier, entry, replies[i]);
        if (read === undefined) continue; // removed or replaced meanwhile
        done.set(identifier, {
          identifier,
          createdAt: entry.createdAt,
          keys: sortedNames([...read.sizes.keys()]),
          sizes: read.sizes,
          ...(read.label === undefined ? {} : { label: read.label }),
        });
      } catch (error) {
        if (!(error instanceof CheckpointError)) throw error;
        damaged.push({ identifier, error });
      }
    }
  }

  /** The arguments of the READ_IF_CURRENT script for one checkpoint. */
  private readArgs(identifier: string, entry: IndexEntry, sizes: boolean): string[] {
    return [
      this.indexKey,
      this.dataKey(entry.dataId),
      storedName(identifier),
      entry.raw,
      String(MAX_REDIS_KEYS),
      LABEL_FIELD,
      String(MAX_STORED_LABEL),
      sizes ? '1' : '0',
    ];
  }

  /**
   * A READ_IF_CURRENT reply, checked: the keys (with sizes when asked for) and the label;
   * `undefined` when the entry changed. Keys outside the grammar are left out
   * (listDamaged() reports them).
   */
  private readReply(
    identifier: string,
    entry: IndexEntry,
    reply: unknown,
  ): { sizes: Map<string, number>; label?: string } | undefined {
    if (reply === null) return undefined;
    const dataKey = this.dataKey(entry.dataId);
    const damaged = (why: string) =>
      new CheckpointError(
        'Deserialize',
        `Checkpoint ${quote(identifier)} in Redis hash ${quote(dataKey)} is damaged: ${why}. Remove the checkpoint, or restore the Redis data from a backup.`,
        { identifier },
      );
    if (!Array.isArray(reply)) throw damaged('the server answered its read oddly');
    const [status, label, names, sizes] = reply as [unknown, unknown, unknown, unknown];
    if (status === 1) {
      throw new CheckpointError(
        'Deserialize',
        `Checkpoint ${quote(identifier)} holds ${String(label)} keys in Redis hash ${quote(dataKey)}, more than the ${MAX_REDIS_KEYS} RedisStorage reads back: the hash is damaged. Remove the checkpoint, or restore the Redis data from a backup.`,
        { identifier },
      );
    }
    if (status === 2)
      throw damaged(`its label is ${String(label)} bytes long, longer than any label`);
    if (status !== 0 || !Array.isArray(names) || !Array.isArray(sizes)) {
      throw damaged('the server answered its read oddly');
    }
    let text: string | undefined;
    if (label !== null) {
      if (!Buffer.isBuffer(label)) throw damaged('the server answered its read oddly');
      let decoded: string;
      try {
        decoded = UTF8.decode(label);
      } catch {
        throw damaged('its label is not valid UTF-8');
      }
      const read = readStoredLabel(decoded);
      if ('problem' in read) throw damaged(read.problem);
      text = read.label;
    }
    const out = new Map<string, number>();
    for (const [i, raw] of (names as Buffer[]).entries()) {
      if (raw.length === LABEL_FIELD.length && raw.toString('latin1') === LABEL_FIELD) continue;
      const read = readStoredBytes(raw);
      if (!('name' in read)) continue;
      const size: unknown = sizes[i] ?? 0;
      if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
        throw damaged(`the size of key ${quote(read.name)} came back as ${String(size)}`);
      }
      out.set(read.name, size);
    }
    return text === undefined ? { sizes: out } : { sizes: out, label: text };
  }

  /**
   * The committed identifiers starting with `prefix`, in JavaScript string order (see
   * {@link PrefixListing}): one script over a range of the order set, reading only as
   * many members as `limit` asks for, each checked against the index on the server and
   * against its identifier here.
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
    const { before, limit = MAX_REDIS_CHECKPOINTS, descending = false } = options;
    if (limit === 0) return [];
    const range = prefixRange(prefix, before);
    // '[' + low includes the members of `prefix` itself (low, then the zero pair); the
    // empty member, the completeness mark, is below every bound but '-'.
    let low = Buffer.concat([Buffer.from('['), range.low]);
    let high =
      range.high === undefined ? Buffer.from('+') : Buffer.concat([Buffer.from('('), range.high]);
    const out: string[] = [];
    // A member found damaged here is skipped and the next ones are read in its place,
    // from just past the last member read, so a listing never returns fewer than it could.
    while (out.length < limit) {
      const want = Math.min(limit - out.length, MAX_REDIS_CHECKPOINTS);
      const members = (await this.run(
        `list checkpoints starting with ${quote(prefix)}`,
        () =>
          this.scripts.checkpointableListRangeBuffer(
            this.orderKey,
            this.indexKey,
            low,
            high,
            String(want),
            descending ? '1' : '0',
            String(RANGE_STEP),
          ),
        { keys: [this.orderKey, this.indexKey], retry: true },
      )) as Buffer[];
      for (const member of members) {
        const name = this.nameOfMember(member);
        if (name !== undefined && name.startsWith(prefix)) out.push(name);
      }
      if (members.length < want) break;
      const past = Buffer.concat([Buffer.from('('), members[members.length - 1]]);
      if (descending) high = past;
      else low = past;
    }
    return out;
  }

  /** The identifier of an order member, or `undefined` when the member is damaged. */
  private nameOfMember(member: Buffer): string | undefined {
    if (member.length > MAX_STORED_NAME_BYTES * 2 + 2) return undefined;
    for (let at = 0; at + 1 < member.length; at += 2) {
      if (member[at] !== 0 || member[at + 1] !== 0) continue;
      const read = readStoredBytes(member.subarray(at + 2));
      if (!('name' in read)) return undefined;
      const name = nameOfSortKey(member.subarray(0, at));
      return name === read.name ? name : undefined;
    }
    return undefined;
  }

  /** Whether a commit of these values goes in one script (see ONE_TRIP_KEYS). */
  private fitsOneTrip(values: Map<string, Uint8Array>): boolean {
    if (values.size > this.oneTrip.keys) return false;
    let bytes = 0;
    // Three bytes per UTF-16 unit bounds a key name's UTF-8 length without encoding it.
    for (const [key, value] of values) bytes += key.length * 3 + value.length;
    return bytes <= this.oneTrip.bytes;
  }

  /** @internal the data hash of a checkpoint */
  dataKey(dataId: string): string {
    return `${this.prefix}data:${dataId}`;
  }

  /**
   * @internal runs Redis commands, turning a driver failure into a `CheckpointError`: a
   * key of the wrong type is `Deserialize` naming the keys; anything else is `Io`. A
   * `retry` operation (an idempotent read) is sent once more after a dropped connection;
   * ioredis reconnects by itself.
   */
  async run<T>(action: string, operation: () => Promise<T>, options: RunOptions = {}): Promise<T> {
    const { details = {}, keys = [], retry = false } = options;
    const advice = options.advice ?? 'Check that the server is up and reachable, then retry.';
    for (let attempt = 0; ; attempt++) {
      this.assertOpen();
      const running = operation();
      this.gate.enter(running);
      try {
        return await Promise.race([running, this.gate.closing]);
      } catch (error) {
        if (error === CLOSED) {
          throw new CheckpointError(
            'Released',
            `This RedisStorage was closed while the operation waited for the connection to Redis at ${this.server}; open a new one to keep working with its checkpoints.`,
            details,
          );
        }
        if (error instanceof CheckpointError) throw error;
        if (wrongType(error)) {
          throw new CheckpointError(
            'Deserialize',
            `RedisStorage could not ${action} (Redis at ${this.server}, prefix ${quote(this.prefix)}): ${keys.length === 1 ? `key ${quote(keys[0])} holds` : `one of the keys ${keys.map(quote).join(', ')} holds`} a value of another type than RedisStorage writes there (${describeCause(error, this.address)}). It belongs to another program or is damaged; remove or rename it, or restore the Redis data from a backup.`,
            { ...details, cause: error },
          );
        }
        if (retry && attempt === 0 && !this.closed && connectionLost(error)) continue;
        throw new CheckpointError(
          'Io',
          `RedisStorage could not ${action} (Redis at ${this.server}, prefix ${quote(this.prefix)}): ${lostOr(error, this.address)}. ${advice}`,
          { ...details, cause: error },
        );
      } finally {
        this.gate.leave(running);
        running.catch(() => undefined); // a command abandoned by close() must not be unhandled
      }
    }
  }

  private async entry(identifier: string): Promise<IndexEntry | undefined> {
    const raw = await this.run(
      `load checkpoint ${quote(identifier)}`,
      () => this.client.hgetBuffer(this.indexKey, storedName(identifier)),
      { details: { identifier }, keys: [this.indexKey], retry: true },
    );
    return raw === null ? undefined : parseEntry(raw, identifier, this.indexKey);
  }
}

/** Ends the sort key in an order member (see redis-scripts.ts). */
const ZERO_PAIR = Buffer.alloc(2);
