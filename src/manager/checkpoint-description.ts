import type { CommittedCheckpoint } from '../storage/storage';
import type { CheckpointInfo } from './checkpoint-transaction';
import { MANIFEST_KEY, parseManifest } from './manifest';

/**
 * Describes a committed checkpoint as `list()` does: its creation time, its keys and the
 * classes its manifest names. Reads the manifest, never the saved values.
 * @internal
 */
export async function describeCheckpoint(saved: CommittedCheckpoint): Promise<CheckpointInfo> {
  const keys = await saved.keys();
  const manifest = keys.includes(MANIFEST_KEY)
    ? parseManifest(await saved.get(MANIFEST_KEY))
    : undefined;
  return {
    identifier: saved.identifier,
    createdAt: saved.createdAt,
    keys: keys.filter((k) => k !== MANIFEST_KEY),
    classes: manifest?.classes.map((c) => c.name) ?? [],
  };
}
