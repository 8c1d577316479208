import { resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DependencyContainer } from 'tsyringe';
import { CheckpointError } from '../errors';
import { FileStorage } from '../storage/file-storage';
import { MemoryStorage } from '../storage/memory-storage';
import type { Storage } from '../storage/storage';

/**
 * Where checkpoints live, as configuration says it:
 * - `'memory:'`: a {@link MemoryStorage} in this process;
 * - `'file:./var/checkpoints'` (relative to the working directory), `'file:/abs/path'` or
 *   `'file:///abs/path'`: a {@link FileStorage};
 * - `'postgres://user:pass@host/db'` (or `postgresql://`): PostgresStorage, loaded only then;
 * - `'redis://host:6379'` (or `rediss://`): RedisStorage, loaded only then;
 * - a `Storage` object, used as it is;
 * - a factory `(container) => Storage | Promise<Storage>`.
 *
 * @example
 * ```ts
 * const source: StorageSource = (c) => FileStorage.open(c.resolve(Config).checkpointDir);
 * ```
 */
export type StorageSource =
  string | Storage | ((container: DependencyContainer) => Storage | Promise<Storage>);

/**
 * A storage source string, parsed.
 *
 * @example
 * ```ts
 * const parsed: ParsedStorageUrl = { kind: 'redis', url: 'redis://cache:6379' };
 * ```
 */
export type ParsedStorageUrl =
  | { kind: 'memory' }
  | { kind: 'file'; path: string }
  | { kind: 'postgres'; connectionString: string }
  | { kind: 'redis'; url: string };

const FORMS = `'memory:', 'file:./path', 'postgres://...', 'redis://...', a Storage object or a factory function`;

/**
 * Parses a storage URL without opening anything.
 * @throws {CheckpointError} `Initialization` for a string in none of the known forms
 *
 * @example
 * ```ts
 * parseStorageUrl('file:./var/checkpoints'); // { kind: 'file', path: '/srv/app/var/checkpoints' }
 * ```
 */
export function parseStorageUrl(source: string): ParsedStorageUrl {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(source)?.[1]?.toLowerCase();
  switch (scheme) {
    case 'memory':
      if (source.length === 'memory:'.length) return { kind: 'memory' };
      break;
    case 'file': {
      const rest = source.slice('file:'.length);
      if (rest.length === 0) break;
      const path = rest.startsWith('//') ? fileURLToPath(source) : resolvePath(rest);
      return { kind: 'file', path };
    }
    case 'postgres':
    case 'postgresql':
      return { kind: 'postgres', connectionString: source };
    case 'redis':
    case 'rediss':
      return { kind: 'redis', url: source };
  }
  // Only the scheme is shown: the rest of a URL may hold a password.
  const shown = scheme === undefined ? 'a string without a scheme' : `a '${scheme}:' URL`;
  throw new CheckpointError(
    'Initialization',
    `The checkpoint storage is configured as ${shown}; use one of: ${FORMS}.`,
  );
}

/**
 * Opens the storage a source names. `bare` asks for the storage without its default
 * GuardWrapper, because a wrapper chain from configuration will be put around it.
 * @internal
 */
export async function openStorage(
  source: StorageSource,
  container: DependencyContainer,
  bare: boolean,
): Promise<Storage> {
  if (typeof source === 'function') return checked(await source(container), 'factory');
  if (typeof source !== 'string') return checked(source, 'object');
  const parsed = parseStorageUrl(source);
  switch (parsed.kind) {
    case 'memory':
      return bare ? new MemoryStorage() : MemoryStorage.create();
    case 'file':
      return bare ? FileStorage.openRaw(parsed.path) : FileStorage.open(parsed.path);
    case 'postgres': {
      // Imported here, not at the top: pg is an optional peer dependency, loaded only by
      // users who configure it (CommonJS output turns this into a require() call).
      const { PostgresStorage } = await import('../postgres');
      const options = { connectionString: parsed.connectionString };
      return bare ? PostgresStorage.openRaw(options) : PostgresStorage.open(options);
    }
    case 'redis': {
      const { RedisStorage } = await import('../redis');
      const options = { url: parsed.url };
      return bare ? RedisStorage.openRaw(options) : RedisStorage.open(options);
    }
  }
}

function checked(storage: unknown, from: 'factory' | 'object'): Storage {
  const s = storage as Partial<Storage> | null;
  if (
    s === null ||
    typeof s !== 'object' ||
    typeof s.createCheckpoint !== 'function' ||
    typeof s.loadCheckpoint !== 'function' ||
    typeof s.close !== 'function'
  ) {
    throw new CheckpointError(
      'Initialization',
      from === 'factory'
        ? 'The checkpoint storage factory returned something that is not a Storage; return a storage such as MemoryStorage.create() or await FileStorage.open(dir).'
        : `The checkpoint storage option is neither a Storage nor a known form; use one of: ${FORMS}.`,
    );
  }
  return s as Storage;
}
