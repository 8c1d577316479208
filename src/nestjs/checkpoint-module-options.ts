import type { FactoryProvider, ModuleMetadata, Type } from '@nestjs/common';
import type { CheckpointError } from '../errors';
import type { CheckpointingErrorEvent } from '../services/checkpointing-events';
import type { Storage } from '../storage/storage';
import type { WrapperConfig } from '../wrappers/wrapper-chain';

/**
 * Where checkpoints live and how values are wrapped: the same storage and wrapper options
 * as `registerCheckpointing`.
 *
 * @example
 * ```ts
 * const options: CheckpointStorageOptions = {
 *   storage: 'postgres://app@db/app?table=orders_ckpt',
 *   wrappers: ['checksum', 'guard'],
 * };
 * ```
 */
export interface CheckpointStorageOptions {
  /**
   * `'memory:'`, `'file:./var/checkpoints'`, `'postgres://...'`, `'redis://...'` (with
   * their query options, see `parseStorageUrl`), a `Storage` object, or a function
   * returning one (called once, at startup).
   */
  storage: string | Storage | (() => Storage | Promise<Storage>);
  /**
   * The wrapper chain, innermost first, e.g. `['checksum', { hmac: { key } }, 'guard']`.
   * Left out, string storages open guarded.
   */
  wrappers?: readonly WrapperConfig[];
}

/**
 * Which providers with `@CheckpointedState` keep their state in this storage, and where
 * failed automatic saves are reported. Given to `forRoot`, or to `forRootAsync` itself
 * (not returned by its factory).
 *
 * @example
 * ```ts
 * const state: CheckpointStateOptions = {
 *   services: [AuditLogService],
 *   onError: (error, { series, retryIn }) => alerts.send(`${series}: ${error.message} (retry in ${retryIn} ms)`),
 * };
 * ```
 */
export interface CheckpointStateOptions {
  /**
   * The `@CheckpointedState` provider classes whose state this storage keeps (a provider
   * that is an instance of a listed class, subclasses included). Left out, the default
   * (unnamed) storage keeps every `@CheckpointedState` provider no named storage lists,
   * and a named storage keeps none.
   */
  services?: readonly Type[];
  /**
   * Called for every failed automatic save (and failed retention); it must not throw.
   * Left out, failures are logged through Nest's `Logger` (context `CheckpointModule`).
   */
  onError?: (error: CheckpointError, event: CheckpointingErrorEvent) => void;
}

/**
 * The options of `CheckpointModule.forRoot`.
 *
 * @example
 * ```ts
 * CheckpointModule.forRoot({ storage: 'file:./var/checkpoints', wrappers: ['checksum'], isGlobal: true });
 * ```
 */
export interface CheckpointModuleOptions extends CheckpointStorageOptions, CheckpointStateOptions {
  /**
   * Names this storage, for applications with several: inject its manager with
   * `@InjectCheckpointManager(name)`. Left out, the storage is the default one and its
   * `CheckpointManager` is injectable by type.
   */
  name?: string;
  /** Makes the manager and storage injectable in every module of the application. */
  isGlobal?: boolean;
}

/**
 * A class that makes the options, for `forRootAsync({ useClass })` or `useExisting`.
 *
 * @example
 * ```ts
 * @Injectable()
 * class CheckpointConfig implements CheckpointOptionsFactory {
 *   constructor(private readonly config: ConfigService) {}
 *   createCheckpointOptions() {
 *     return { storage: this.config.get('CHECKPOINT_STORAGE') };
 *   }
 * }
 * ```
 */
export interface CheckpointOptionsFactory {
  createCheckpointOptions(): CheckpointStorageOptions | Promise<CheckpointStorageOptions>;
}

/**
 * The options of `CheckpointModule.forRootAsync`: exactly one of `useFactory`, `useClass`
 * and `useExisting`. `name`, `isGlobal`, `services` and `onError` are set here, not by the
 * factory: the first two decide the module's tokens before any factory runs, the others
 * belong to the application's code rather than to its configuration.
 *
 * @example
 * ```ts
 * CheckpointModule.forRootAsync({
 *   imports: [ConfigModule],
 *   inject: [ConfigService],
 *   useFactory: (config: ConfigService) => ({ storage: config.get('CHECKPOINT_STORAGE') }),
 * });
 * ```
 */
export interface CheckpointModuleAsyncOptions {
  /** The modules whose providers `inject`, `useClass` or `useExisting` need. */
  imports?: ModuleMetadata['imports'];
  /** The providers passed to `useFactory`, in order. */
  inject?: FactoryProvider['inject'];
  /** Returns the storage options; may be async. */
  useFactory?: (...args: never[]) => CheckpointStorageOptions | Promise<CheckpointStorageOptions>;
  /** A class this module instantiates to make the options. */
  useClass?: Type<CheckpointOptionsFactory>;
  /** A provider from `imports` (or a global module) that makes the options. */
  useExisting?: Type<CheckpointOptionsFactory>;
  /** See {@link CheckpointModuleOptions.name}. */
  name?: string;
  /** See {@link CheckpointModuleOptions.isGlobal}. */
  isGlobal?: boolean;
  /** See {@link CheckpointStateOptions.services}. */
  services?: CheckpointStateOptions['services'];
  /** See {@link CheckpointStateOptions.onError}. */
  onError?: CheckpointStateOptions['onError'];
}
