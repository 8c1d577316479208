import { Lifecycle, type DependencyContainer } from 'tsyringe';
import { CheckpointManager } from '../manager/checkpoint-manager';
import type { WrapperConfig } from '../wrappers/wrapper-chain';
import { CHECKPOINT_STORAGE } from '../manager/checkpoint-storage-token';
import { openWrappedStorage, type StorageSource } from './storage-source';

/**
 * The configuration of {@link registerCheckpointing}.
 *
 * @example
 * ```ts
 * const config: CheckpointingConfig = { storage: 'memory:', wrappers: ['checksum', 'guard'] };
 * ```
 */
export interface CheckpointingConfig {
  /** Where checkpoints live; see {@link StorageSource}. */
  storage: StorageSource;
  /**
   * The wrapper chain, innermost first, as `buildWrapperChain` takes it, e.g.
   * `['checksum', { hmac: { key } }, 'guard']`. When given, string sources open their
   * storage bare so that the chain alone decides where the guard goes; when left out,
   * they open it guarded (`MemoryStorage.create()`, `FileStorage.open()`).
   */
  wrappers?: readonly WrapperConfig[];
}

/**
 * Opens the configured storage, wraps it in the configured chain, and registers in
 * `container` (the global one or a child):
 * - `CHECKPOINT_STORAGE`: the wrapped storage;
 * - `CheckpointManager`: one manager per registration, injectable by type.
 * `container.dispose()` (or `manager.close()`) closes the manager and the storage.
 *
 * @returns the manager it registered
 * @throws {CheckpointError} `Initialization` for an unknown storage form, a bad wrapper
 *   entry or key, an unreachable server or an unusable folder
 *
 * @example
 * ```ts
 * import 'reflect-metadata';
 * import { container } from 'tsyringe';
 *
 * await registerCheckpointing(container, {
 *   storage: 'file:./var/checkpoints',
 *   wrappers: ['checksum', { hmac: { key: process.env.CHECKPOINT_KEY! } }, 'guard'],
 * });
 * const manager = container.resolve(CheckpointManager);
 * ```
 */
export async function registerCheckpointing(
  container: DependencyContainer,
  config: CheckpointingConfig,
): Promise<CheckpointManager> {
  const source = config.storage;
  const storage = await openWrappedStorage(
    typeof source === 'function' ? () => source(container) : source,
    config.wrappers,
  );
  container.register(CHECKPOINT_STORAGE, { useValue: storage });
  container.register(
    CheckpointManager,
    { useClass: CheckpointManager },
    { lifecycle: Lifecycle.Singleton },
  );
  // A singleton resolved here, by this container, so that this container owns it: tsyringe
  // disposes only the instances a container constructed, and the manager closes the
  // storage. Child containers then share it without disposing it themselves.
  return container.resolve(CheckpointManager);
}
