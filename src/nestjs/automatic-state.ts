import type { CheckpointManager } from '../manager/checkpoint-manager';
import type { Storage } from '../storage/storage';

/**
 * The running automatic state of the services of one storage, as the driver started it.
 * @internal
 */
export interface AutomaticStateHandle {
  /** Saves every service's state now; resolves when committed. */
  saveNow(): Promise<void>;
  /** Stops the autosave timers; no save runs after it resolves. */
  stop(): Promise<void>;
  /** The outcome of the most recent save, for the health indicator; `undefined` before any. */
  lastSave?(): { at: Date; error?: unknown } | undefined;
}

/**
 * The seam between `CheckpointModule` and automatic state (services decorated with
 * `@CheckpointedState`). At `onModuleInit` the module walks every provider instance of the
 * application (Nest's `DiscoveryService`), keeps those the driver `carries`, and calls
 * `start`, which restores their state and starts their timers, before the application
 * serves. At `beforeApplicationShutdown` it calls `saveNow` then `stop`; the storage is
 * closed after that, at `onApplicationShutdown`.
 *
 * The module takes a driver from the optional provider {@link AUTOMATIC_STATE_DRIVER}, and
 * uses {@link NO_AUTOMATIC_STATE} when there is none.
 * @internal
 */
export interface AutomaticStateDriver {
  /** Whether `instance`, a provider of the application, keeps its state in storage `name`. */
  carries(instance: object, name: string): boolean;
  /** Restores the state of `services` and starts their autosave. */
  start(
    services: readonly object[],
    manager: CheckpointManager,
    storage: Storage,
  ): Promise<AutomaticStateHandle>;
}

/** The Nest token of the {@link AutomaticStateDriver}. @internal */
export const AUTOMATIC_STATE_DRIVER = Symbol.for('checkpointable.nestjs.AUTOMATIC_STATE_DRIVER');

/** The driver used when none is provided: no provider carries automatic state. @internal */
export const NO_AUTOMATIC_STATE: AutomaticStateDriver = {
  carries: () => false,
  start: () => Promise.resolve({ saveNow: () => Promise.resolve(), stop: () => Promise.resolve() }),
};
