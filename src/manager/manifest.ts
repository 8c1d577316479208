import { CheckpointError, quote } from '../errors';

/**
 * The reserved key under which `CheckpointManager` stores each checkpoint's manifest: the
 * keys it saved and the `@Checkpointable` classes (name and version) inside them, so that
 * `list()` can say what a checkpoint holds without decoding its values. User keys may not
 * use this name.
 *
 * @example
 * ```ts
 * const saved = await storage.loadCheckpoint('order-42');
 * const manifest = await saved.get(MANIFEST_KEY); // { format: 1, keys: [...], classes: [...] }
 * ```
 */
export const MANIFEST_KEY = '@checkpointable.manifest';

/**
 * What the manifest holds (stored as a plain value through the codec).
 *
 * @example
 * ```ts
 * const m: Manifest = { format: 1, keys: ['order'], classes: [{ name: 'Order', version: 2 }] };
 * ```
 */
export interface Manifest {
  /** Manifest layout version: 1. */
  format: 1;
  /** The keys saved, sorted. */
  keys: string[];
  /** Every `@Checkpointable` class with an instance anywhere in the saved values. */
  classes: { name: string; version: number }[];
}

/** Refuses the reserved manifest key as a user key. */
export function assertUserKey(key: string, identifier: string): void {
  if (key === MANIFEST_KEY) {
    throw new CheckpointError(
      'InvalidIdentifier',
      `The key ${quote(key)} in checkpoint ${quote(identifier)} is reserved by CheckpointManager for the checkpoint's manifest; choose another key.`,
      { identifier, key },
    );
  }
}

/**
 * Reads a stored manifest defensively: anything unexpected, down to a single class entry
 * that is not a name and a whole version from 1, counts as no manifest.
 */
export function parseManifest(value: unknown): Manifest | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const m = value as Partial<Manifest>;
  if (m.format !== 1 || !Array.isArray(m.keys) || !Array.isArray(m.classes)) return undefined;
  if (!m.keys.every((k) => typeof k === 'string')) return undefined;
  if (!m.classes.every(isClassEntry)) return undefined;
  return m as Manifest;
}

/**
 * The manifest's facts as a checkpoint label, which listings read without reading values:
 * `{"format":1,"classes":[{"name":"Order","version":2}]}` (the keys are listed anyway).
 *
 * @example
 * ```ts
 * draft.setLabel?.(manifestLabel(manifest));
 * ```
 */
export function manifestLabel(manifest: Manifest): string {
  return JSON.stringify({ format: manifest.format, classes: manifest.classes });
}

/**
 * The classes a label written by {@link manifestLabel} lists, or undefined when the label
 * is absent or not one (the manifest value must then be read).
 *
 * @example
 * ```ts
 * classesOfLabel('{"format":1,"classes":[{"name":"Order","version":2}]}'); // [{ name: 'Order', version: 2 }]
 * ```
 */
export function classesOfLabel(label: string | undefined): Manifest['classes'] | undefined {
  if (label === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(label);
  } catch {
    return undefined;
  }
  const m = parsed as Partial<Manifest> | null;
  if (m === null || typeof m !== 'object' || m.format !== 1 || !Array.isArray(m.classes)) {
    return undefined;
  }
  return m.classes.every(isClassEntry) ? m.classes : undefined;
}

function isClassEntry(c: unknown): c is { name: string; version: number } {
  if (c === null || typeof c !== 'object') return false;
  const { name, version } = c as { name?: unknown; version?: unknown };
  return (
    typeof name === 'string' &&
    typeof version === 'number' &&
    Number.isSafeInteger(version) &&
    version >= 1
  );
}
