import type { CheckpointManager } from '../manager/checkpoint-manager';
import type { Storage } from '../storage/storage';
import type { CheckpointStateOptions } from './checkpoint-module-options';

/**
 * The running automatic state of the services of one storage, as the driver started it.
 * @internal
 */
export interface AutomaticStateHandle {
  /** The final saves (of the services whose policy asks for one); resolves when committed. */
  saveNow(): Promise<void>;
  /** Stops the autosave timers; no save runs after it resolves. */
  stop(): Promise<void>;
  /**
   * The outcome of the automatic saves, for the health indicator: the latest failure when
   * a service's latest save failed, otherwise the latest save of the service that saved
   * least recently; `undefined` before any save ended.
   */
  lastSave?(): { at: Date; error?: unknown } | undefined;
}

/**
 * What the module tells the driver about the storage it starts services for.
 * @internal
 */
export interface AutomaticStateSettings extends Pick<CheckpointStateOptions, 'onError'> {
  /** The `CheckpointModule` name of the storage. */
  name: string;
}

/**
 * The seam between `CheckpointModule` and automatic state (services decorated with
 * `@CheckpointedState`). At `onModuleInit` the module walks every provider and controller
 * of the application (Nest's `DiscoveryService`), keeps the instances whose class the
 * driver `carries`, assigns each to one storage, and calls `start` per storage, which
 * restores their state and starts their timers, before the application serves. At
 * `beforeApplicationShutdown` it calls `saveNow` then `stop`; the storage is closed after
 * that, at `onApplicationShutdown`.
 *
 * The module takes a driver from the optional provider {@link AUTOMATIC_STATE_DRIVER}, and
 * uses `checkpointedStateDriver` (services with `@CheckpointedState`) when there is none.
 * @internal
 */
export interface AutomaticStateDriver {
  /** Whether instances of `type`, a provider class of the application, keep state. */
  carries(type: Function): boolean;
  /** Restores the state of `services` and starts their autosave. */
  start(
    services: readonly object[],
    manager: CheckpointManager,
    storage: Storage,
    settings: AutomaticStateSettings,
  ): Promise<AutomaticStateHandle>;
}

/** The Nest token of the {@link AutomaticStateDriver}. @internal */
export const AUTOMATIC_STATE_DRIVER = Symbol.for('checkpointable.nestjs.AUTOMATIC_STATE_DRIVER');

/** A driver under which no provider carries automatic state. @internal */
export const NO_AUTOMATIC_STATE: AutomaticStateDriver = {
  carries: () => false,
  start: () => Promise.resolve({ saveNow: () => Promise.resolve(), stop: () => Promise.resolve() }),
};
