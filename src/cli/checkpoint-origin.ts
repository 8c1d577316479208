/**
 * When a checkpoint was first committed, across copies. Every storage stamps `createdAt`
 * itself at commit, so a copied checkpoint would look new. Instead of a storage-level
 * option (which every storage and wrapper would have to carry), a copy records the
 * original time in the checkpoint's manifest, the value CheckpointManager already keeps
 * under its reserved key: the manager ignores the extra field (its `restoreAll` and
 * `list` hide the manifest), the target's wrapper chain seals it like any value, and the
 * bin reports it as the checkpoint's creation time. A checkpoint written without the
 * manager gets a manifest holding only its keys and that time.
 */
import { decodeValue } from '../codec/decoder';
import { encodeValue } from '../codec/encoder';
import { CheckpointError, quote } from '../errors';
import { STORED_CLASSES } from './stored-classes';
import { MANIFEST_KEY, type Manifest } from '../manager/manifest';
import type { CommittedCheckpoint } from '../storage/storage';

/**
 * What `ls` shows of one checkpoint.
 *
 * @example
 * ```ts
 * const info: CheckpointSummary = await summarize(saved);
 * console.log(info.createdAt.toISOString(), info.copied ? '(copied)' : '');
 * ```
 */
export interface CheckpointSummary {
  readonly identifier: string;
  /** When it was first committed: the original time for a copy. */
  readonly createdAt: Date;
  /** When this storage committed it. */
  readonly storedAt: Date;
  /** Whether `createdAt` came from a copy's manifest. */
  readonly copied: boolean;
  /** The user keys (the manifest left out). */
  readonly keys: string[];
  /** The `@Checkpointable` classes inside, from the manifest. */
  readonly classes: { name: string; version: number }[];
}

/**
 * A manifest as the bin reads it: the manager's fields plus the time of the original commit.
 * @example
 * ```ts
 * const m: OriginManifest = { format: 1, keys: ['order'], classes: [], createdAt: new Date() };
 * ```
 */
export interface OriginManifest extends Manifest {
  /** When the checkpoint was first committed, set by `cp` and `import`. */
  createdAt?: Date;
}

/**
 * Reads a checkpoint's keys and manifest.
 * @throws {CheckpointError} as the storage and its wrappers do (`Integrity` for a damaged
 *   manifest); `Deserialize` for a manifest that is not one
 *
 * @example
 * ```ts
 * await using saved = await storage.loadCheckpoint('nightly');
 * const { createdAt, keys } = await summarize(saved);
 * ```
 */
export async function summarize(saved: CommittedCheckpoint): Promise<CheckpointSummary> {
  const keys = await saved.keys();
  const manifest = keys.includes(MANIFEST_KEY)
    ? readManifest(await saved.getBytes(MANIFEST_KEY), saved.identifier)
    : undefined;
  return {
    identifier: saved.identifier,
    createdAt: manifest?.createdAt ?? saved.createdAt,
    storedAt: saved.createdAt,
    copied: manifest?.createdAt !== undefined,
    keys: keys.filter((k) => k !== MANIFEST_KEY),
    classes: manifest?.classes ?? [],
  };
}

/**
 * Decodes and checks a manifest's bytes: what storage holds is hostile until checked.
 * @throws {CheckpointError} `Deserialize` when the bytes are not a manifest
 *
 * @example
 * ```ts
 * const { keys, createdAt } = readManifest(await saved.getBytes(MANIFEST_KEY), saved.identifier);
 * ```
 */
export function readManifest(bytes: Uint8Array, identifier: string): OriginManifest {
  const value = decodeValue(bytes, { identifier, key: MANIFEST_KEY, classes: STORED_CLASSES });
  const fail = (problem: string) =>
    new CheckpointError(
      'Deserialize',
      `The manifest of checkpoint ${quote(identifier)} ${problem}; run \`checkpointable verify ${JSON.stringify(identifier)}\` and restore it from a backup if it is damaged.`,
      { identifier, key: MANIFEST_KEY },
    );
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw fail('is not an object');
  }
  const m = value as Partial<OriginManifest>;
  if (m.format !== 1) throw fail(`has format ${String(m.format).slice(0, 20)}, not 1`);
  if (!Array.isArray(m.keys) || !m.keys.every((k) => typeof k === 'string')) {
    throw fail('has no list of keys');
  }
  if (
    !Array.isArray(m.classes) ||
    !m.classes.every(
      (c: unknown) =>
        c !== null &&
        typeof c === 'object' &&
        typeof (c as { name?: unknown }).name === 'string' &&
        Number.isInteger((c as { version?: unknown }).version),
    )
  ) {
    throw fail('has no list of classes');
  }
  if (
    m.createdAt !== undefined &&
    !(m.createdAt instanceof Date && !Number.isNaN(m.createdAt.getTime()))
  ) {
    throw fail('has a createdAt that is not a valid date');
  }
  return m as OriginManifest;
}

/**
 * The manifest bytes a copy writes: the source's manifest with `createdAt` set to the
 * original commit time (kept if the source was itself a copy), or a new manifest listing
 * `keys` for a checkpoint written without the manager.
 *
 * @example
 * ```ts
 * await draft.putBytes(MANIFEST_KEY, manifestForCopy(sourceManifest, keys, createdAt, id));
 * ```
 */
export function manifestForCopy(
  source: OriginManifest | undefined,
  keys: readonly string[],
  createdAt: Date,
  identifier: string,
): Buffer {
  const manifest: OriginManifest = source
    ? { ...source, createdAt }
    : { format: 1, keys: [...keys], classes: [], createdAt };
  return encodeValue(manifest, { identifier, key: MANIFEST_KEY });
}

export { MANIFEST_KEY };
