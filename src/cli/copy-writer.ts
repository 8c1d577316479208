import { CheckpointError, quote } from '../errors';
import type { Storage, UncommittedCheckpoint } from '../storage/storage';
import {
  MANIFEST_KEY,
  manifestForCopy,
  readManifest,
  type OriginManifest,
} from './checkpoint-origin';

/**
 * Writes one copied checkpoint into a target storage (for `cp` and `import`): the values
 * go through the target's wrapper chain, so they are sealed with its keys; the manifest
 * gets the original creation time (see checkpoint-origin.ts). Nothing is visible in the
 * target until {@link CopyWriter.commit}: an interrupted copy leaves no partial checkpoint.
 *
 * @example
 * ```ts
 * const copy = await CopyWriter.begin(target, 'order-42', createdAt);
 * await copy.value('order', bytes);
 * await copy.commit();
 * ```
 */
export class CopyWriter {
  private manifest: OriginManifest | undefined;
  private readonly keys: string[] = [];
  private bytes = 0;

  private constructor(
    private readonly target: Storage,
    private readonly draft: UncommittedCheckpoint,
    private readonly createdAt: Date,
  ) {}

  /**
   * Opens the checkpoint `identifier` in `target`.
   * @throws {CheckpointError} `AlreadyExists` when the target has it
   */
  static async begin(target: Storage, identifier: string, createdAt: Date): Promise<CopyWriter> {
    return new CopyWriter(target, await target.createCheckpoint(identifier), createdAt);
  }

  /** The identifier being copied. */
  get identifier(): string {
    return this.draft.identifier;
  }

  /** Writes one value's unwrapped bytes (the manifest is held until the commit). */
  async value(key: string, bytes: Uint8Array): Promise<void> {
    this.bytes += bytes.byteLength;
    if (key === MANIFEST_KEY) {
      this.manifest = readManifest(bytes, this.identifier);
      return;
    }
    this.keys.push(key);
    await this.draft.putBytes(key, bytes);
  }

  /**
   * Writes the manifest with the original creation time and commits.
   * @returns the bytes copied (values as unwrapped)
   * @throws {CheckpointError} `AlreadyExists` when another writer committed the identifier
   *   meanwhile; the draft is discarded on any failure
   */
  async commit(): Promise<number> {
    try {
      const manifest = manifestForCopy(this.manifest, this.keys, this.createdAt, this.identifier);
      if (this.manifest !== undefined) this.checkKeys(this.manifest);
      await this.draft.putBytes(MANIFEST_KEY, manifest);
      const saved = await this.target.commitCheckpoint(this.draft);
      await saved.release();
      return this.bytes;
    } catch (error) {
      await this.discard();
      throw error;
    }
  }

  /** Abandons the copy; the target is left as it was. */
  async discard(): Promise<void> {
    await this.draft.discard().catch(() => undefined);
  }

  /** A manifest naming keys the copy does not have would make the copy lie about itself. */
  private checkKeys(manifest: OriginManifest): void {
    const have = new Set(this.keys);
    const missing = manifest.keys.filter((k) => !have.has(k));
    if (missing.length > 0) {
      throw new CheckpointError(
        'Integrity',
        `Checkpoint ${quote(this.identifier)} lists ${missing.map(quote).join(', ')} in its manifest but has no such value; it was not copied. Run \`checkpointable verify\` on the source.`,
        { identifier: this.identifier },
      );
    }
  }
}
