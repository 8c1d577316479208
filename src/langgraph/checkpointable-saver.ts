import { randomBytes } from 'node:crypto';
import type { RunnableConfig } from '@langchain/core/runnables';
import {
  BaseCheckpointSaver,
  compareWritesSortKeys,
  copyCheckpoint,
  getCheckpointId,
  maxChannelVersion,
  TASKS,
  WRITES_IDX_MAP,
  writesSortKey,
  type ChannelVersions,
  type Checkpoint,
  type CheckpointListOptions,
  type CheckpointMetadata,
  type CheckpointPendingWrite,
  type CheckpointTuple,
  type PendingWrite,
  type SerializerProtocol,
} from '@langchain/langgraph-checkpoint';
import { CheckpointError, quote } from '../errors';
import { listIdentifiersWithPrefix, type PrefixListingOptions } from '../storage/prefix-listing';
import { MAX_LABEL_LENGTH, summarizeCheckpoints } from '../storage/checkpoint-summaries';
import type { CommittedCheckpoint, Storage, UncommittedCheckpoint } from '../storage/storage';
import {
  checkpointIdentifier,
  checkpointPrefix,
  decodePart,
  encodePart,
  LANGGRAPH_PREFIX,
  parseIdentifier,
  threadPrefix,
  writesPrefix,
} from './langgraph-identifiers';
import { loadValue, storeValue, type StoredValue } from './langgraph-values';

/** Where a LangGraph checkpoint belongs, as stored under the key `config`. */
interface StoredConfig {
  thread_id: string;
  checkpoint_ns: string;
  checkpoint_id: string;
  parent_checkpoint_id?: string;
}

/** Everything of a LangGraph checkpoint but its channel values, under {@link RECORD_KEY}. */
interface StoredRecord {
  config: StoredConfig;
  metadata: StoredValue;
  /** The checkpoint without `channel_values`. */
  checkpoint: object;
  /** For each unchanged channel, the id of the ancestor checkpoint that stores its value. */
  holders: Map<string, string>;
}

/** How many checkpoints list() summarizes at once. */
const LIST_BATCH = 64;
/** What a label holding a checkpoint's metadata starts with. */
const METADATA_LABEL = 'langgraph-metadata:';

/** The key of a checkpoint's {@link StoredRecord}. */
const RECORD_KEY = 'record';

/** One write of a putWrites() call, as stored. */
interface StoredWrite {
  taskId: string;
  channel: string;
  idx: number;
  taskPath: string;
  value: StoredValue;
}

/** What a stored checkpoint says about its channels. */
interface ChannelFacts {
  /** The channels whose values it stores itself. */
  stored: Set<string>;
  /** For the others: the checkpoint id that stores each one's current value. */
  holders: Map<string, string>;
}

/** How many checkpoints' channel facts a saver keeps in memory. */
const RECENT_LIMIT = 1_000;
/** Stored channel values live under keys with this prefix and the encoded channel name. */
const CHANNEL_KEY = 'v:';

/** A process-wide counter, so writes stored in one millisecond keep their call order. */
let writeSequence = 0;
const PROCESS_TAG = randomBytes(4).toString('hex');

/**
 * A LangGraph checkpoint saver over any checkpointable {@link Storage}: durable files,
 * PostgreSQL, plain Redis, memory, behind any wrapper chain (checksums, HMAC, encryption).
 *
 * Each LangGraph checkpoint is one committed checkpoint, and each `putWrites()` call one
 * more, committed after it (LangGraph checkpoints are immutable, and so are ours). Their
 * identifiers are listed in `langgraph-identifiers.ts`; a thread's checkpoints share one
 * identifier prefix, and checkpoint ids (uuid6) sort by time, so the latest checkpoint of a
 * thread is the last identifier under that prefix. Values go through checkpointable's
 * codec, so Dates, Maps, Sets, bigints and cycles in a state come back equal; only values
 * the codec refuses (LangChain's own classes, such as messages) go through LangGraph's
 * serializer.
 *
 * @example
 * ```ts
 * import { CheckpointableSaver } from 'checkpointable/langgraph';
 * const saver = new CheckpointableSaver(await FileStorage.open('./var/agents'));
 * const graph = workflow.compile({ checkpointer: saver });
 * await graph.invoke(input, { configurable: { thread_id: 'conversation-1' } });
 * await saver.close(); // closes the storage
 * ```
 */
export class CheckpointableSaver extends BaseCheckpointSaver {
  readonly #recent = new Map<string, ChannelFacts>();

  /**
   * @param storage where checkpoints go; the saver closes it on {@link close}
   * @param serde LangGraph's serializer, for values checkpointable's codec refuses
   */
  constructor(
    readonly storage: Storage,
    serde?: SerializerProtocol,
  ) {
    super(serde);
  }

  async getTuple(config: RunnableConfig): Promise<CheckpointTuple | undefined> {
    const threadId = config.configurable?.thread_id as unknown;
    if (threadId === undefined) return undefined;
    const thread = requireString('thread_id', threadId);
    const namespace = optionalNamespace(config.configurable?.checkpoint_ns);
    const checkpointId = getCheckpointId(config);
    if (checkpointId) {
      const tuple = await this.#read(checkpointIdentifier(thread, namespace, checkpointId));
      return tuple === undefined ? undefined : { ...tuple, config };
    }
    const prefix = checkpointPrefix(thread, namespace);
    // Newest first: a checkpoint removed meanwhile is skipped for the one before it.
    let before: string | undefined;
    for (;;) {
      const [newest] = await this.#identifiers(prefix, { descending: true, limit: 1, before });
      if (newest === undefined) return undefined;
      const tuple = await this.#read(newest);
      if (tuple !== undefined) return tuple;
      before = newest;
    }
  }

  async *list(
    config: RunnableConfig,
    options?: CheckpointListOptions,
  ): AsyncGenerator<CheckpointTuple> {
    const { before, filter } = options ?? {};
    let limit = options?.limit;
    const threadId = config.configurable?.thread_id as unknown;
    const namespace = config.configurable?.checkpoint_ns as unknown;
    const onlyId = config.configurable?.checkpoint_id as unknown;
    const beforeId = before?.configurable?.checkpoint_id as unknown;
    const prefix =
      threadId === undefined || threadId === ''
        ? LANGGRAPH_PREFIX
        : threadPrefix(requireString('thread_id', threadId));
    const namespacePart =
      namespace === undefined ? undefined : encodePart(optionalNamespace(namespace));
    const groups = new Map<string, string[]>();
    for (const identifier of await this.#identifiers(prefix)) {
      const parsed = parseIdentifier(identifier);
      if (parsed === undefined || parsed.kind !== 'c' || parsed.checkpointId === undefined) {
        continue;
      }
      if (namespacePart !== undefined && parsed.namespacePart !== namespacePart) continue;
      if (typeof onlyId === 'string' && onlyId !== '' && parsed.checkpointId !== onlyId) continue;
      if (typeof beforeId === 'string' && beforeId !== '' && parsed.checkpointId >= beforeId) {
        continue;
      }
      const group = `${parsed.threadPart}:${parsed.namespacePart}`;
      let list = groups.get(group);
      if (list === undefined) groups.set(group, (list = []));
      list.push(identifier);
    }
    for (const identifiers of groups.values()) {
      // Newest first, in batches: a filter is tried on the labels first, so checkpoints
      // whose metadata does not match are never read.
      for (let end = identifiers.length; end > 0; end -= LIST_BATCH) {
        const batch = identifiers.slice(Math.max(0, end - LIST_BATCH), end).reverse();
        const candidates = filter === undefined ? batch : await this.#mayMatch(batch, filter);
        for (const identifier of candidates) {
          if (limit !== undefined && limit <= 0) return;
          const tuple = await this.#read(identifier, filter);
          if (tuple === undefined) continue;
          if (limit !== undefined) limit -= 1;
          yield tuple;
        }
      }
    }
  }

  async put(
    config: RunnableConfig,
    checkpoint: Checkpoint,
    metadata: CheckpointMetadata,
    newVersions: ChannelVersions,
  ): Promise<RunnableConfig> {
    const threadId = config.configurable?.thread_id as unknown;
    if (threadId === undefined) throw missing('put a checkpoint', 'thread_id');
    const thread = requireString('thread_id', threadId);
    const namespace = optionalNamespace(config.configurable?.checkpoint_ns);
    const checkpointId = requireString('checkpoint id', checkpoint.id);
    const identifier = checkpointIdentifier(thread, namespace, checkpointId);
    const parent = config.configurable?.checkpoint_id as unknown;
    const stored: StoredConfig = {
      thread_id: thread,
      checkpoint_ns: namespace,
      checkpoint_id: checkpointId,
    };
    if (typeof parent === 'string' && parent !== '') stored.parent_checkpoint_id = parent;
    const { channel_values: channelValues, ...rest } = copyCheckpoint(checkpoint);
    const values: Record<string, unknown> = {};
    // Channel deltas: only the channels newVersions names are stored here; every other
    // channel's value is found in the checkpoint that stored its current version (its
    // holder), which the parent already knows.
    const stored_ = new Set<string>();
    const holders = new Map<string, string>();
    const parentFacts =
      stored.parent_checkpoint_id === undefined
        ? undefined
        : await this.#facts(checkpointIdentifier(thread, namespace, stored.parent_checkpoint_id));
    for (const [channel, value] of Object.entries(channelValues ?? {})) {
      if (Object.prototype.hasOwnProperty.call(newVersions, channel)) {
        const key = channelKey(channel);
        values[key] = await storeValue(value, this.serde, { identifier, key });
        stored_.add(channel);
      } else if (parentFacts !== undefined) {
        const holder = parentFacts.stored.has(channel)
          ? stored.parent_checkpoint_id
          : parentFacts.holders.get(channel);
        if (holder !== undefined) holders.set(channel, holder);
      }
    }
    const record: StoredRecord = {
      config: stored,
      metadata: await storeValue(metadata, this.serde, { identifier, key: RECORD_KEY }),
      checkpoint: rest,
      holders,
    };
    values[RECORD_KEY] = record;
    await this.#commit(identifier, values, metadataLabel(metadata), true);
    this.#remember(identifier, { stored: stored_, holders });
    return {
      configurable: { thread_id: thread, checkpoint_ns: namespace, checkpoint_id: checkpointId },
    };
  }

  async putWrites(
    config: RunnableConfig,
    writes: PendingWrite[],
    taskId: string,
    taskPath?: string,
  ): Promise<void> {
    const threadId = config.configurable?.thread_id as unknown;
    const checkpointId = config.configurable?.checkpoint_id as unknown;
    if (threadId === undefined) throw missing('put writes', 'thread_id');
    if (checkpointId === undefined) throw missing('put writes', 'checkpoint_id');
    const thread = requireString('thread_id', threadId);
    const namespace = optionalNamespace(config.configurable?.checkpoint_ns);
    const id = requireString('checkpoint_id', checkpointId);
    const task = requireString('task_id', taskId);
    const sequence = `${Date.now().toString(36).padStart(10, '0')}-${(writeSequence++).toString(36).padStart(8, '0')}-${PROCESS_TAG}`;
    const identifier = `${writesPrefix(thread, namespace, id)}${sequence}`;
    const stored: StoredWrite[] = [];
    for (const [idx, [channel, value]] of writes.entries()) {
      stored.push({
        taskId: task,
        channel,
        idx: WRITES_IDX_MAP[channel] || idx,
        taskPath: taskPath ?? '',
        value: await storeValue(value, this.serde, { identifier, key: channel }),
      });
    }
    await this.#commit(identifier, { writes: stored }, undefined, false);
  }

  async deleteThread(threadId: string): Promise<void> {
    const thread = requireString('thread_id', threadId);
    const prefix = threadPrefix(thread);
    for (const identifier of await this.#identifiers(prefix)) {
      try {
        await this.storage.removeCheckpoint(identifier);
      } catch (error) {
        if (!CheckpointError.is(error, 'NotFound')) throw error;
      }
    }
  }

  /**
   * Closes the storage.
   * @example
   * ```ts
   * await saver.close();
   * ```
   */
  async close(): Promise<void> {
    await this.storage.close();
  }

  /**
   * The committed identifiers under `prefix`, ascending: through the storage's prefix
   * listing where it has one, so a thread's length and other threads cost nothing.
   */
  #identifiers(prefix: string, options?: PrefixListingOptions): Promise<string[]> {
    return listIdentifiersWithPrefix(this.storage, prefix, options);
  }

  /**
   * The identifiers of `batch` whose metadata may match `filter`: those whose label shows
   * it does not are left out; those without a usable label are kept, to be read.
   */
  async #mayMatch(batch: string[], filter: Record<string, unknown>): Promise<string[]> {
    const { summaries } = await summarizeCheckpoints(this.storage, batch);
    const excluded = new Set<string>();
    for (const { identifier, label } of summaries) {
      const metadata = metadataOfLabel(label);
      if (metadata === undefined) continue;
      if (!Object.entries(filter).every(([key, value]) => metadata[key] === value)) {
        excluded.add(identifier);
      }
    }
    // Damaged or removed ones stay in: reading them reports (or skips) them as before.
    return batch.filter((identifier) => !excluded.has(identifier));
  }

  /**
   * Commits `values` (and `label`) as `identifier` in one round trip where the storage can:
   * every value is ready, so the commit's own refusal of an existing identifier replaces
   * the early check. With `replace`, an existing checkpoint (a checkpoint id put again, as
   * LangGraph's own savers allow) is removed and the commit tried once more.
   */
  async #commit(
    identifier: string,
    values: Record<string, unknown>,
    label: string | undefined,
    replace: boolean,
  ): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      let draft: UncommittedCheckpoint | undefined;
      try {
        draft = await this.storage.createCheckpoint(identifier, { checkExists: false });
        if (label !== undefined) draft.setLabel?.(label);
        for (const [key, value] of Object.entries(values)) await draft.put(key, value);
        await (await this.storage.commitCheckpoint(draft)).release();
        return;
      } catch (error) {
        await draft?.discard().catch(() => undefined);
        if (!replace || attempt > 0 || !CheckpointError.is(error, 'AlreadyExists')) throw error;
        await this.storage.removeCheckpoint(identifier).catch(() => undefined);
      }
    }
  }

  /**
   * The tuple of one stored checkpoint, or undefined when it is gone (or `filter` does not
   * match its metadata, checked before the rest is read).
   */
  async #read(
    identifier: string,
    filter?: Record<string, unknown>,
  ): Promise<CheckpointTuple | undefined> {
    return this.#withLoaded(identifier, async (saved) => {
      const record = await readRecord(saved, identifier);
      const stored = record.config;
      const metadata = (await loadValue(record.metadata, this.serde, {
        identifier,
        key: RECORD_KEY,
      })) as CheckpointMetadata;
      if (filter !== undefined) {
        const fields = metadata as Record<string, unknown>;
        if (!Object.entries(filter).every(([key, value]) => fields[key] === value)) {
          return undefined;
        }
      }
      const checkpoint = record.checkpoint as Checkpoint;
      const holders = record.holders;
      const values: Record<string, unknown> = {};
      const stored_ = new Set<string>();
      for (const key of await saved.keys()) {
        const channel = channelOf(key);
        if (channel === undefined) continue;
        values[channel] = await loadValue(await saved.get(key), this.serde, { identifier, key });
        stored_.add(channel);
      }
      this.#remember(identifier, { stored: stored_, holders });
      await this.#readHeld(stored, holders, values);
      checkpoint.channel_values = values;
      const { thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id } = stored;
      if (checkpoint.v < 4 && parent_checkpoint_id !== undefined) {
        await this.#migratePendingSends(checkpoint, thread_id, checkpoint_ns, parent_checkpoint_id);
      }
      const tuple: CheckpointTuple = {
        config: { configurable: { thread_id, checkpoint_ns, checkpoint_id } },
        checkpoint,
        metadata,
        pendingWrites: await this.#pendingWrites(thread_id, checkpoint_ns, checkpoint_id),
      };
      if (parent_checkpoint_id !== undefined) {
        tuple.parentConfig = {
          configurable: { thread_id, checkpoint_ns, checkpoint_id: parent_checkpoint_id },
        };
      }
      return tuple;
    });
  }

  /** Which channels a stored checkpoint holds itself, and where the others are held. */
  async #facts(identifier: string): Promise<ChannelFacts | undefined> {
    const known = this.#recent.get(identifier);
    if (known !== undefined) return known;
    return this.#withLoaded(identifier, async (saved) => {
      const { holders } = await readRecord(saved, identifier);
      const stored = new Set<string>();
      for (const key of await saved.keys()) {
        const channel = channelOf(key);
        if (channel !== undefined) stored.add(channel);
      }
      const facts = { stored, holders };
      this.#remember(identifier, facts);
      return facts;
    });
  }

  /**
   * Loads `identifier`, runs `use` on it and releases it; undefined, without running
   * `use`, when the checkpoint does not exist (a thread removed meanwhile).
   */
  async #withLoaded<T>(
    identifier: string,
    use: (saved: CommittedCheckpoint) => Promise<T>,
  ): Promise<T | undefined> {
    let saved: CommittedCheckpoint;
    try {
      saved = await this.storage.loadCheckpoint(identifier);
    } catch (error) {
      if (CheckpointError.is(error, 'NotFound')) return undefined;
      throw error;
    }
    try {
      return await use(saved);
    } finally {
      await saved.release();
    }
  }

  /** Keeps the facts of recent checkpoints, so a put after a put reads nothing back. */
  #remember(identifier: string, facts: ChannelFacts): void {
    this.#recent.delete(identifier);
    this.#recent.set(identifier, facts);
    if (this.#recent.size > RECENT_LIMIT) {
      this.#recent.delete(this.#recent.keys().next().value!);
    }
  }

  /** Reads the channel values `holders` points at into `values`. */
  async #readHeld(
    config: StoredConfig,
    holders: Map<string, string>,
    values: Record<string, unknown>,
  ): Promise<void> {
    const byHolder = new Map<string, string[]>();
    for (const [channel, holder] of holders) {
      const channels = byHolder.get(holder) ?? [];
      channels.push(channel);
      byHolder.set(holder, channels);
    }
    for (const [holder, channels] of byHolder) {
      const identifier = checkpointIdentifier(config.thread_id, config.checkpoint_ns, holder);
      let saved;
      try {
        saved = await this.storage.loadCheckpoint(identifier);
      } catch (error) {
        if (!CheckpointError.is(error, 'NotFound')) throw error;
        throw new CheckpointError(
          'NotFound',
          `LangGraph checkpoint ${quote(config.checkpoint_id)} of thread ${quote(config.thread_id)} keeps the unchanged channels ${channels.map(quote).join(', ')} in its ancestor ${quote(holder)}, which was removed; a thread's checkpoints are removed together, with deleteThread().`,
          { identifier, cause: error },
        );
      }
      try {
        for (const channel of channels) {
          const key = channelKey(channel);
          values[channel] = await loadValue(await saved.get(key), this.serde, { identifier, key });
        }
      } finally {
        await saved.release();
      }
    }
  }

  /**
   * Checkpoints of format version 3 and older kept pending sends as writes of their
   * parent; LangGraph now expects them in the `__pregel_tasks` channel.
   */
  async #migratePendingSends(
    checkpoint: Checkpoint,
    thread: string,
    namespace: string,
    parentId: string,
  ): Promise<void> {
    const sends = (await this.#pendingWrites(thread, namespace, parentId))
      .filter(([, channel]) => channel === TASKS)
      .map(([, , value]) => value);
    checkpoint.channel_values ??= {};
    (checkpoint.channel_values as Record<string, unknown>)[TASKS] = sends;
    checkpoint.channel_versions ??= {};
    const versions = Object.values(checkpoint.channel_versions);
    checkpoint.channel_versions[TASKS] =
      versions.length > 0 ? maxChannelVersion(...versions) : this.getNextVersion(undefined);
  }

  /**
   * The pending writes of one checkpoint, in LangGraph's replay order: each putWrites()
   * call in the order it was made, a regular write never replacing an earlier one with the
   * same task and index, a special one (error, interrupt, ...) always replacing it.
   */
  async #pendingWrites(
    thread: string,
    namespace: string,
    checkpointId: string,
  ): Promise<CheckpointPendingWrite[]> {
    const merged = new Map<string, StoredWrite>();
    for (const identifier of await this.#identifiers(
      writesPrefix(thread, namespace, checkpointId),
    )) {
      await this.#withLoaded(identifier, async (saved) => {
        const writes = await saved.get<StoredWrite[]>('writes');
        if (!Array.isArray(writes)) throw damaged(identifier, 'its writes');
        const before = new Set(merged.keys());
        for (const write of writes) {
          const key = `${write.taskId},${write.idx}`;
          if (write.idx >= 0 && before.has(key)) continue;
          merged.set(key, write);
        }
      });
    }
    const ordered = [...merged.values()].sort((a, b) =>
      compareWritesSortKeys(
        writesSortKey(a.taskPath, a.taskId, a.idx),
        writesSortKey(b.taskPath, b.taskId, b.idx),
      ),
    );
    const out: CheckpointPendingWrite[] = [];
    for (const write of ordered) {
      const value = await loadValue(write.value, this.serde, {
        identifier: checkpointId,
        key: write.channel,
      });
      out.push([write.taskId, write.channel, value]);
    }
    return out;
  }
}

/**
 * Reads and checks a checkpoint's record: a value written by anything else (or damaged
 * into another shape) is `Deserialize`, never half-used.
 */
async function readRecord(saved: CommittedCheckpoint, identifier: string): Promise<StoredRecord> {
  const record = (await saved.get(RECORD_KEY)) as Partial<StoredRecord> | null;
  const config = record?.config as Partial<StoredConfig> | undefined;
  const holders = record?.holders;
  const ok =
    record !== null &&
    typeof record === 'object' &&
    config !== null &&
    typeof config === 'object' &&
    typeof config.thread_id === 'string' &&
    typeof config.checkpoint_ns === 'string' &&
    typeof config.checkpoint_id === 'string' &&
    (config.parent_checkpoint_id === undefined ||
      typeof config.parent_checkpoint_id === 'string') &&
    record.checkpoint !== null &&
    typeof record.checkpoint === 'object' &&
    holders instanceof Map &&
    [...holders].every(
      ([channel, holder]) => typeof channel === 'string' && typeof holder === 'string',
    );
  if (!ok) throw damaged(identifier, 'its record');
  return record as StoredRecord;
}

/**
 * The metadata as a checkpoint label, for filtering without reading values: JSON behind a
 * marker, or undefined when JSON would not keep every primitive as it is (a non-finite
 * number, a bigint), or when it is too long for a label.
 */
function metadataLabel(metadata: CheckpointMetadata): string | undefined {
  let text: string;
  try {
    text = JSON.stringify(metadata, (_key, value: unknown) => {
      if (typeof value === 'number' && !Number.isFinite(value)) throw new RangeError('not JSON');
      return value;
    });
  } catch {
    return undefined;
  }
  const label = `${METADATA_LABEL}${text}`;
  return label.length <= MAX_LABEL_LENGTH ? label : undefined;
}

/** The metadata a label written by {@link metadataLabel} holds, or undefined. */
function metadataOfLabel(label: string | undefined): Record<string, unknown> | undefined {
  if (label === undefined || !label.startsWith(METADATA_LABEL)) return undefined;
  try {
    const parsed: unknown = JSON.parse(label.slice(METADATA_LABEL.length));
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function channelKey(channel: string): string {
  return `${CHANNEL_KEY}${encodePart(channel)}`;
}

function channelOf(key: string): string | undefined {
  return key.startsWith(CHANNEL_KEY) ? decodePart(key.slice(CHANNEL_KEY.length)) : undefined;
}

function requireString(field: string, value: unknown): string {
  if (typeof value === 'string' && value !== '') return value;
  throw new CheckpointError(
    'InvalidIdentifier',
    `CheckpointableSaver needs ${field} to be a non-empty string; got ${value === null ? 'null' : typeof value === 'string' ? 'an empty string' : typeof value}.`,
  );
}

function optionalNamespace(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  throw new CheckpointError(
    'InvalidIdentifier',
    `CheckpointableSaver needs checkpoint_ns to be a string; got ${typeof value}.`,
  );
}

function missing(what: string, field: string): CheckpointError {
  return new CheckpointError(
    'InvalidIdentifier',
    `Failed to ${what}: the RunnableConfig has no "${field}" in its "configurable" property. Pass one, as in graph.invoke(input, { configurable: { thread_id: "conversation-1" } }).`,
  );
}

function damaged(identifier: string, what: string): CheckpointError {
  return new CheckpointError(
    'Deserialize',
    `Checkpoint ${quote(identifier)} is not a LangGraph checkpoint of CheckpointableSaver: ${what} are not in the stored form. It was written by something else or damaged; remove it or restore it from a backup.`,
    { identifier },
  );
}
