import { randomBytes } from 'node:crypto';
import { CheckpointError, quote } from '../errors';
import {
  BaseCommittedCheckpoint,
  BaseUncommittedCheckpoint,
  keyNotFound,
} from '../storage/base-checkpoints';
import { sortNames } from '../storage/names';
import type { CheckpointSummaries } from '../storage/checkpoint-summaries';
import type {
  CommittedCheckpoint,
  CreateCheckpointOptions,
  Storage,
  UncommittedCheckpoint,
} from '../storage/storage';
import {
  decodeManifest,
  encodeManifest,
  sealError,
  TAMPERED,
  type SealContext,
  type SealManifest,
} from './checkpoint-seal';
import {
  COMMIT_ID_SIZE,
  envelopeError,
  ENVELOPE_VERSION,
  SEALED_ENVELOPE_VERSION,
  type EnvelopeContext,
} from './envelope';
import { WrappedUncommittedCheckpoint, WrapperStorage } from './wrapper-storage';

/**
 * A value a {@link SealingWrapper} sealed: the envelope to store and its tag.
 * @example
 * ```ts
 * const { envelope, tag }: SealedValue = wrapper.sealValue('acct', 'balance', bytes, commitId);
 * ```
 */
export interface SealedValue {
  /** The bytes the inner storage keeps. */
  envelope: Uint8Array;
  /** The envelope's HMAC or GCM tag, which the checkpoint seal lists. */
  tag: Buffer;
}

/**
 * An envelope a {@link SealingWrapper} verified.
 * @example
 * ```ts
 * const { version, commitId, tag, payload }: OpenedValue = wrapper.openValue(id, key, bytes);
 * ```
 */
export interface OpenedValue {
  /** 1 (no commit id) or 2. */
  version: number;
  /** The commit id, for format 2. */
  commitId?: Buffer;
  /** The HMAC or GCM tag. */
  tag: Buffer;
  /** The value's bytes, a fresh copy. */
  payload: Uint8Array;
}

/**
 * How a sealing wrapper names and sizes its seal.
 * @example
 * ```ts
 * const layout: SealingLayout = { wrapperName: 'HmacWrapper', magic, sealKey: sealKey('hmac'), tagSize: 32 };
 * ```
 */
export interface SealingLayout {
  /** Shown in messages. */
  readonly wrapperName: string;
  /** The first four bytes of the wrapper's envelopes. */
  readonly magic: Buffer;
  /** The reserved key its seal is stored under. */
  readonly sealKey: string;
  /** The size of the tag each envelope carries. */
  readonly tagSize: number;
}

/** What a committed handle checks each read against. */
type CommitState =
  | { readonly sealed: true; readonly commitId: Buffer; readonly manifest: SealManifest }
  | { readonly sealed: false };

/**
 * A wrapper that authenticates values (HMAC, encryption) and, through a seal written at
 * commit, the checkpoint as a whole: its identifier, its commit, its `createdAt` and its
 * set of keys. The seal's format and rules are in `checkpoint-seal.ts`; subclasses only
 * seal and open single envelopes.
 *
 * @example
 * ```ts
 * class MyMacWrapper extends SealingWrapper {
 *   protected readonly storageName = 'MyMacWrapper';
 *   sealValue(identifier: string, key: string, bytes: Uint8Array, commitId: Buffer) { ... }
 *   openValue(identifier: string, key: string, bytes: Uint8Array) { ... }
 * }
 * ```
 */
export abstract class SealingWrapper extends WrapperStorage {
  /**
   * @param inner the storage this wrapper adds its behaviour to
   * @param layout the wrapper's name, magic, seal key and tag size
   * @throws {CheckpointError} `Initialization` when a wrapper of the same kind is already
   *   inside `inner`: both would keep their seal under one reserved key
   */
  constructor(
    inner: Storage,
    /** @internal */
    readonly layout: SealingLayout,
  ) {
    super(inner);
    for (let at: Storage = inner; at instanceof WrapperStorage; at = at.inner) {
      if (at instanceof SealingWrapper && at.layout.sealKey === layout.sealKey) {
        throw new CheckpointError(
          'Initialization',
          `${layout.wrapperName}: the storage it wraps already contains another ${layout.wrapperName}, and both would keep their checkpoint seal under the one reserved key ${quote(layout.sealKey)}; use each of HmacWrapper and EncryptionWrapper at most once in a chain.`,
        );
      }
    }
  }

  /**
   * Seals one value as a format 2 envelope bound to `commitId`.
   * @internal called by the wrapper's handles
   */
  abstract sealValue(
    identifier: string,
    key: string,
    bytes: Uint8Array,
    commitId: Buffer,
  ): SealedValue;

  /**
   * Verifies a format 1 or 2 envelope (MAC or GCM tag, identifier and key binding) and
   * returns what it holds.
   * @throws {CheckpointError} `Integrity` or `Deserialize` when it fails a check
   * @internal called by the wrapper's handles
   */
  abstract openValue(identifier: string, key: string, bytes: Uint8Array): OpenedValue;

  /**
   * Refuses the wrapper's reserved seal key as a user key.
   * @throws {CheckpointError} `InvalidIdentifier`
   * @internal
   */
  assertUserKey(identifier: string, key: string): void {
    if (key !== this.layout.sealKey) return;
    throw new CheckpointError(
      'InvalidIdentifier',
      `The key ${quote(key)} in checkpoint ${quote(identifier)} is reserved by ${this.layout.wrapperName} for the checkpoint's seal; choose another key.`,
      { identifier, key },
    );
  }

  /**
   * Opens a value read from a committed checkpoint and checks it belongs to that commit:
   * format 2 with the seal's commit id and the tag the seal lists for `key`, or, in a
   * checkpoint without a seal (written before seals existed), format 1.
   * @throws {CheckpointError} `Integrity` for a value from elsewhere
   * @internal
   */
  openCommitted(
    identifier: string,
    key: string,
    bytes: Uint8Array,
    state: CommitState,
  ): Uint8Array {
    const opened = this.openValue(identifier, key, bytes);
    const context = this.context(identifier, key);
    let problem: string | undefined;
    if (!state.sealed) {
      if (opened.version !== ENVELOPE_VERSION) {
        problem = `it belongs to a sealed commit (envelope format ${opened.version}), but the checkpoint has no seal ${quote(this.layout.sealKey)}`;
      }
    } else if (opened.version !== SEALED_ENVELOPE_VERSION) {
      problem = `it has envelope format ${opened.version}, written before checkpoints were sealed, but this checkpoint is sealed: it was put here from an older checkpoint`;
    } else if (!opened.commitId!.equals(state.commitId)) {
      problem = `it belongs to another commit of this checkpoint (commit id ${opened.commitId!.toString('hex')}, the seal's is ${state.commitId.toString('hex')})`;
    } else if (!opened.tag.equals(state.manifest.tags.get(key)!)) {
      problem = `it is not the value the seal lists for this key, but another value written under the same key in the same commit`;
    }
    if (problem === undefined) return opened.payload;
    opened.payload.fill(0);
    throw envelopeError('Integrity', context, problem, TAMPERED);
  }

  /**
   * Opens a value read back from an uncommitted handle: format 2 with the handle's own
   * commit id.
   * @internal
   */
  openUncommitted(
    identifier: string,
    key: string,
    bytes: Uint8Array,
    commitId: Buffer,
  ): OpenedValue {
    const opened = this.openValue(identifier, key, bytes);
    if (opened.version === SEALED_ENVELOPE_VERSION && opened.commitId!.equals(commitId)) {
      return opened;
    }
    opened.payload.fill(0);
    throw envelopeError(
      'Integrity',
      this.context(identifier, key),
      'it was not written through this uncommitted handle (its envelope names another commit)',
      TAMPERED,
    );
  }

  protected override async doCreate(
    identifier: string,
    options: CreateCheckpointOptions,
  ): Promise<WrappedUncommittedCheckpoint> {
    const inner = await this.inner.createCheckpoint(identifier, options);
    return new SealingUncommittedCheckpoint(this, inner);
  }

  /**
   * Summaries from the inner storage without this wrapper's seal key. They are the
   * medium's unauthenticated facts: `createdAt` is the time the medium recorded, just
   * after the sealed time a loaded handle reports.
   * @example
   * ```ts
   * const { summaries } = await wrapper.summarizeCheckpoints(['order-42']);
   * ```
   */
  override async summarizeCheckpoints(
    identifiers: readonly string[],
  ): Promise<CheckpointSummaries> {
    const found = await super.summarizeCheckpoints(identifiers);
    const { sealKey } = this.layout;
    const summaries = found.summaries.map((summary) => {
      if (!summary.keys.includes(sealKey)) return summary;
      const sizes = summary.sizes === undefined ? undefined : new Map(summary.sizes);
      sizes?.delete(sealKey);
      return { ...summary, keys: summary.keys.filter((key) => key !== sealKey), sizes };
    });
    return { summaries, damaged: found.damaged };
  }

  protected override async doCommit(
    checkpoint: WrappedUncommittedCheckpoint,
  ): Promise<CommittedCheckpoint> {
    const handle = checkpoint as SealingUncommittedCheckpoint;
    const { identifier, commitId, inner } = handle;
    const tags = await handle.finalTags();
    const createdAt = Date.now();
    const payload = encodeManifest(createdAt, tags, this.layout.tagSize);
    const { envelope } = this.sealValue(identifier, this.layout.sealKey, payload, commitId);
    // Written last, into the same uncommitted checkpoint, so the inner commit publishes
    // the seal and the values at once. After a failed commit it stays hidden in the
    // handle and the next attempt writes it again.
    if (inner instanceof BaseUncommittedCheckpoint) {
      await inner.putOwnedBytes(this.layout.sealKey, envelope);
    } else await inner.putBytes(this.layout.sealKey, envelope);
    const committed = await this.inner.commitCheckpoint(inner);
    const keys = sortNames([...tags.keys()]);
    return new SealingCommittedCheckpoint(this, committed, new Date(createdAt), {
      sealed: true,
      commitId,
      manifest: { createdAt, keys, tags },
    });
  }

  protected override async doLoad(identifier: string): Promise<CommittedCheckpoint> {
    const inner = await this.inner.loadCheckpoint(identifier);
    try {
      const state = await this.verify(inner);
      const createdAt = state.sealed ? new Date(state.manifest.createdAt) : inner.createdAt;
      return new SealingCommittedCheckpoint(this, inner, createdAt, state);
    } catch (error) {
      // The inner handle must not stay held (a GuardWrapper further in counts it); the
      // verification error is the one the caller needs, whatever release says.
      await inner.release().catch(() => undefined);
      throw error;
    }
  }

  /** Reads and checks the seal and the key set of a loaded checkpoint. */
  private async verify(inner: CommittedCheckpoint): Promise<CommitState> {
    const { identifier } = inner;
    const { sealKey, tagSize, magic } = this.layout;
    const context: SealContext = { wrapperName: this.layout.wrapperName, identifier, sealKey };
    const stored = await inner.keys();
    if (!stored.includes(sealKey)) {
      // Written before seals existed, or the seal was removed: accept only if no value
      // claims to belong to a sealed commit.
      for (const key of stored) {
        const bytes = await inner.getBytes(key);
        if (
          bytes.length > 4 &&
          bytes[4] === SEALED_ENVELOPE_VERSION &&
          magic.equals(bytes.subarray(0, 4))
        ) {
          throw sealError(
            context,
            `its value ${quote(key)} belongs to a sealed commit (envelope format 2), but the checkpoint has no seal ${quote(sealKey)}`,
            TAMPERED,
            key,
          );
        }
      }
      return { sealed: false };
    }
    const opened = this.openValue(identifier, sealKey, await inner.getBytes(sealKey));
    if (opened.version !== SEALED_ENVELOPE_VERSION || opened.commitId?.length !== COMMIT_ID_SIZE) {
      opened.payload.fill(0);
      throw sealError(
        context,
        `its seal ${quote(sealKey)} has envelope format ${opened.version}, and seals are always written in format 2`,
        TAMPERED,
        sealKey,
      );
    }
    const manifest = decodeManifest(opened.payload, tagSize, context);
    const held = new Set(stored);
    held.delete(sealKey);
    const missing = manifest.keys.filter((key) => !held.has(key));
    const extra = [...held].filter((key) => !manifest.tags.has(key));
    if (missing.length > 0 || extra.length > 0) {
      const parts: string[] = [];
      if (missing.length > 0) {
        parts.push(`the seal lists ${describeKeys(missing)} that the storage does not hold`);
      }
      if (extra.length > 0) {
        parts.push(`the storage holds ${describeKeys(extra)} that the seal does not list`);
      }
      throw sealError(context, parts.join(', and '), TAMPERED, missing[0] ?? extra[0]);
    }
    return { sealed: true, commitId: Buffer.from(opened.commitId), manifest };
  }

  private context(identifier: string, key: string): EnvelopeContext {
    return { wrapperName: this.layout.wrapperName, identifier, key };
  }
}

/** `the key "a"` or `the keys "a", "b" and 3 more`, for messages. */
function describeKeys(keys: readonly string[]): string {
  const shown = keys.slice(0, 5).map(quote).join(', ');
  const more = keys.length > 5 ? ` and ${keys.length - 5} more` : '';
  return `${keys.length === 1 ? 'the key' : 'the keys'} ${shown}${more}`;
}

/**
 * An uncommitted handle of a {@link SealingWrapper}: every value it writes is bound to
 * its commit id, and it remembers each key's tag for the seal.
 */
class SealingUncommittedCheckpoint extends WrappedUncommittedCheckpoint {
  /** Drawn once per uncommitted checkpoint; every value and the seal carry it. */
  readonly commitId = randomBytes(COMMIT_ID_SIZE);
  readonly #tags = new Map<string, Buffer>();
  /** Keys whose last write or removal failed: their stored tag is read back at commit. */
  readonly #unsure = new Set<string>();

  constructor(
    private readonly sealing: SealingWrapper,
    inner: UncommittedCheckpoint,
  ) {
    super(sealing, inner);
  }

  protected override async writeBytes(key: string, bytes: Uint8Array): Promise<void> {
    this.sealing.assertUserKey(this.identifier, key);
    const { envelope, tag } = this.sealing.sealValue(this.identifier, key, bytes, this.commitId);
    // Set before the first await, so overlapping puts of one key leave the last call's tag.
    this.#tags.set(key, tag);
    const inner = this.inner;
    try {
      if (inner instanceof BaseUncommittedCheckpoint) await inner.putOwnedBytes(key, envelope);
      else await inner.putBytes(key, envelope);
    } catch (error) {
      this.#unsure.add(key);
      throw error;
    }
  }

  protected override async readBytes(key: string): Promise<Uint8Array> {
    this.sealing.assertUserKey(this.identifier, key);
    const bytes = await this.inner.getBytes(key);
    return this.sealing.openUncommitted(this.identifier, key, bytes, this.commitId).payload;
  }

  protected override async deleteKey(key: string): Promise<void> {
    this.sealing.assertUserKey(this.identifier, key);
    // The remembered tag stays: the seal lists only keys the inner handle still holds,
    // and a put of the same key started meanwhile has already set its own tag.
    try {
      await this.inner.remove(key);
    } catch (error) {
      this.#unsure.add(key);
      throw error;
    }
  }

  protected override async listKeys(): Promise<string[]> {
    const sealKey = this.sealing.layout.sealKey;
    return (await this.inner.keys()).filter((key) => key !== sealKey);
  }

  /**
   * The keys the inner handle holds, each with its value's tag: remembered, or read
   * back from the stored envelope when a write to that key failed or raced a removal.
   * @internal
   */
  async finalTags(): Promise<Map<string, Buffer>> {
    const tags = new Map<string, Buffer>();
    for (const key of await this.listKeys()) {
      let tag = this.#unsure.has(key) ? undefined : this.#tags.get(key);
      if (tag === undefined) {
        const bytes = await this.inner.getBytes(key);
        const opened = this.sealing.openUncommitted(this.identifier, key, bytes, this.commitId);
        opened.payload.fill(0);
        tag = Buffer.from(opened.tag);
      }
      tags.set(key, tag);
    }
    return tags;
  }
}

/**
 * A committed handle of a {@link SealingWrapper}, from commit or load: it lists the
 * sealed keys, reports the sealed `createdAt`, and checks every value it reads against
 * the seal.
 */
class SealingCommittedCheckpoint extends BaseCommittedCheckpoint {
  constructor(
    private readonly sealing: SealingWrapper,
    private readonly inner: CommittedCheckpoint,
    createdAt: Date,
    private readonly state: CommitState,
  ) {
    super(inner.identifier, createdAt, inner.label);
  }

  protected async readBytes(key: string): Promise<Uint8Array> {
    this.sealing.assertUserKey(this.identifier, key);
    if (this.state.sealed && !this.state.manifest.tags.has(key)) {
      throw keyNotFound(this.identifier, key);
    }
    const bytes = await this.inner.getBytes(key);
    return this.sealing.openCommitted(this.identifier, key, bytes, this.state);
  }

  protected async listKeys(): Promise<string[]> {
    if (this.state.sealed) return [...this.state.manifest.keys];
    return this.inner.keys();
  }

  protected override async onRelease(): Promise<void> {
    try {
      await this.inner.release();
    } finally {
      this.sealing.committedReleased(this.identifier);
    }
  }
}
