import { CHECKPOINT_STORAGE } from '../manager/checkpoint-storage-token';
import { CheckpointError } from '../errors';
import { CheckpointManager } from '../manager/checkpoint-manager';

/** The name of the storage `CheckpointModule` registers when no `name` is given. */
export const DEFAULT_CHECKPOINT_NAME = 'default';

const NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * Checks a storage name and gives the default for `undefined`.
 * @throws {CheckpointError} `Initialization` for a name that is not 1 to 64 letters,
 *   digits, `_`, `.` or `-`
 * @internal
 */
export function checkpointName(name: string | undefined): string {
  if (name === undefined) return DEFAULT_CHECKPOINT_NAME;
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new CheckpointError(
      'Initialization',
      `CheckpointModule name ${JSON.stringify(String(name)).slice(0, 80)} is not usable; use 1 to 64 letters, digits, '_', '.' or '-', such as 'audit'.`,
    );
  }
  return name;
}

/**
 * The Nest injection token of the `CheckpointManager` of the storage called `name`: the
 * `CheckpointManager` class itself for the default storage (so that it is injectable by
 * type), a string for a named one.
 * @throws {CheckpointError} `Initialization` for an unusable name
 *
 * @example
 * ```ts
 * const audit = app.get<CheckpointManager>(getCheckpointManagerToken('audit'));
 * ```
 */
export function getCheckpointManagerToken(name?: string): typeof CheckpointManager | string {
  const checked = checkpointName(name);
  return checked === DEFAULT_CHECKPOINT_NAME
    ? CheckpointManager
    : `checkpointable:CheckpointManager:${checked}`;
}

/**
 * The Nest injection token of the storage (wrapper chain included) called `name`:
 * `CHECKPOINT_STORAGE` for the default storage, a string for a named one.
 * @throws {CheckpointError} `Initialization` for an unusable name
 *
 * @example
 * ```ts
 * const storage = app.get<Storage>(getCheckpointStorageToken('audit'));
 * ```
 */
export function getCheckpointStorageToken(name?: string): symbol | string {
  const checked = checkpointName(name);
  return checked === DEFAULT_CHECKPOINT_NAME
    ? CHECKPOINT_STORAGE
    : `checkpointable:Storage:${checked}`;
}

/** The token of the open storage and manager of one module, per name. @internal */
export function connectionToken(name: string): string {
  return `checkpointable:CheckpointConnection:${name}`;
}
