import type { Command } from 'commander';
import { CheckpointError, quote } from '../errors';
import { assertValidName } from '../storage/names';
import type { Storage } from '../storage/storage';
import { oneLine, UsageError } from './cli-error';
import { openStore, SOURCE_ENV, type OpenStore, type StoreOptions } from './open-store';
import { Output } from './output';

/**
 * The options every command takes (declared once on the program).
 *
 * @example
 * ```ts
 * const global: GlobalOptions = { storage: 'file:./var/checkpoints', json: true };
 * ```
 */
export interface GlobalOptions extends StoreOptions {
  json?: boolean;
}

/**
 * The global options as a command sees them, and its output.
 *
 * @example
 * ```ts
 * const { options, out } = context(command);
 * ```
 */
export function context(command: Command): { options: GlobalOptions; out: Output } {
  const options = command.optsWithGlobals<GlobalOptions>();
  return { options, out: new Output(options) };
}

/**
 * Opens the store the global options name, runs `work`, and closes the store whatever
 * happens.
 *
 * @example
 * ```ts
 * await withStore(options, (store) => store.storage.checkpointIdentifiers());
 * ```
 */
export async function withStore<R>(
  options: StoreOptions,
  work: (store: OpenStore) => Promise<R>,
  create = false,
): Promise<R> {
  const store = await openStore(options, SOURCE_ENV, undefined, create);
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

/**
 * The identifiers a command works on: those given (checked against the grammar before
 * any I/O), or every committed one.
 * @throws {UsageError} for an identifier outside the grammar
 *
 * @example
 * ```ts
 * const ids = await selectIdentifiers(store.storage, ['order-42']);
 * ```
 */
export async function selectIdentifiers(storage: Storage, given: string[]): Promise<string[]> {
  if (given.length === 0) return storage.checkpointIdentifiers();
  for (const id of given) {
    try {
      assertValidName('identifier', id);
    } catch (error) {
      throw new UsageError(error instanceof Error ? error.message : String(error));
    }
  }
  return [...new Set(given)];
}

/**
 * A failure of one checkpoint (or one value of it), as commands list them.
 *
 * @example
 * ```ts
 * const failure: Failure = { identifier: 'order-42', key: 'order', kind: 'Integrity', message: '...' };
 * ```
 */
export interface Failure {
  identifier: string;
  key?: string;
  kind: string;
  message: string;
}

/**
 * Turns an error met while handling `identifier` into a {@link Failure}. Errors that are
 * not a CheckpointError (a bug, a driver's surprise) are kept as kind `Other`, so that
 * one bad checkpoint does not hide the others.
 *
 * @example
 * ```ts
 * failures.push(failureOf(error, id));
 * ```
 */
export function failureOf(error: unknown, identifier: string, key?: string): Failure {
  const kind = error instanceof CheckpointError ? error.kind : 'Other';
  const message = error instanceof Error ? error.message : String(error);
  const k = key ?? (error instanceof CheckpointError ? error.key : undefined);
  return { identifier, ...(k === undefined ? {} : { key: k }), kind, message };
}

/**
 * One line for a failure: `FAILED <identifier> [<key>] <kind>: <message>`.
 * @example
 * ```ts
 * out.line(failureLine(failure));
 * ```
 */
export function failureLine(failure: Failure, shown: (name: string) => string): string {
  const where = failure.key === undefined ? '' : ` key ${shown(failure.key)}`;
  return `FAILED ${shown(failure.identifier)}${where}: ${failure.kind}: ${oneLine(failure.message)}`;
}

/**
 * A size for people: `512 B`, `1.5 KiB`, `120.0 MiB`.
 * @example
 * ```ts
 * formatBytes(1536); // '1.5 KiB'
 * ```
 */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/**
 * The `NotFound` error for an identifier given on the command line that is not there.
 * @example
 * ```ts
 * throw notFound('order-42', store.display);
 * ```
 */
export function notFound(identifier: string, where: string): CheckpointError {
  return new CheckpointError(
    'NotFound',
    `There is no checkpoint ${quote(identifier)} in ${where}; list them with \`checkpointable ls\`.`,
    { identifier },
  );
}

/**
 * The failure to report for `error`, met while working on the listed checkpoint `id`, or
 * undefined when the checkpoint was removed after it was listed: then there is nothing
 * to do, unless it was asked for by name (`named`), which makes it a NotFound failure.
 *
 * @example
 * ```ts
 * const failure = failureOrGone(error, id, store.display, given.length > 0);
 * if (failure === undefined) progress.tick(id, 'gone (removed meanwhile)');
 * ```
 */
export function failureOrGone(
  error: unknown,
  id: string,
  where: string,
  named: boolean,
): Failure | undefined {
  const gone = CheckpointError.is(error, 'NotFound') && error.identifier === id;
  if (gone && !named) return undefined;
  return failureOf(gone ? notFound(id, where) : error, id);
}
