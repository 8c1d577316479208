import type { Storage } from '../../storage/storage';

/**
 * What a backend under test can do; the suite skips only what a flag says is absent.
 *
 * @example
 * ```ts
 * const capabilities: StorageCapabilities = { guarded: true, labels: true };
 * ```
 */
export interface StorageCapabilities {
  /**
   * The storage is wrapped in a GuardWrapper: a second open uncommitted checkpoint with
   * the same identifier, and removing a held checkpoint, are refused.
   */
  guarded: boolean;
  /**
   * The storage keeps checkpoint labels (`setLabel` before commit; `label` on committed
   * handles and summaries). When false or left out, the suite checks summaries without
   * labels.
   */
  labels?: boolean;
}

/**
 * How the suite gets storages to test, and which groups of tests it registers.
 *
 * @example
 * ```ts
 * const options: ConformanceOptions = {
 *   create: async () => new MemoryStorage(),
 *   capabilities: { guarded: true },
 * };
 * ```
 */
export interface ConformanceOptions {
  /** A new storage over a new, empty medium (its own folder, table, prefix). */
  create: () => Promise<Storage>;
  /**
   * A second storage object over the same medium as `storage` (the same folder, table or
   * prefix), as another process would open it. Enables persistence and cross-instance
   * tests; leave out for media that live inside one object (memory).
   */
  reopen?: (storage: Storage) => Promise<Storage>;
  /** Capabilities; see {@link StorageCapabilities}. */
  capabilities: StorageCapabilities;
  /**
   * Which groups of tests to register, all by default: set a group to `false` to leave it
   * out (for example while a new backend is being built up group by group).
   */
  groups?: ConformanceGroups;
}

/**
 * The groups of the conformance suite, each a `describe` block of its own; `true` or left out
 * runs it.
 *
 * @example
 * ```ts
 * const groups: ConformanceGroups = { values: false }; // everything but value fidelity
 * ```
 */
export interface ConformanceGroups {
  /** Uncommitted checkpoints: own writes, snapshots, invisibility, discard. */
  uncommitted?: boolean;
  /** Commit: all keys at once, never replaced, racing commits. */
  commit?: boolean;
  /** Handles fail with `Released` after commit, discard, release, close. */
  handles?: boolean;
  /** Remove and list. */
  removeAndList?: boolean;
  /** Checkpoint summaries and labels. */
  summaries?: boolean;
  /** The identifier and key grammar. */
  grammar?: boolean;
  /** Value fidelity and type checks. */
  values?: boolean;
  /** The guard's refusals (only with `capabilities.guarded`). */
  guard?: boolean;
  /** Two storage objects over one medium (only with `reopen`). */
  twoStorages?: boolean;
}
