import { openWrappedStorage } from '../di/storage-source';
import { CheckpointError } from '../errors';
import { CheckpointManager } from '../manager/checkpoint-manager';
import type { Storage } from '../storage/storage';
import type { AutomaticStateDriver, AutomaticStateHandle } from './automatic-state';
import type { CheckpointStateOptions, CheckpointStorageOptions } from './checkpoint-module-options';

const STORAGE_KEYS = ['storage', 'wrappers'];
const MODULE_KEYS = ['name', 'isGlobal', 'services', 'onError'];

/**
 * The open storage and manager of one `CheckpointModule` (one per name), and their
 * lifecycle: automatic state started at module init, saved before shutdown, the storage
 * closed exactly once at shutdown.
 *
 * @example
 * ```ts
 * const connection = app.get<CheckpointConnection>(connectionToken('default'));
 * await connection.manager.list();
 * ```
 * @internal
 */
export class CheckpointConnection {
  #automatic: AutomaticStateHandle | undefined;
  /** Kept after shutdown too, so that the health indicator still tells the last outcome. */
  #lastHandle: AutomaticStateHandle | undefined;
  #pendingError: unknown;
  #closing: Promise<void> | undefined;

  private constructor(
    readonly name: string,
    readonly storage: Storage,
    readonly manager: CheckpointManager,
    private readonly state: CheckpointStateOptions,
  ) {}

  /** The provider classes listed in the `services` option, if any. */
  get services(): readonly Function[] | undefined {
    return this.state.services;
  }

  /**
   * Checks the options, opens the storage with its wrapper chain and makes its manager.
   * @throws {CheckpointError} `Initialization` for missing, unknown or bad options, an
   *   unknown storage URL, an unreachable server or an unusable folder
   */
  static async open(
    name: string,
    options: unknown,
    from: 'forRoot' | 'forRootAsync',
    state: CheckpointStateOptions = (options ?? {}) as CheckpointStateOptions,
  ): Promise<CheckpointConnection> {
    const checked = checkOptions(name, options, from);
    const checkedState = checkStateOptions(name, state, from);
    const source = checked.storage;
    const storage = await openWrappedStorage(source, checked.wrappers);
    return new CheckpointConnection(name, storage, new CheckpointManager(storage), checkedState);
  }

  /** Restores the state of `services` and starts their autosave, through `driver`. */
  async start(services: readonly object[], driver: AutomaticStateDriver): Promise<void> {
    this.#automatic = await driver.start(services, this.manager, this.storage, {
      name: this.name,
      onError: this.state.onError,
    });
    this.#lastHandle = this.#automatic;
  }

  /** The outcome of the latest automatic save, when automatic state runs. */
  lastSave(): { at: Date; error?: unknown } | undefined {
    return this.#lastHandle?.lastSave?.();
  }

  /**
   * Saves the automatic state once more and stops its timers. A failure is kept and
   * thrown by {@link close}, after the storage is closed, so that a failed save never
   * leaves the storage open.
   */
  async beforeShutdown(): Promise<void> {
    const automatic = this.#automatic;
    this.#automatic = undefined;
    if (automatic === undefined) return;
    try {
      await automatic.saveNow();
    } catch (error) {
      this.#pendingError ??= error;
    }
    try {
      await automatic.stop();
    } catch (error) {
      this.#pendingError ??= error;
    }
  }

  /**
   * Stops any automatic state still running, then closes the manager and the storage;
   * later calls wait for the first one.
   * @throws the error of the last save or of closing, after the storage is closed
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    await this.beforeShutdown();
    try {
      await this.manager.close();
    } catch (error) {
      this.#pendingError ??= error;
    }
    const error = this.#pendingError;
    if (error === undefined) return;
    throw error instanceof CheckpointError
      ? error
      : new CheckpointError(
          'Other',
          `CheckpointModule ${JSON.stringify(this.name)} failed while shutting down: ${String(error)}.`,
          { cause: error },
        );
  }
}

function where(name: string, from: 'forRoot' | 'forRootAsync'): string {
  return `CheckpointModule.${from}()${name === 'default' ? '' : ` (name ${JSON.stringify(name)})`}`;
}

function checkStateOptions(
  name: string,
  state: CheckpointStateOptions,
  from: 'forRoot' | 'forRootAsync',
): CheckpointStateOptions {
  const { services, onError } = state;
  if (
    services !== undefined &&
    (!Array.isArray(services) || services.some((type) => typeof type !== 'function'))
  ) {
    throw new CheckpointError(
      'Initialization',
      `${where(name, from)}: services is not a list of classes; give the @CheckpointedState provider classes whose state this storage keeps, as in services: [AuditLogService].`,
    );
  }
  if (onError !== undefined && typeof onError !== 'function') {
    throw new CheckpointError(
      'Initialization',
      `${where(name, from)}: onError is not a function; give (error, event) => { ... }, or leave it out to log failed saves through Nest's Logger.`,
    );
  }
  return { services: services && [...services], onError };
}

function checkOptions(
  name: string,
  options: unknown,
  from: 'forRoot' | 'forRootAsync',
): CheckpointStorageOptions {
  const at = where(name, from);
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new CheckpointError(
      'Initialization',
      `${at} got no options object; ${from === 'forRoot' ? 'pass' : 'return from the factory'} one such as { storage: 'file:./var/checkpoints' }.`,
    );
  }
  const allowed = from === 'forRoot' ? [...STORAGE_KEYS, ...MODULE_KEYS] : STORAGE_KEYS;
  for (const key of Object.keys(options)) {
    if (allowed.includes(key)) continue;
    throw new CheckpointError(
      'Initialization',
      MODULE_KEYS.includes(key)
        ? `${at}: the factory returned '${key}', which it cannot set; set it in forRootAsync({ ${key}, ... }) itself.`
        : `${at} does not know the option ${JSON.stringify(key.slice(0, 40))}; it takes ${allowed.map((k) => `'${k}'`).join(', ')}.`,
    );
  }
  const given = options as Partial<CheckpointStorageOptions>;
  if (given.storage === undefined || given.storage === null || given.storage === '') {
    throw new CheckpointError(
      'Initialization',
      `${at} needs the storage option, such as { storage: 'file:./var/checkpoints' } or a 'postgres://' or 'redis://' URL; it is ${given.storage === '' ? 'empty' : 'missing'} (is the environment variable that configures it set?).`,
    );
  }
  return given as CheckpointStorageOptions;
}
