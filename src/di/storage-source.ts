import { resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DependencyContainer } from 'tsyringe';
import { CheckpointError } from '../errors';
import { FileStorage, type FileDurability } from '../file/file-storage';
import { MemoryStorage } from '../memory/memory-storage';
import type { Storage } from '../storage/storage';
import { buildWrapperChain, type WrapperConfig } from '../wrappers/wrapper-chain';

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
 * A storage source string, parsed. The options a URL carries in its query (`table`,
 * `prefix`, `durability`) are taken out of `connectionString`/`url` and set here.
 *
 * @example
 * ```ts
 * const parsed: ParsedStorageUrl = { kind: 'redis', url: 'redis://cache:6379', prefix: 'orders:' };
 * ```
 */
export type ParsedStorageUrl =
  | { kind: 'memory' }
  | { kind: 'file'; path: string; durability?: FileDurability }
  | { kind: 'postgres'; connectionString: string; table?: string }
  | { kind: 'redis'; url: string; prefix?: string };

const FORMS = `'memory:', 'file:./path', 'postgres://...', 'redis://...', a Storage object or a factory function`;

/**
 * Parses a storage URL without opening anything. Query parameters set storage options:
 * `postgres://...?table=orders_ckpt` (PostgresStorage `table`), `redis://...?prefix=orders:`
 * (RedisStorage `prefix`), `file:./dir?durability=atomic` (FileStorage `durability`). Other
 * parameters of a `postgres:` or `redis:` URL are left in it for the driver; a `file:` URL
 * takes no other parameter.
 * @throws {CheckpointError} `Initialization` for a string in none of the known forms, or a
 *   parameter with a bad value, given twice, or unknown to `file:`; the message names the
 *   parameter and never shows the rest of the URL (it may hold a password)
 *
 * @example
 * ```ts
 * parseStorageUrl('file:./var/checkpoints?durability=atomic');
 * // { kind: 'file', path: '/srv/app/var/checkpoints', durability: 'atomic' }
 * ```
 */
export function parseStorageUrl(source: string): ParsedStorageUrl {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(source)?.[1]?.toLowerCase();
  switch (scheme) {
    case 'memory':
      if (source.length === 'memory:'.length) return { kind: 'memory' };
      break;
    case 'file': {
      const { base, options } = takeOptions(source, 'file', ['durability']);
      const rest = base.slice('file:'.length);
      if (rest.length === 0) break;
      const path = rest.startsWith('//') ? fileURLToPath(base) : resolvePath(rest);
      const durability = options.get('durability');
      if (durability === undefined) return { kind: 'file', path };
      if (durability !== 'durable' && durability !== 'atomic') {
        throw badParameter('file', 'durability', "either 'durable' (the default) or 'atomic'");
      }
      return { kind: 'file', path, durability };
    }
    case 'postgres':
    case 'postgresql': {
      const { base, options } = takeOptions(source, scheme, ['table'], true);
      const table = options.get('table');
      if (table === undefined) return { kind: 'postgres', connectionString: base };
      if (!usableTable(table)) {
        throw badParameter(
          scheme,
          'table',
          "a table name of letters, digits and '_', optionally after a schema and a dot, such as 'orders_ckpt' or 'app.checkpoints'",
        );
      }
      return { kind: 'postgres', connectionString: base, table };
    }
    case 'redis':
    case 'rediss': {
      const { base, options } = takeOptions(source, scheme, ['prefix'], true);
      const prefix = options.get('prefix');
      if (prefix === undefined) return { kind: 'redis', url: base };
      // eslint-disable-next-line no-control-regex
      if (prefix.length === 0 || prefix.length > 200 || /[\u0000-\u001f]/.test(prefix)) {
        throw badParameter(
          scheme,
          'prefix',
          "1 to 200 characters without control characters, such as 'orders:' (percent-encode '&', '#' and '+')",
        );
      }
      return { kind: 'redis', url: base, prefix };
    }
  }
  // Only the scheme is shown: the rest of a URL may hold a password.
  const shown = scheme === undefined ? 'a string without a scheme' : `a '${scheme}:' URL`;
  throw new CheckpointError(
    'Initialization',
    `The checkpoint storage is configured as ${shown}; use one of: ${FORMS}.`,
  );
}

/**
 * Splits the parameters named in `ours` off a URL's query. With `othersAllowed`, the other
 * parameters stay in `base`, exactly as written, for the driver; without, they are errors.
 */
function takeOptions(
  source: string,
  scheme: string,
  ours: readonly string[],
  othersAllowed = false,
): { base: string; options: Map<string, string> } {
  // Everything after the first '?' is the query: a '#' there is part of a value, as
  // neither a folder nor a database URL has a fragment.
  const mark = source.indexOf('?');
  const options = new Map<string, string>();
  if (mark < 0) return { base: source, options };
  const kept: string[] = [];
  for (const part of source.slice(mark + 1).split('&')) {
    if (part.length === 0) continue;
    let entry: [string, string] | undefined;
    try {
      entry = [...new URLSearchParams(part)][0];
    } catch {
      entry = undefined;
    }
    const name = entry?.[0];
    if (name !== undefined && ours.includes(name)) {
      if (options.has(name)) {
        throw new CheckpointError(
          'Initialization',
          `The '${name}' parameter of the checkpoint storage URL (${scheme}:) is given twice; give it once.`,
        );
      }
      options.set(name, entry![1]);
    } else if (othersAllowed) {
      kept.push(part);
    } else {
      // A file: URL holds no password, but the name is still cut short: it is a path.
      const shown = (name ?? part).slice(0, 40);
      throw new CheckpointError(
        'Initialization',
        `The checkpoint storage URL (${scheme}:) has the parameter ${JSON.stringify(shown)}, which it does not take; a ${scheme}: URL takes only ${ours.map((o) => `'${o}'`).join(', ')}.`,
      );
    }
  }
  const query = kept.length === 0 ? '' : `?${kept.join('&')}`;
  return { base: `${source.slice(0, mark)}${query}`, options };
}

function badParameter(scheme: string, name: string, rule: string): CheckpointError {
  // The value is not shown: a URL typed by hand may have put part of a password there.
  return new CheckpointError(
    'Initialization',
    `The '${name}' parameter of the checkpoint storage URL (${scheme}:) is not usable; use ${rule}.`,
  );
}

/** The rule of PostgresStorage's `table` option (see postgres-schema), kept here so that
 * the main entry need not load the PostgreSQL code to check a URL. */
const TABLE_PART = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MAX_TABLE = 63 - '_values_pkey'.length;
function usableTable(table: string): boolean {
  const parts = table.split('.');
  return (
    parts.length <= 2 && parts.every((p) => TABLE_PART.test(p)) && parts.at(-1)!.length <= MAX_TABLE
  );
}

/**
 * A storage source with any container already applied: what {@link openStorage} opens.
 * @internal
 */
export type OpenableStorageSource = string | Storage | (() => Storage | Promise<Storage>);

/**
 * Opens the storage a source names. `bare` asks for the storage without its default
 * GuardWrapper, because a wrapper chain from configuration will be put around it.
 * @internal
 */
export async function openStorage(source: OpenableStorageSource, bare: boolean): Promise<Storage> {
  if (typeof source === 'function') return checked(await source(), 'factory');
  if (typeof source !== 'string') return checked(source, 'object');
  const parsed = parseStorageUrl(source);
  switch (parsed.kind) {
    case 'memory':
      return bare ? new MemoryStorage() : MemoryStorage.create();
    case 'file': {
      const options = parsed.durability === undefined ? {} : { durability: parsed.durability };
      return bare
        ? FileStorage.openRaw(parsed.path, options)
        : FileStorage.open(parsed.path, options);
    }
    case 'postgres': {
      // Imported here, not at the top: pg is an optional peer dependency, loaded only by
      // users who configure it (CommonJS output turns this into a require() call).
      const { PostgresStorage } = await import('../postgres');
      const options = { connectionString: parsed.connectionString, table: parsed.table };
      return bare ? PostgresStorage.openRaw(options) : PostgresStorage.open(options);
    }
    case 'redis': {
      const { RedisStorage } = await import('../redis');
      const options = { url: parsed.url, prefix: parsed.prefix };
      return bare ? RedisStorage.openRaw(options) : RedisStorage.open(options);
    }
  }
}

/**
 * Opens a storage source and puts the wrapper chain around it; a chain that cannot be
 * built closes the storage it opened before the error goes up.
 * @internal
 */
export async function openWrappedStorage(
  source: OpenableStorageSource,
  wrappers: readonly WrapperConfig[] | undefined,
): Promise<Storage> {
  const base = await openStorage(source, wrappers !== undefined);
  if (wrappers === undefined) return base;
  try {
    return buildWrapperChain(base, wrappers);
  } catch (error) {
    await base.close();
    throw error;
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
