/**
 * Keys and keyrings for the keyed wrappers (HmacWrapper, EncryptionWrapper).
 *
 * Rules, the same for both wrappers:
 * - A string key is the UTF-8 bytes of the string (what `process.env.CHECKPOINT_KEY`
 *   gives); a `Uint8Array` or `Buffer` key is used as is. Other binary forms (another
 *   typed array, a `DataView`, an `ArrayBuffer`) are refused with a message saying so. The bytes are copied when the
 *   wrapper is made, so changing the caller's buffer later changes nothing.
 * - A key shorter than 16 bytes is refused (`Initialization`). Keys should be random
 *   (`openssl rand -base64 32`): no derivation here turns a guessable password into a
 *   strong key.
 * - A bare key is the keyring `{ active: 'default', keys: { default: key } }`. To rotate
 *   away from a bare key, list the old key under the id `default`.
 * - Key ids are 1 to 255 bytes of UTF-8 without control characters. The id of the key
 *   that wrote a value is stored in its envelope; the key itself never is.
 * - Keys are held as Node.js `KeyObject`s in private fields, so neither `console.log` of
 *   a wrapper nor any error message can show key material.
 */
import { createSecretKey, type KeyObject } from 'node:crypto';
import { CheckpointError, quote } from '../errors';

/**
 * A secret key: a string (its UTF-8 bytes are the key) or raw bytes. At least 16 bytes;
 * 32 random bytes are recommended.
 *
 * @example
 * ```ts
 * const key: KeyInput = process.env.CHECKPOINT_KEY!; // at least 16 characters
 * const raw: KeyInput = crypto.randomBytes(32);
 * ```
 */
export type KeyInput = string | Uint8Array;

/**
 * Several keys at once, for rotation: values are written with the `active` key and read
 * with whichever listed key wrote them (the envelope names it by id). Old checkpoints stay
 * readable as long as their key stays listed.
 *
 * @example
 * ```ts
 * const keyring: Keyring = {
 *   active: '2026-06',
 *   keys: { '2026-01': process.env.OLD_KEY!, '2026-06': process.env.NEW_KEY! },
 * };
 * const storage = HmacWrapper.wrap(new MemoryStorage(), keyring);
 * ```
 */
export interface Keyring {
  /** The id of the key new values are written with; must be one of `keys`. */
  active: string;
  /** Every key that may have written a stored value, by id. */
  keys: Record<string, KeyInput>;
}

/**
 * The key id a bare {@link KeyInput} gets; list the old bare key under it when moving to
 * a keyring.
 * @example
 * ```ts
 * HmacWrapper.wrap(s, { active: 'k2', keys: { [DEFAULT_KEY_ID]: oldKey, k2: newKey } });
 * ```
 */
export const DEFAULT_KEY_ID = 'default';

/**
 * The shortest key accepted, in bytes.
 * @example
 * ```ts
 * if (Buffer.byteLength(key) < MIN_KEY_BYTES) console.error('CHECKPOINT_KEY is too short');
 * ```
 */
export const MIN_KEY_BYTES = 16;

/** The longest key id, in UTF-8 bytes (its length is stored in one byte). */
const MAX_KEY_ID_BYTES = 255;

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * A keyring checked and turned into KeyObjects.
 * @example
 * ```ts
 * const ring: ResolvedKeyring = resolveKeyring('HmacWrapper', key);
 * const secret = ring.keys.get(ring.activeId)!;
 * ```
 */
export interface ResolvedKeyring {
  /** The id new values are written with. */
  readonly activeId: string;
  /** The active id as UTF-8 bytes, as it is stored in envelopes. */
  readonly activeIdBytes: Buffer;
  /** Every listed key, by id. */
  readonly keys: ReadonlyMap<string, KeyObject>;
}

/**
 * Checks a key or keyring given to `wrapperName` and returns it as KeyObjects.
 *
 * @param wrapperName shown in messages (`HmacWrapper`, ...)
 * @param input what the user passed
 * @throws {CheckpointError} `Initialization` for a missing, short or malformed key or
 *   keyring; the message names the key id, never the key
 *
 * @example
 * ```ts
 * const ring = resolveKeyring('HmacWrapper', process.env.CHECKPOINT_KEY!);
 * ring.activeId; // 'default'
 * ```
 */
export function resolveKeyring(wrapperName: string, input: unknown): ResolvedKeyring {
  const fail = (problem: string) =>
    new CheckpointError('Initialization', `${wrapperName}: ${problem}`);
  if (typeof input === 'string' || input instanceof Uint8Array) {
    return build(DEFAULT_KEY_ID, { [DEFAULT_KEY_ID]: input }, fail);
  }
  if (input === null || typeof input !== 'object') {
    throw fail(
      `the key is ${kindOf(input)}; pass a string or Uint8Array of at least ${MIN_KEY_BYTES} bytes, or a keyring { active, keys }. Is the environment variable holding the key set?`,
    );
  }
  // Binary data that is not a Uint8Array (a Float64Array, a DataView, an ArrayBuffer) is
  // a key in the wrong form, not a keyring without `keys`: say so.
  if (
    ArrayBuffer.isView(input) ||
    input instanceof ArrayBuffer ||
    input instanceof SharedArrayBuffer
  ) {
    throw fail(
      `the key is ${binaryKind(input)}; a key must be a string, Buffer or Uint8Array of at least ${MIN_KEY_BYTES} bytes (wrap the bytes: new Uint8Array(view.buffer, view.byteOffset, view.byteLength)).`,
    );
  }
  const { active, keys } = input as Partial<Keyring>;
  if (keys === null || typeof keys !== 'object' || Array.isArray(keys)) {
    throw fail(
      'the keyring has no `keys` object; write { active: "k2", keys: { k1: ..., k2: ... } }.',
    );
  }
  if (typeof active !== 'string') {
    throw fail(
      'the keyring has no `active` key id; set `active` to the id of the key new values are written with.',
    );
  }
  return build(active, keys, fail);
}

function build(
  active: string,
  keys: Record<string, unknown>,
  fail: (problem: string) => CheckpointError,
): ResolvedKeyring {
  const ids = Object.keys(keys);
  if (ids.length === 0) throw fail('the keyring lists no keys; add at least the active one.');
  if (!Object.prototype.hasOwnProperty.call(keys, active)) {
    throw fail(
      `the active key id ${quote(active)} is not in the keyring (it lists ${ids.map(quote).join(', ')}); add it to \`keys\` or pick one of those.`,
    );
  }
  const resolved = new Map<string, KeyObject>();
  for (const id of ids) {
    const idBytes = Buffer.byteLength(id, 'utf8');
    if (idBytes === 0 || idBytes > MAX_KEY_ID_BYTES || CONTROL.test(id)) {
      throw fail(
        `the key id ${quote(id)} is not usable; key ids are 1 to ${MAX_KEY_ID_BYTES} bytes of UTF-8 without control characters.`,
      );
    }
    const key = keys[id];
    let bytes: Buffer;
    if (typeof key === 'string') bytes = Buffer.from(key, 'utf8');
    else if (key instanceof Uint8Array)
      bytes = Buffer.from(key); // a copy
    else if (ArrayBuffer.isView(key) || key instanceof ArrayBuffer) {
      throw fail(
        `the key ${quote(id)} is ${binaryKind(key)}; a key must be a string, Buffer or Uint8Array of at least ${MIN_KEY_BYTES} bytes (wrap the bytes: new Uint8Array(view.buffer, view.byteOffset, view.byteLength)).`,
      );
    } else {
      throw fail(
        `the key ${quote(id)} is ${kindOf(key)}; pass a string or Uint8Array of at least ${MIN_KEY_BYTES} bytes. Is the environment variable holding it set?`,
      );
    }
    if (bytes.length < MIN_KEY_BYTES) {
      throw fail(
        `the key ${quote(id)} is shorter than ${MIN_KEY_BYTES} bytes; use at least ${MIN_KEY_BYTES} (better 32) random bytes, e.g. from \`openssl rand -base64 32\`.`,
      );
    }
    resolved.set(id, createSecretKey(bytes));
    bytes.fill(0);
  }
  return { activeId: active, activeIdBytes: Buffer.from(active, 'utf8'), keys: resolved };
}

/** `a Float64Array`, `an ArrayBuffer`: the kind of a binary value given as a key. */
function binaryKind(value: object): string {
  const name = value.constructor?.name ?? 'binary object';
  return `${/^[aeiou]/i.test(name) ? 'an' : 'a'} ${name}`;
}

/** What a value is, for a message that must not show the value itself. */
function kindOf(value: unknown): string {
  if (value === undefined || value === null) return String(value);
  const type = typeof value;
  return `${/^[aeiou]/.test(type) ? 'an' : 'a'} ${type}`;
}
