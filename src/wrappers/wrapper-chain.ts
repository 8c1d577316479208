/**
 * Configuration by name: turns a list like
 * `['checksum', { hmac: { key } }, { encrypt: { key } }, 'guard']` (innermost first) into
 * nested wrappers, for the DI layer and for configuration files.
 *
 * Messages about a bad entry name it by position and shape but never print an object's
 * contents or a string long enough to be a key (16 bytes or more), because a
 * misconfigured entry often holds a key.
 */
import { CheckpointError, quote } from '../errors';
import type { Storage } from '../storage/storage';
import { ChecksumWrapper, type ChecksumOptions } from './checksum-wrapper';
import { EncryptionWrapper } from './encryption-wrapper';
import { GuardWrapper } from './guard-wrapper';
import { HmacWrapper } from './hmac-wrapper';
import { MIN_KEY_BYTES, type KeyInput, type Keyring } from './keyring';

/**
 * One wrapper in a chain, by name: `'guard'`, `'checksum'` (SHA-256), `{ checksum:
 * options }`, `{ hmac: { key } }` or `{ encrypt: { key } }`; `key` is a key or a keyring.
 *
 * @example
 * ```ts
 * const wrappers: WrapperConfig[] = [
 *   'checksum',
 *   { hmac: { key: process.env.CHECKPOINT_HMAC_KEY! } },
 *   'guard',
 * ];
 * ```
 */
export type WrapperConfig =
  | 'guard'
  | 'checksum'
  | { checksum: ChecksumOptions }
  | { hmac: { key: KeyInput | Keyring } }
  | { encrypt: { key: KeyInput | Keyring } };

/**
 * The name of each wrapper {@link buildWrapperChain} knows.
 * @example
 * ```ts
 * const order: WrapperName[] = ['checksum', 'guard'];
 * ```
 */
export type WrapperName = 'checksum' | 'hmac' | 'encrypt' | 'guard';

/**
 * The order we recommend, innermost (closest to the medium) first. Use any subset, in
 * this relative order. Why:
 *
 * 1. `checksum` innermost: it checks the exact bytes the medium holds, so medium damage
 *    is reported as damage ("checksum does not match") before any key is involved,
 *    instead of looking like a wrong key or an attack.
 * 2. `hmac` outside the checksum and inside `encrypt`: encrypt-then-MAC, the sound
 *    composition. The tag covers the ciphertext, so a forged value is refused before
 *    anything is decrypted, and the tag can be verified by someone who holds only the
 *    HMAC key. (AES-GCM authenticates on its own, so with `encrypt`, `hmac` is optional:
 *    add it when a second, separately held key must vouch for the data.)
 * 3. `encrypt` outside both: it sees the codec's plaintext, and what leaves it is
 *    ciphertext, so no layer below ever sees plaintext.
 * 4. `guard` outermost: it changes no bytes; outermost it refuses a duplicate create or
 *    an in-use removal before any other layer does work, and counts the handles the user
 *    actually holds.
 *
 * Reading data through a different order than the one that wrote it fails cleanly
 * (`Integrity`), because each wrapper's envelope starts with its own magic.
 *
 * @example
 * ```ts
 * const chain = buildWrapperChain(
 *   await FileStorage.openRaw('./data'),
 *   RECOMMENDED_WRAPPER_ORDER.map((name) =>
 *     name === 'hmac' ? { hmac: { key: hmacKey } }
 *     : name === 'encrypt' ? { encrypt: { key: encryptionKey } }
 *     : name,
 *   ),
 * );
 * ```
 */
export const RECOMMENDED_WRAPPER_ORDER: readonly WrapperName[] = Object.freeze([
  'checksum',
  'hmac',
  'encrypt',
  'guard',
]);

const VALID =
  `'guard', 'checksum', { checksum: { algorithm: 'sha256' | 'crc32' } }, ` +
  `{ hmac: { key } }, { encrypt: { key } }`;

/**
 * Wraps `storage` in the wrappers `wrappers` names, innermost first: the first entry
 * wraps `storage`, the last is what is returned. Synchronous. An empty list returns
 * `storage` itself.
 *
 * @param storage the bare storage (e.g. `new MemoryStorage()`, `FileStorage.openRaw()`)
 * @param wrappers the chain, innermost first; see {@link RECOMMENDED_WRAPPER_ORDER}
 * @returns the outermost wrapper
 * @throws {CheckpointError} `Initialization` for an unknown or malformed entry (naming
 *   its position and listing the valid forms) or a bad key (naming the key id)
 *
 * @example
 * ```ts
 * const storage = buildWrapperChain(await FileStorage.openRaw('./data'), [
 *   'checksum',
 *   { encrypt: { key: process.env.CHECKPOINT_KEY! } },
 *   'guard',
 * ]);
 * ```
 */
export function buildWrapperChain(storage: Storage, wrappers: readonly WrapperConfig[]): Storage {
  if (!Array.isArray(wrappers)) {
    throw new CheckpointError(
      'Initialization',
      `The wrapper chain must be an array of wrapper entries, innermost first, each one of: ${VALID}.`,
    );
  }
  let chain = storage;
  for (const [index, entry] of wrappers.entries()) {
    try {
      chain = wrapOne(chain, entry as unknown, index);
    } catch (error) {
      if (!CheckpointError.is(error, 'Initialization') || error.message.startsWith(ENTRY)) {
        throw error;
      }
      // A wrapper refused its options (a short key, an unknown algorithm): say which entry.
      throw new CheckpointError('Initialization', `${ENTRY}wrappers[${index}]: ${error.message}`, {
        cause: error,
      });
    }
  }
  return chain;
}

const ENTRY = 'The wrapper chain entry ';

function wrapOne(inner: Storage, entry: unknown, index: number): Storage {
  const fail = (problem: string) =>
    new CheckpointError(
      'Initialization',
      `${ENTRY}wrappers[${index}] ${problem}; each entry is one of: ${VALID}.`,
    );
  if (typeof entry === 'string') {
    if (entry === 'guard') return GuardWrapper.wrap(inner);
    if (entry === 'checksum') return ChecksumWrapper.wrap(inner);
    if (entry === 'hmac' || entry === 'encrypt') {
      throw fail(`is ${quote(entry)}, which needs a key: write { ${entry}: { key } }`);
    }
    throw fail(`is ${describeString(entry)}, which is not a wrapper name`);
  }
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
    throw fail(
      `is ${entry === null ? 'null' : Array.isArray(entry) ? 'an array' : `a ${typeof entry}`}`,
    );
  }
  const names = Object.keys(entry);
  if (names.length !== 1) {
    throw fail(
      names.length === 0
        ? 'is an empty object'
        : `is an object with ${names.length} properties (${names.map(describeString).join(', ')}); give each wrapper its own entry`,
    );
  }
  const name = names[0];
  const options = (entry as Record<string, unknown>)[name];
  const isObject = options !== null && typeof options === 'object' && !Array.isArray(options);
  switch (name) {
    case 'checksum':
      if (!isObject) throw fail('has `checksum` options that are not an object');
      return ChecksumWrapper.wrap(inner, options as ChecksumOptions);
    case 'hmac':
    case 'encrypt': {
      if (!isObject || !('key' in (options as object))) {
        throw fail(`has no key: write { ${name}: { key: process.env.SOME_KEY } }`);
      }
      const key = (options as { key: KeyInput | Keyring }).key;
      return name === 'hmac' ? HmacWrapper.wrap(inner, key) : EncryptionWrapper.wrap(inner, key);
    }
    default:
      throw fail(`is an object named ${describeString(name)}, which is not a wrapper name`);
  }
}

/** A string for a message, unless it could be a key (then only its length). */
function describeString(value: string): string {
  return Buffer.byteLength(value, 'utf8') < MIN_KEY_BYTES
    ? quote(value)
    : `a string of ${value.length} characters (not shown: it could be a key)`;
}
