import { CheckpointError } from '../errors';
import { DAMAGE_KINDS, summarizeCheckpoints } from '../storage/checkpoint-summaries';
import type { CommittedCheckpoint, Storage } from '../storage/storage';
import type { CheckpointInfo } from './checkpoint-transaction';
import { classesOfLabel, MANIFEST_KEY, parseManifest } from './manifest';

/** How many distinct labels one listing remembers parsed. */
const LABEL_MEMO = 256;

/**
 * What {@link describeCheckpoints} found.
 * @internal
 */
export interface CheckpointDescriptions {
  /** The readable checkpoints, in the order asked. */
  infos: CheckpointInfo[];
  /** The checkpoints that cannot be read, with why. */
  damaged: { identifier: string; error: CheckpointError }[];
}

/**
 * Describes committed checkpoints as `list()` does: creation time, keys and the classes
 * with their versions. The facts come from the storage's summaries and the label the
 * manager writes beside the values; only a checkpoint saved before labels existed has its
 * manifest value read. Checkpoints removed meanwhile are left out.
 * @internal
 */
export async function describeCheckpoints(
  storage: Storage,
  identifiers: readonly string[],
): Promise<CheckpointDescriptions> {
  const found = await summarizeCheckpoints(storage, identifiers);
  const out: CheckpointDescriptions = { infos: [], damaged: [...found.damaged] };
  // The checkpoints of one service carry the same label: parse each label once.
  const parsed = new Map<string | undefined, ReturnType<typeof classesOfLabel>>();
  for (const summary of found.summaries) {
    let classes = parsed.get(summary.label);
    if (classes === undefined && !parsed.has(summary.label)) {
      classes = classesOfLabel(summary.label);
      if (parsed.size < LABEL_MEMO) parsed.set(summary.label, classes);
    }
    if (classes !== undefined || !summary.keys.includes(MANIFEST_KEY)) {
      out.infos.push({
        identifier: summary.identifier,
        createdAt: summary.createdAt,
        keys: summary.keys.filter((k) => k !== MANIFEST_KEY),
        classes: (classes ?? []).map((c) => c.name),
        classVersions: (classes ?? []).map((c) => ({ name: c.name, version: c.version })),
      });
      continue;
    }
    try {
      const info = await describeFromManifest(storage, summary.identifier);
      if (info !== undefined) out.infos.push(info);
    } catch (error) {
      if (!(error instanceof CheckpointError) || !DAMAGE_KINDS.has(error.kind)) throw error;
      out.damaged.push({ identifier: summary.identifier, error });
    }
  }
  return out;
}

/** One checkpoint's facts from its manifest value; undefined when it was removed meanwhile. */
async function describeFromManifest(
  storage: Storage,
  identifier: string,
): Promise<CheckpointInfo | undefined> {
  let saved: CommittedCheckpoint;
  try {
    saved = await storage.loadCheckpoint(identifier);
  } catch (error) {
    if (CheckpointError.is(error, 'NotFound')) return undefined;
    throw error;
  }
  try {
    const keys = await saved.keys();
    const manifest = keys.includes(MANIFEST_KEY)
      ? parseManifest(await saved.get(MANIFEST_KEY))
      : undefined;
    return {
      identifier,
      createdAt: saved.createdAt,
      keys: keys.filter((k) => k !== MANIFEST_KEY),
      classes: manifest?.classes.map((c) => c.name) ?? [],
      classVersions: manifest?.classes.map((c) => ({ name: c.name, version: c.version })) ?? [],
    };
  } finally {
    await saved.release();
  }
}
