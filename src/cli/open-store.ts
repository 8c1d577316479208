import { existsSync, readFileSync } from 'node:fs';
import { openStorage, parseStorageUrl } from '../di/storage-source';
import type { Storage } from '../storage/storage';
import { buildWrapperChain, type WrapperConfig } from '../wrappers/wrapper-chain';
import { UsageError } from './cli-error';

/**
 * Where a command reads or writes, as the command line and the environment say it. Keys
 * come only from the environment or from key files: an argument would show in `ps` and in
 * the shell history.
 *
 * @example
 * ```ts
 * const where: StoreOptions = { storage: 'file:./var/checkpoints', wrappers: 'checksum,hmac' };
 * ```
 */
export interface StoreOptions {
  /** `--storage` (or `--to`); falls back to the environment variable named in {@link StoreEnv}. */
  storage?: string;
  /** `--wrappers`: comma-separated names, innermost first; `none` for no wrapper. */
  wrappers?: string;
  /** `--hmac-key-file`: a file whose content (without a final line break) is the HMAC key. */
  hmacKeyFile?: string;
  /** `--encryption-key-file`: likewise for the encryption key. */
  encryptionKeyFile?: string;
}

/**
 * The environment variables one side of a command reads, and the option names to
 * mention in messages.
 *
 * @example
 * ```ts
 * const env: StoreEnv = SOURCE_ENV;
 * ```
 */
export interface StoreEnv {
  readonly storage: string;
  readonly wrappers: string;
  readonly hmacKey: string;
  readonly encryptionKey: string;
  readonly storageOption: string;
  readonly wrappersOption: string;
  readonly hmacKeyFileOption: string;
  readonly encryptionKeyFileOption: string;
}

/**
 * The store most commands work on.
 * @example
 * ```ts
 * const store = await openStore({}, SOURCE_ENV); // CHECKPOINT_STORAGE, CHECKPOINT_WRAPPERS, ...
 * ```
 */
export const SOURCE_ENV: StoreEnv = {
  storage: 'CHECKPOINT_STORAGE',
  wrappers: 'CHECKPOINT_WRAPPERS',
  hmacKey: 'CHECKPOINT_HMAC_KEY',
  encryptionKey: 'CHECKPOINT_ENCRYPTION_KEY',
  storageOption: '--storage',
  wrappersOption: '--wrappers',
  hmacKeyFileOption: '--hmac-key-file',
  encryptionKeyFileOption: '--encryption-key-file',
};

/**
 * The target of `cp`; its wrappers and keys default to the source's.
 * @example
 * ```ts
 * const target = await openStore({ storage: to }, TARGET_ENV, sourceOptions, true);
 * ```
 */
export const TARGET_ENV: StoreEnv = {
  storage: 'CHECKPOINT_TO_STORAGE',
  wrappers: 'CHECKPOINT_TO_WRAPPERS',
  hmacKey: 'CHECKPOINT_TO_HMAC_KEY',
  encryptionKey: 'CHECKPOINT_TO_ENCRYPTION_KEY',
  storageOption: '--to',
  wrappersOption: '--to-wrappers',
  hmacKeyFileOption: '--to-hmac-key-file',
  encryptionKeyFileOption: '--to-encryption-key-file',
};

/**
 * An open store: the wrapped storage commands read and write through, the bare storage
 * under it (for the stored bytes themselves), and how to name it in output.
 *
 * @example
 * ```ts
 * const store: OpenStore = await openStore(options, SOURCE_ENV);
 * ```
 */
export interface OpenStore {
  /** The storage with the wrapper chain around it. */
  readonly storage: Storage;
  /** The storage without wrappers: what is at rest. */
  readonly bare: Storage;
  /** The storage URL with any password hidden. */
  readonly display: string;
  /** What tells two stores apart: the folder for `file:`, the URL otherwise. */
  readonly place: string;
  /** The wrapper names, innermost first. */
  readonly wrappers: readonly string[];
  /** Closes the chain and the storage. */
  close(): Promise<void>;
}

const WRAPPER_NAMES = ['checksum', 'checksum:crc32', 'hmac', 'encrypt', 'guard'];

/**
 * The wrapper names a `--wrappers` value lists, checked.
 * @throws {UsageError} for an unknown or repeated name
 *
 * @example
 * ```ts
 * parseWrapperNames('checksum,hmac'); // ['checksum', 'hmac']
 * ```
 */
export function parseWrapperNames(text: string, option = '--wrappers'): string[] {
  const trimmed = text.trim();
  if (trimmed === '' || trimmed === 'none') return [];
  const names = trimmed.split(',').map((n) => n.trim());
  for (const name of names) {
    if (!WRAPPER_NAMES.includes(name)) {
      throw new UsageError(
        `${option} names ${JSON.stringify(name.slice(0, 40))}, which is not a wrapper; list some of ${WRAPPER_NAMES.join(', ')} (innermost first, comma-separated), or none.`,
      );
    }
  }
  const seen = new Set<string>();
  for (const name of names) {
    const base = name.split(':')[0];
    if (seen.has(base)) {
      throw new UsageError(`${option} lists ${base} twice; list each wrapper once.`);
    }
    seen.add(base);
  }
  return names;
}

/**
 * The storage URL with the password (in the user part or a `password=` parameter)
 * replaced by `***`, for output.
 *
 * @example
 * ```ts
 * redactUrl('postgres://app:secret@db/app'); // 'postgres://app:***@db/app'
 * ```
 */
export function redactUrl(url: string): string {
  return url
    .replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:)[^@/]*@/i, '$1***@')
    .replace(/([?&](?:password|pass|sslpassword)=)[^&#]*/gi, '$1***');
}

/**
 * Opens the store `options` name (falling back to `fallback`, then to the environment).
 * @param create whether a `file:` folder that does not exist may be created (for the target
 *   of `cp` and `import`); otherwise it is a usage error
 * @throws {UsageError} when no storage is given, a `file:` folder is missing, `memory:` is given (a new process has an
 *   empty one), a wrapper is unknown or a key is not set
 * @throws {CheckpointError} `Initialization` when the storage cannot be opened or a key is
 *   too short
 *
 * @example
 * ```ts
 * const store = await openStore({ storage: 'file:./var/checkpoints' }, SOURCE_ENV);
 * try { console.log(await store.storage.checkpointIdentifiers()); } finally { await store.close(); }
 * ```
 */
export async function openStore(
  options: StoreOptions,
  env: StoreEnv,
  fallback?: StoreOptions,
  create = false,
): Promise<OpenStore> {
  const url = options.storage ?? process.env[env.storage] ?? fallback?.storage;
  if (url === undefined || url === '') {
    throw new UsageError(
      `no storage given; pass ${env.storageOption} <url> (file:./dir, postgres://..., redis://...) or set ${env.storage}.`,
    );
  }
  const parsed = parseStorageUrl(url);
  if (parsed.kind === 'memory') {
    throw new UsageError(
      `${env.storageOption} memory: names an empty store in every new process; use file:, postgres:// or redis://.`,
    );
  }
  const names = parseWrapperNames(
    options.wrappers ?? process.env[env.wrappers] ?? fallback?.wrappers ?? '',
    env.wrappersOption,
  );
  const configs = names.map((name) => wrapperConfig(name, options, env, fallback));
  if (parsed.kind === 'file' && !create && !existsSync(parsed.path)) {
    // Opening would create an empty store, and a mistyped path would list nothing, silently.
    throw new UsageError(
      `there is no folder ${JSON.stringify(parsed.path)} for ${env.storageOption}; check the path (only cp --to and import create a new store).`,
    );
  }
  const bare = await openStorage(url, true);
  let storage: Storage;
  try {
    storage = buildWrapperChain(bare, configs);
  } catch (error) {
    await bare.close();
    throw error;
  }
  return {
    storage,
    bare,
    display: redactUrl(url),
    place: parsed.kind === 'file' ? `file:${parsed.path}` : url,
    wrappers: names,
    close: () => storage.close(),
  };
}

function wrapperConfig(
  name: string,
  options: StoreOptions,
  env: StoreEnv,
  fallback: StoreOptions | undefined,
): WrapperConfig {
  switch (name) {
    case 'checksum':
    case 'guard':
      return name;
    case 'checksum:crc32':
      return { checksum: { algorithm: 'crc32' } };
    case 'hmac':
      return { hmac: { key: readKey('hmac', options, env, fallback) } };
    default:
      return { encrypt: { key: readKey('encrypt', options, env, fallback) } };
  }
}

/**
 * A key from a key file or the environment, the explicit file first; for the target of
 * `cp`, the source's key when the target has none of its own. The key never appears in a
 * message: only where it was looked for.
 */
function readKey(
  wrapper: 'hmac' | 'encrypt',
  options: StoreOptions,
  env: StoreEnv,
  fallback: StoreOptions | undefined,
): string {
  const hmac = wrapper === 'hmac';
  const fileOption = hmac ? env.hmacKeyFileOption : env.encryptionKeyFileOption;
  const variable = hmac ? env.hmacKey : env.encryptionKey;
  const places: { file?: string; variable?: string }[] = [
    { file: hmac ? options.hmacKeyFile : options.encryptionKeyFile },
    { variable },
  ];
  if (fallback !== undefined) {
    places.push(
      { file: hmac ? fallback.hmacKeyFile : fallback.encryptionKeyFile },
      { variable: hmac ? SOURCE_ENV.hmacKey : SOURCE_ENV.encryptionKey },
    );
  }
  for (const place of places) {
    if (place.file !== undefined) return readKeyFile(place.file, wrapper);
    const value = place.variable === undefined ? undefined : process.env[place.variable];
    if (value !== undefined && value !== '') return value;
  }
  throw new UsageError(
    `the ${wrapper} wrapper needs a key; set ${variable} or pass ${fileOption} <path> (keys are never taken as arguments).`,
  );
}

function readKeyFile(file: string, wrapper: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
    throw new UsageError(
      `cannot read the ${wrapper} key file ${JSON.stringify(file)} (${code}); check the path and its permissions.`,
    );
  }
  // `openssl rand -base64 32 > key` ends the file with a line break that is not key.
  return text.replace(/\r?\n$/, '');
}
