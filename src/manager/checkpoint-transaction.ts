import { encodeValueWithClasses } from '../decorators/registry-codec';
import { CheckpointError, quote } from '../errors';
import { assertValidName, sortNames } from '../storage/names';
import type { Storage, UncommittedCheckpoint } from '../storage/storage';
import { assertUserKey, manifestLabel, MANIFEST_KEY, type Manifest } from './manifest';

/**
 * What a commit produced: the checkpoint as `list()` will describe it.
 *
 * @example
 * ```ts
 * const { identifier, createdAt, keys, classes } = await manager.save('a', { order });
 * ```
 */
export interface CheckpointInfo {
  /** The checkpoint identifier. */
  identifier: string;
  /** When the storage committed it. */
  createdAt: Date;
  /** The keys saved (the manifest key excluded), sorted. */
  keys: string[];
  /** The names of the `@Checkpointable` classes inside, sorted; empty when unknown. */
  classes: string[];
  /**
   * The same classes with the version each was saved at (`{ name: 'Order', version: 2 }`),
   * sorted by name; empty when unknown. Compare with the code's versions before restoring.
   */
  classVersions: { name: string; version: number }[];
}

/** One value, encoded at the moment it was handed over. */
export interface EncodedEntry {
  key: string;
  bytes: Buffer;
  classes: { name: string; version: number }[];
}

/**
 * Encodes `value` for `key` now (the snapshot is taken at call time) and notes the
 * classes inside for the manifest. Runs the codec exactly once per key.
 * @internal
 */
export function encodeEntry(identifier: string, key: string, value: unknown): EncodedEntry {
  assertValidName('key', key, identifier);
  assertUserKey(key, identifier);
  const { bytes, classes } = encodeValueWithClasses(value, { identifier, key });
  return {
    key,
    bytes,
    classes: classes.map((c) => ({ name: c.name, version: c.version })),
  };
}

/**
 * An open checkpoint being filled by `CheckpointManager.begin()`: add values one by one,
 * then commit them all at once, or discard. Each `add` snapshots its value immediately.
 * Dispose it (`await using`) to discard it when it was not committed.
 *
 * @example
 * ```ts
 * await using tx = await manager.begin('order-42');
 * await tx.add('order', order);
 * await tx.add('customer', customer);
 * await tx.commit();
 * ```
 */
export class CheckpointTransaction implements AsyncDisposable {
  readonly #entries = new Map<string, EncodedEntry>();
  #state: 'open' | 'committed' | 'discarded' = 'open';

  /** @internal Created by `CheckpointManager.begin()`. */
  constructor(
    private readonly storage: Storage,
    private readonly draft: UncommittedCheckpoint,
    private readonly onEnd: (tx: CheckpointTransaction) => void,
  ) {}

  /** The checkpoint identifier. */
  get identifier(): string {
    return this.draft.identifier;
  }

  /** True until committed or discarded. */
  get isOpen(): boolean {
    return this.#state === 'open';
  }

  /**
   * Adds (or replaces) `value` under `key`, snapshotting it now.
   * @throws {CheckpointError} `Serialize` with the path to a value that cannot be saved;
   *   `InvalidIdentifier` for a bad or reserved key; `Released` after commit or discard
   * @example
   * ```ts
   * await tx.add('order', order);
   * ```
   */
  add(key: string, value: unknown): Promise<void> {
    try {
      this.#assertOpen();
      // Encoded synchronously, before anything else runs: later changes are not saved.
      return this.write(encodeEntry(this.identifier, key, value));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** @internal Stores an already encoded entry. */
  async write(entry: EncodedEntry): Promise<void> {
    this.#assertOpen();
    await this.draft.putBytes(entry.key, entry.bytes);
    this.#entries.set(entry.key, entry);
  }

  /**
   * Writes the manifest and commits every value at once, then releases the committed
   * handle. On failure the checkpoint is discarded and the error rethrown.
   * @throws {CheckpointError} `AlreadyExists` when the identifier was committed meanwhile
   * @example
   * ```ts
   * const info = await tx.commit();
   * ```
   */
  async commit(): Promise<CheckpointInfo> {
    this.#assertOpen();
    const keys = sortNames([...this.#entries.keys()]);
    const classes = new Map<string, number>();
    for (const entry of this.#entries.values()) {
      for (const c of entry.classes) classes.set(c.name, c.version);
    }
    const manifest: Manifest = {
      format: 1,
      keys,
      classes: sortNames([...classes.keys()]).map((name) => ({
        name,
        version: classes.get(name)!,
      })),
    };
    try {
      await this.draft.put(MANIFEST_KEY, manifest);
      // The same facts where listings find them without reading a value.
      this.draft.setLabel?.(manifestLabel(manifest));
      const committed = await this.storage.commitCheckpoint(this.draft);
      this.#end('committed');
      const createdAt = committed.createdAt;
      await committed.release();
      return {
        identifier: this.identifier,
        createdAt,
        keys,
        classes: manifest.classes.map((c) => c.name),
        classVersions: manifest.classes.map((c) => ({ name: c.name, version: c.version })),
      };
    } catch (error) {
      if (this.#state === 'open') await this.discard();
      throw error;
    }
  }

  /**
   * Abandons everything added. Idempotent.
   * @example
   * ```ts
   * await tx.discard();
   * ```
   */
  async discard(): Promise<void> {
    if (this.#state !== 'open') return;
    this.#end('discarded');
    await this.draft.discard();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.discard();
  }

  #end(state: 'committed' | 'discarded'): void {
    this.#state = state;
    this.onEnd(this);
  }

  #assertOpen(): void {
    if (this.#state === 'open') return;
    throw new CheckpointError(
      'Released',
      `The transaction on checkpoint ${quote(this.identifier)} was ${this.#state}; start a new one with manager.begin(${quote(this.identifier)}).`,
      { identifier: this.identifier },
    );
  }
}
