import type { DependencyContainer } from 'tsyringe';
import { CheckpointError, quote } from '../errors';
import { CheckpointManager } from '../manager/checkpoint-manager';
import { checkpointedStateOf } from './checkpointed-state';
import {
  CheckpointingEvents,
  warnListenerFailed,
  type CheckpointingErrorEvent,
  type CheckpointingEventMap,
  type SaveTrigger,
} from './checkpointing-events';
import { describeService, ServiceAutosave, type RetryPolicy } from './service-autosave';
import { ensureStateClass } from './service-state';
import { installShutdownSignals } from './shutdown-signals';
import { trackedServices } from './tracked-services';

/**
 * A service class `startCheckpointing` can resolve.
 *
 * @example
 * ```ts
 * const services: ServiceClass[] = [OrderService, AuditService];
 * ```
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ServiceClass = new (...args: any[]) => object;

/**
 * Options of {@link startCheckpointing}.
 *
 * @example
 * ```ts
 * const options: StartCheckpointingOptions = {
 *   services: [OrderService],
 *   signals: true,
 *   onError: (error, { series }) => log.error(`checkpoint of ${series}: ${error.message}`),
 * };
 * ```
 */
export interface StartCheckpointingOptions {
  /** The `@CheckpointedState` service classes whose state to restore and save. */
  services: readonly ServiceClass[];
  /**
   * Install SIGTERM/SIGINT handlers that run the final saves and exit with 128 + the
   * signal number (1 when a final save failed); a second signal exits at once.
   */
  signals?: boolean;
  /** Called for every failed save (and failed retention); it must not throw. */
  onError?: (error: CheckpointError, event: CheckpointingErrorEvent) => void;
  /** How failed saves are retried (1 s, doubling up to 60 s, by default). */
  retry?: RetryPolicy;
}

/**
 * What {@link startCheckpointing} returns: save on demand, stop, and watch events.
 *
 * @example
 * ```ts
 * const checkpointing = await startCheckpointing(container, { services: [OrderService] });
 * checkpointing.on('error', ({ series, error }) => console.error(series, error.message));
 * await checkpointing.saveNow();
 * await checkpointing.stop();
 * ```
 */
export class CheckpointingHandle {
  readonly #autosaves: ServiceAutosave[];
  readonly #events: CheckpointingEvents;
  readonly #detach: (() => void)[] = [];
  readonly #restored = new Map<object, number | undefined>();
  #removeSignalHandlers: (() => void) | undefined;
  #stopping: Promise<void> | undefined;

  /** @internal Created by `startCheckpointing`. */
  constructor(autosaves: ServiceAutosave[], events: CheckpointingEvents) {
    this.#autosaves = autosaves;
    this.#events = events;
  }

  /**
   * The tracked service instances, as the container resolved them.
   *
   * @example
   * ```ts
   * const [orders] = checkpointing.services;
   * ```
   */
  get services(): object[] {
    return this.#autosaves.map((a) => a.service);
  }

  /**
   * The sequence number `service`'s state was restored from at start, or `undefined`
   * when its series was empty (a first start: the initial values were kept).
   *
   * @throws {CheckpointError} `Other` for a service not tracked here
   *
   * @example
   * ```ts
   * const from = checkpointing.restoredSequence(container.resolve(OrderService)); // 41
   * ```
   */
  restoredSequence(service: object): number | undefined {
    return this.#restored.get(this.#find(service).service);
  }

  /** @internal Records what `service` was restored from. */
  noteRestored(service: object, sequence: number | undefined): void {
    this.#restored.set(service, sequence);
  }

  /**
   * Listens to `saved` or `error`; returns the function that stops listening.
   *
   * @example
   * ```ts
   * const off = checkpointing.on('saved', ({ series, info }) => metrics.inc(series, info.sequence));
   * ```
   */
  on<K extends keyof CheckpointingEventMap>(
    name: K,
    listener: (event: CheckpointingEventMap[K]) => void,
  ): () => void {
    return this.#events.on(name, listener);
  }

  /**
   * Saves the state of every tracked service now (or of `service`, an instance or its
   * class), after any save in flight. An unchanged state writes nothing.
   *
   * @throws {CheckpointError} the first failure (every failure is also reported);
   *   `Conflict` for a service whose autosave stopped on one; `Released` after `stop()`;
   *   `Other` for a service not tracked here
   *
   * @example
   * ```ts
   * await checkpointing.saveNow();              // every service
   * await checkpointing.saveNow(orderService);  // one
   * ```
   */
  async saveNow(service?: object): Promise<void> {
    if (this.#stopping !== undefined) {
      throw new CheckpointError(
        'Released',
        'checkpointing.saveNow(): checkpointing was stopped; start it again with startCheckpointing(container, { services }).',
      );
    }
    const chosen = service === undefined ? this.#autosaves : [this.#find(service)];
    const results = await Promise.allSettled(chosen.map((a) => a.saveNow('manual')));
    const failed = results.find((r) => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  }

  /**
   * Saves every tracked service once more (those with `onShutdown`, the default), stops
   * the timers and the signal handlers, and lets the storage close afterwards.
   * Idempotent. `container.dispose()` and `manager.close()` do the same before closing
   * the storage.
   *
   * @throws {CheckpointError} the first final save that failed (each is also reported);
   *   everything is stopped all the same
   *
   * @example
   * ```ts
   * await checkpointing.stop();
   * await container.dispose();
   * ```
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  /** @internal Runs `detach` once the handle stops (the manager's close hook). */
  addDetach(detach: () => void): void {
    this.#detach.push(detach);
  }

  /** @internal Installs SIGTERM/SIGINT handlers, removed by `stop()`. */
  handleSignals(): void {
    this.#removeSignalHandlers = installShutdownSignals(() => this.finalSaves());
  }

  /** @internal The final saves without removing the signal handlers (a signal is being handled). */
  finalSaves(): Promise<void> {
    this.#stopping ??= this.#stop(false);
    return this.#stopping;
  }

  async #stop(detachSignals = true): Promise<void> {
    const results = await Promise.allSettled(this.#autosaves.map((a) => a.stop(true)));
    for (const detach of this.#detach.splice(0)) detach();
    // While a signal is handled its handler stays, so that a second signal exits at once.
    if (detachSignals) this.#removeSignalHandlers?.();
    const failed = results.find((r) => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  }

  #find(service: object): ServiceAutosave {
    const found = this.#autosaves.find(
      (a) => a.service === service || a.service.constructor === service,
    );
    if (found !== undefined) return found;
    const name = typeof service === 'function' ? service.name : describeService(service);
    throw new CheckpointError(
      'Other',
      `checkpointing: ${name} is not tracked by this handle; list its class in startCheckpointing(container, { services: [...] }).`,
    );
  }
}

/**
 * Starts automatic state for services: registers each listed class as a singleton of
 * `container` (unless it is registered already), resolves it, restores its
 * `@CheckpointField` properties from the latest checkpoint of its series (running
 * migrations; a first start keeps the initial values) and starts its save policy.
 * tsyringe resolves synchronously, so this is the explicit async step before the app
 * takes work. `registerCheckpointing` must have run on the container (or a parent).
 *
 * @throws {CheckpointError} `Initialization` when checkpointing is not registered, a class
 *   is registered as non-singleton, two services share a series or an instance is tracked
 *   already; `Metadata` for a class without `@CheckpointedState`; what restoring throws
 *   (`Deserialize`, `Version`, ...). Nothing stays started then.
 *
 * @example
 * ```ts
 * await registerCheckpointing(container, { storage: 'file:./var/checkpoints' });
 * const checkpointing = await startCheckpointing(container, {
 *   services: [OrderService],
 *   signals: true,
 * });
 * const orders = container.resolve(OrderService); // restored
 * ```
 */
export async function startCheckpointing(
  container: DependencyContainer,
  options: StartCheckpointingOptions,
): Promise<CheckpointingHandle> {
  const {
    services,
    signals = false,
    onError,
    retry,
  } = options ?? ({} as StartCheckpointingOptions);
  if (!Array.isArray(services) || services.length === 0) {
    throw new CheckpointError(
      'Initialization',
      'startCheckpointing(container, { services }) needs the service classes to checkpoint, as in { services: [OrderService] }.',
    );
  }
  if (!container.isRegistered(CheckpointManager, true)) {
    throw new CheckpointError(
      'Initialization',
      "startCheckpointing(): this container has no checkpointing registered; first await registerCheckpointing(container, { storage: 'file:./var/checkpoints' }).",
    );
  }
  const manager = container.resolve(CheckpointManager);
  const handle = await startServices(
    manager,
    services.map((ctor) => ({ ctor, resolve: () => resolveSingleton(container, ctor) })),
    { onError, retry },
  );
  // The container that started checkpointing may be disposed without the manager closing
  // (the manager may belong to a parent container): it disposes what it constructed, the
  // disposer below included, which runs the final saves.
  container.resolve(
    class CheckpointingDisposer {
      dispose(): Promise<void> {
        return handle.stop();
      }
    },
  );
  if (signals) handle.handleSignals();
  return handle;
}

/**
 * One service for {@link startServices}: its class, and how to get the one instance the
 * application uses (resolved when its turn comes, after the services before it restored).
 * @internal
 */
export interface ServiceEntry {
  ctor: Function;
  resolve: () => object;
}

/**
 * What {@link startServices} takes besides the services. `onSettled` hears the outcome of
 * every save that ended: committed, skipped as unchanged, or failed.
 * @internal
 */
export interface StartServicesOptions {
  /** Who starts the services, for messages; `startCheckpointing()` by default. */
  caller?: string;
  onError?: StartCheckpointingOptions['onError'];
  retry?: RetryPolicy;
  onSettled?: (service: object, error?: CheckpointError) => void;
}

/**
 * The common part of `startCheckpointing` and of frameworks that create the service
 * instances themselves (`checkpointable/nestjs`): checks the classes, then for each service
 * in order gets its instance, restores it and starts its save policy. The final saves run
 * when the handle stops, when `manager` closes, and when the event loop runs empty.
 * @throws {CheckpointError} as `startCheckpointing`; nothing stays started then
 * @internal
 */
export async function startServices(
  manager: CheckpointManager,
  entries: readonly ServiceEntry[],
  options: StartServicesOptions = {},
): Promise<CheckpointingHandle> {
  const { caller = 'startCheckpointing()', onError, retry, onSettled } = options;
  const events = new CheckpointingEvents();
  const reporter = {
    saved: (
      service: object,
      series: string,
      trigger: SaveTrigger,
      info: CheckpointingEventMap['saved']['info'],
    ) => events.emit('saved', { service, series, trigger, info }),
    settled: (service: object, error?: CheckpointError) => onSettled?.(service, error),
    failed: (event: CheckpointingErrorEvent) => {
      if (!event.committed) {
        manager.report('autosave-failed', {
          series: event.series,
          service: event.service,
          errorKind: event.error.kind,
          message: event.error.message,
          error: event.error,
          retryIn: event.retryIn,
          stopped: event.stopped,
        });
      }
      if (onError !== undefined) {
        try {
          onError(event.error, event);
        } catch (error) {
          warnListenerFailed('onError', error);
        }
      }
      if (onError === undefined && events.count('error') === 0) {
        // Nobody listens: a failed save must still be seen.
        process.emitWarning(
          `checkpointable: series ${quote(event.series)}: ${event.error.message}`,
          {
            type: 'CheckpointingWarning',
          },
        );
      }
      events.emit('error', event);
    },
  };

  const planned: { ctor: Function; series: string; resolve: () => object }[] = [];
  for (const { ctor, resolve } of entries) {
    const state = typeof ctor === 'function' ? checkpointedStateOf(ctor) : undefined;
    if (state === undefined) {
      throw new CheckpointError(
        'Metadata',
        `startCheckpointing(): ${typeof ctor === 'function' ? ctor.name || '(anonymous class)' : String(ctor)} has no @CheckpointedState({ series: ... }); add it to the class, or leave the class out of services.`,
      );
    }
    const clash = planned.find((p) => p.series === state.series);
    if (clash !== undefined) {
      throw new CheckpointError(
        'Initialization',
        `${caller}: ${clash.ctor.name} and ${ctor.name} both save into series ${quote(state.series)}; give each service its own series.`,
      );
    }
    planned.push({ ctor, series: state.series, resolve });
  }

  const autosaves: ServiceAutosave[] = [];
  const handle = new CheckpointingHandle(autosaves, events);
  try {
    for (const { ctor, resolve } of planned) {
      const state = checkpointedStateOf(ctor)!;
      const service = resolve();
      const previous = trackedServices.get(service);
      if (previous !== undefined && !previous.stopped) {
        throw new CheckpointError(
          'Initialization',
          `startCheckpointing(): this ${ctor.name} instance is already checkpointed by an earlier startCheckpointing(); stop that one first (checkpointing.stop()).`,
        );
      }
      ensureStateClass(ctor, state);
      const series = manager.series(state.series, {
        keepLast: state.keepLast,
        olderThan: state.olderThan,
      });
      const autosave = new ServiceAutosave(service, state, series, reporter, retry);
      autosaves.push(autosave);
      trackedServices.set(service, autosave);
      handle.noteRestored(service, await autosave.start());
    }
  } catch (error) {
    for (const a of autosaves) {
      await a.stop(false);
      if (trackedServices.get(a.service) === a) trackedServices.delete(a.service);
    }
    throw error;
  }
  // The final saves run before anything closes, however the app ends: the manager closing
  // (it runs this hook before closing the storage), or the event loop running empty
  // without a stop() (the timers are unref'd and do not keep the process alive).
  handle.addDetach(manager.beforeClose(() => handle.stop()));
  const onBeforeExit = () => void handle.stop().catch(() => undefined);
  process.once('beforeExit', onBeforeExit);
  handle.addDetach(() => process.removeListener('beforeExit', onBeforeExit));
  return handle;
}

/** The container's one instance of `ctor`, registering it as a singleton when it is not registered. */
function resolveSingleton(container: DependencyContainer, ctor: ServiceClass): object {
  if (!container.isRegistered(ctor, true)) container.registerSingleton(ctor);
  const service = container.resolve(ctor);
  if (container.resolve(ctor) !== service) {
    throw new CheckpointError(
      'Initialization',
      `startCheckpointing(): ${ctor.name} is registered in the container with a lifecycle that makes a new instance per resolve, so the state restored would not be the one the app uses; register it as a singleton (container.registerSingleton(${ctor.name})) or let startCheckpointing register it.`,
    );
  }
  return service;
}
