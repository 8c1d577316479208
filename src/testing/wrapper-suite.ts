import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CheckpointError } from '../errors';
import { MemoryStorage } from '../memory/memory-storage';
import type { Storage } from '../storage/storage';
import { SealingWrapper } from '../wrappers/sealing-wrapper';
import { WrapperStorage } from '../wrappers/wrapper-storage';

/**
 * How {@link wrapperSuite} builds the wrapper under test over a medium.
 * @example
 * ```ts
 * const options: WrapperSuiteOptions = {
 *   wrap: (inner) => ChecksumWrapper.wrap(inner),
 *   bindsLocation: false,
 * };
 * ```
 */
export interface WrapperSuiteOptions {
  /** Wraps `inner` in the wrapper under test, with its usual key. */
  wrap: (inner: Storage) => Storage;
  /**
   * The same wrapper with a different key under the same key id (keyed wrappers only):
   * reading what `wrap` wrote must fail with `Integrity`.
   */
  wrapWithOtherKey?: (inner: Storage) => Storage;
  /**
   * Key rotation (keyed wrappers only). `before` writes with key id `oldKeyId`; `after`
   * writes with a new active key and still lists the old one; `withoutOld` lists only
   * the new key.
   */
  rotation?: {
    before: (inner: Storage) => Storage;
    after: (inner: Storage) => Storage;
    withoutOld: (inner: Storage) => Storage;
    oldKeyId: string;
  };
  /**
   * True when a value moved to another key or checkpoint must fail (HMAC, encryption).
   * False for wrappers that only detect damage (checksum): the suite then checks that a
   * moved value reads back as the value it was, which is the documented limit.
   */
  bindsLocation: boolean;
  /** True when the stored bytes must not contain the plaintext (encryption). */
  hidesPlaintext?: boolean;
  /**
   * For wrappers that seal each commit (HMAC, encryption): the reserved key of the seal.
   * Found on the wrapper itself when not given. Values are then expected in envelope
   * format 2, a wrong key may fail on the seal at load, and {@link checkpointSealSuite}
   * runs too.
   */
  sealKey?: string;
  /**
   * Key material used by the factories above. No error message may contain any of it
   * (as text, hex or base64).
   */
  secrets?: readonly (string | Uint8Array)[];
  /** A new, empty medium to wrap; `new MemoryStorage()` by default. */
  createInner?: () => Promise<Storage>;
  /** fast-check runs per property; 200 by default. */
  numRuns?: number;
}

/**
 * A pass-through layer placed between the wrapper under test and its medium, standing in
 * for a damaged disk or an attacker with write access: it records every envelope the
 * wrapper writes, and lets a test replace what the wrapper reads back.
 *
 * @example
 * ```ts
 * const tap = new EnvelopeTap(new MemoryStorage());
 * const storage = HmacWrapper.wrap(tap, key);
 * // ... put and commit 'c' / 'v' through storage ...
 * tap.onRead = (id, key, bytes) => flipByte(bytes, 3);
 * ```
 */
export class EnvelopeTap extends WrapperStorage {
  protected readonly storageName = 'EnvelopeTap';
  /** The last envelope written for each checkpoint and key. */
  readonly written = new Map<string, Uint8Array>();
  /** When set, replaces the bytes every read returns to the wrapper above. */
  onRead?: (identifier: string, key: string, bytes: Uint8Array) => Uint8Array;

  /**
   * The envelope last written for `identifier` / `key`.
   * @throws {Error} when nothing was written there
   * @example
   * ```ts
   * const envelope = tap.envelope('orders', 'order-7');
   * ```
   */
  envelope(identifier: string, key: string): Uint8Array {
    const bytes = this.written.get(`${identifier}\u0000${key}`);
    if (bytes === undefined) throw new Error(`nothing was written to ${identifier}/${key}`);
    return bytes.slice();
  }

  override seal(identifier: string, key: string, bytes: Uint8Array): Uint8Array {
    this.written.set(`${identifier}\u0000${key}`, bytes.slice());
    return bytes;
  }

  override unseal(identifier: string, key: string, bytes: Uint8Array): Uint8Array {
    return this.onRead === undefined ? bytes : this.onRead(identifier, key, bytes);
  }
}

const SMALL = { n: 1, s: 'small' };

/**
 * fast-check, loaded only when a property runs: `checkpointable/testing` is also imported
 * by users who run only the storage conformance suite and may not have fast-check.
 */
async function fastCheck(): Promise<typeof import('fast-check')> {
  try {
    return await import('fast-check');
  } catch (error) {
    throw new Error(
      'wrapperSuite needs fast-check for its random-damage properties; install it as a dev dependency (npm install -D fast-check).',
      { cause: error },
    );
  }
}

/** The medium, the tap over it, and the storage under test wrapped around the tap. */
async function openWrapped(options: {
  wrap: (inner: Storage) => Storage;
  createInner?: () => Promise<Storage>;
}): Promise<{ inner: Storage; tap: EnvelopeTap; storage: Storage }> {
  const inner = options.createInner ? await options.createInner() : new MemoryStorage();
  const tap = new EnvelopeTap(inner);
  return { inner, tap, storage: options.wrap(tap) };
}

/** Commits `values` (Uint8Arrays as raw bytes) as `identifier`; returns its `createdAt`. */
async function commit(
  through: Storage,
  identifier: string,
  values: Record<string, unknown>,
): Promise<Date> {
  const draft = await through.createCheckpoint(identifier);
  for (const [key, value] of Object.entries(values)) {
    if (value instanceof Uint8Array) await draft.putBytes(key, value);
    else await draft.put(key, value);
  }
  const saved = await through.commitCheckpoint(draft);
  await saved.release();
  return saved.createdAt;
}

/** Loads `identifier`, reads `key`, and releases the handle. */
async function read(through: Storage, identifier: string, key: string): Promise<unknown> {
  const loaded = await through.loadCheckpoint(identifier);
  try {
    return await loaded.get(key);
  } finally {
    await loaded.release();
  }
}

/** `bytes` with the byte at `at` XORed with `mask` (a copy). */
function flipped(bytes: Uint8Array, at: number, mask: number): Uint8Array {
  const damaged = bytes.slice();
  damaged[at] ^= mask;
  return damaged;
}

/** Awaits `promise` and returns its CheckpointError, or fails the test. */
async function rejection(promise: Promise<unknown>, what: string): Promise<CheckpointError> {
  let value: unknown;
  try {
    value = await promise;
  } catch (error) {
    expect(error, `${what}: expected a CheckpointError`).toBeInstanceOf(CheckpointError);
    return error as CheckpointError;
  }
  throw new Error(`${what}: expected a CheckpointError, got the value ${JSON.stringify(value)}`);
}

/**
 * Registers the per-wrapper suite: round trip; empty and 10 MB values; every byte of a
 * stored envelope flipped in turn; random multi-byte damage, truncation and extension
 * (fast-check); wrong key; rotated key; values moved between keys and checkpoints; and
 * values written with or without the wrapper read the other way. Every failure must be
 * a `CheckpointError` of kind `Integrity` or `Deserialize` naming the checkpoint and key,
 * never a different value.
 *
 * Run it next to the storage conformance suite, which proves the wrapper is still a
 * correct storage.
 *
 * @example
 * ```ts
 * import { wrapperSuite } from 'checkpointable/testing';
 * wrapperSuite('HmacWrapper', {
 *   wrap: (inner) => HmacWrapper.wrap(inner, KEY),
 *   wrapWithOtherKey: (inner) => HmacWrapper.wrap(inner, OTHER_KEY),
 *   bindsLocation: true,
 *   secrets: [KEY, OTHER_KEY],
 * });
 * ```
 */
export function wrapperSuite(name: string, options: WrapperSuiteOptions): void {
  const numRuns = options.numRuns ?? 200;
  const sealKey = options.sealKey ?? sealKeysOf(options.wrap(new MemoryStorage()))[0];

  describe(`wrapper suite: ${name}`, () => {
    let inner: Storage;
    let tap: EnvelopeTap;
    let storage: Storage;

    beforeEach(async () => {
      ({ inner, tap, storage } = await openWrapped(options));
    });

    afterEach(async () => {
      await storage.close();
    });

    /**
     * A failure must be Integrity/Deserialize, name the value (or, with `orSeal`, the
     * checkpoint's seal, which a wrong key fails first), and show no secret.
     */
    function checkFailure(
      error: CheckpointError,
      identifier: string,
      key: string,
      orSeal = false,
    ): void {
      expect(['Integrity', 'Deserialize']).toContain(error.kind);
      expect(error.identifier).toBe(identifier);
      const named = orSeal && error.key === sealKey ? sealKey : key;
      expect(error.key).toBe(named);
      expect(error.message).toContain(JSON.stringify(identifier));
      expect(error.message).toContain(JSON.stringify(named));
      assertNoSecret(error.message);
    }

    function assertNoSecret(message: string): void {
      for (const secret of options.secrets ?? []) {
        const bytes = typeof secret === 'string' ? Buffer.from(secret) : Buffer.from(secret);
        for (const shown of [
          bytes.toString('utf8'),
          bytes.toString('hex'),
          bytes.toString('base64'),
        ]) {
          expect(message.includes(shown), 'an error message contains key material').toBe(false);
        }
      }
    }

    /** Reads `flip`/`v` with `damage` applied; collects values that came back. */
    async function readDamaged(
      damage: (bytes: Uint8Array) => Uint8Array,
      identifier = 'flip',
      key = 'v',
    ): Promise<CheckpointError> {
      tap.onRead = (id, k, bytes) => (id === identifier && k === key ? damage(bytes) : bytes);
      try {
        return await rejection(read(storage, identifier, key), 'damaged envelope');
      } finally {
        tap.onRead = undefined;
      }
    }

    describe('round trip', () => {
      it('returns what was put, before and after commit, through load', async () => {
        const draft = await storage.createCheckpoint('rt');
        await draft.put('object', { a: [1, 2n, new Date(3)], m: new Map([['k', 'v']]) });
        await draft.put('text', 'héllo 😀');
        await draft.putBytes('raw', new Uint8Array([0, 1, 2, 255]));
        expect(await draft.get('text')).toBe('héllo 😀');
        await (await storage.commitCheckpoint(draft)).release();
        const loaded = await storage.loadCheckpoint('rt');
        expect(await loaded.get('object')).toEqual({
          a: [1, 2n, new Date(3)],
          m: new Map([['k', 'v']]),
        });
        expect(await loaded.get('text')).toBe('héllo 😀');
        expect([...(await loaded.getBytes('raw'))]).toEqual([0, 1, 2, 255]);
        await loaded.release();
      });

      it('stores an envelope, not the bare bytes', async () => {
        await commit(storage, 'env', { raw: new Uint8Array(Buffer.from('plain-marker-123')) });
        const envelope = Buffer.from(tap.envelope('env', 'raw'));
        expect(envelope.length).toBeGreaterThan(16);
        expect(envelope.subarray(0, 2).toString('latin1')).toBe('CP');
        expect(envelope[4]).toBe(sealKey === undefined ? 1 : 2); // format version
        const containsPlain = envelope.includes(Buffer.from('plain-marker-123'));
        expect(containsPlain).toBe(!options.hidesPlaintext);
      });

      it('round-trips empty values', async () => {
        await commit(storage, 'empty', { text: '', bytes: new Uint8Array(0), list: [] });
        const loaded = await storage.loadCheckpoint('empty');
        expect(await loaded.get('text')).toBe('');
        expect((await loaded.getBytes('bytes')).length).toBe(0);
        expect(await loaded.get('list')).toEqual([]);
        await loaded.release();
      });

      it('round-trips a 10 MB value and detects one damaged byte in it', async () => {
        const big = Buffer.alloc(10 * 1024 * 1024);
        for (let i = 0; i < big.length; i += 997) big[i] = (i * 31) % 256;
        await commit(storage, 'big', { v: big });
        const loaded = await storage.loadCheckpoint('big');
        expect(Buffer.from(await loaded.getBytes('v')).equals(big)).toBe(true);
        await loaded.release();
        const error = await readDamaged((bytes) => flipped(bytes, bytes.length >> 1, 0x10), 'big');
        checkFailure(error, 'big', 'v');
        expect(error.kind).toBe('Integrity');
      });
    });

    describe('damage', () => {
      beforeEach(async () => {
        await commit(storage, 'flip', { v: SMALL });
        expect(await read(storage, 'flip', 'v')).toEqual(SMALL);
      });

      it('refuses every single-byte change of a stored envelope', async () => {
        const envelope = tap.envelope('flip', 'v');
        const returned: string[] = [];
        for (let i = 0; i < envelope.length; i++) {
          for (const mask of [0x01, 0x80, 0xff]) {
            tap.onRead = (_id, key, bytes) => (key === 'v' ? flipped(bytes, i, mask) : bytes);
            try {
              const value = await read(storage, 'flip', 'v');
              returned.push(`byte ${i} ^ ${mask} gave ${JSON.stringify(value)}`);
            } catch (error) {
              expect(error).toBeInstanceOf(CheckpointError);
              checkFailure(error as CheckpointError, 'flip', 'v');
            }
          }
        }
        tap.onRead = undefined;
        expect(returned).toEqual([]);
        expect(envelope.length).toBeGreaterThan(30);
      });

      it('refuses random multi-byte damage (fast-check)', async () => {
        const fc = await fastCheck();
        const length = tap.envelope('flip', 'v').length;
        await fc.assert(
          fc.asyncProperty(
            fc.uniqueArray(
              fc.record({ at: fc.nat(length - 1), mask: fc.integer({ min: 1, max: 255 }) }),
              { minLength: 1, maxLength: 8, selector: (d) => d.at },
            ),
            async (damages) => {
              const error = await readDamaged((bytes) => {
                const damaged = bytes.slice();
                for (const { at, mask } of damages) damaged[at] ^= mask;
                return damaged;
              });
              checkFailure(error, 'flip', 'v');
            },
          ),
          { numRuns },
        );
      });

      it('refuses every truncation and any extension (fast-check)', async () => {
        const fc = await fastCheck();
        const length = tap.envelope('flip', 'v').length;
        for (let cut = 0; cut < length; cut++) {
          const error = await readDamaged((bytes) => bytes.slice(0, cut));
          checkFailure(error, 'flip', 'v');
        }
        await fc.assert(
          fc.asyncProperty(
            fc.uint8Array({ minLength: 1, maxLength: 64 }),
            fc.nat(length),
            async (extra, at) => {
              const error = await readDamaged((bytes) =>
                Buffer.concat([bytes.subarray(0, at), extra, bytes.subarray(at)]),
              );
              checkFailure(error, 'flip', 'v');
            },
          ),
          { numRuns },
        );
      });
    });

    describe('wrapper order', () => {
      it('refuses a value written without the wrapper, naming the cause', async () => {
        await commit(inner, 'bare', { v: SMALL });
        const error = await rejection(read(storage, 'bare', 'v'), 'bare value');
        checkFailure(error, 'bare', 'v');
        expect(error.kind).toBe('Integrity');
        expect(error.message).toContain(
          'written without this wrapper, through a different wrapper order',
        );
      });

      it('gives no value when the medium is read without the wrapper', async () => {
        await commit(storage, 'wrapped', { v: SMALL });
        const error = await rejection(read(inner, 'wrapped', 'v'), 'wrapped value read bare');
        expect(error.kind).toBe('Deserialize');
      });
    });

    describe('moved values', () => {
      beforeEach(async () => {
        await commit(storage, 'one', { a: 'value of a', b: 'value of b' });
        await commit(storage, 'two', { a: 'value of two/a' });
      });

      const moves = [
        {
          to: 'key',
          between: 'keys',
          source: ['one', 'a'],
          target: ['one', 'b'],
          moved: 'value of a',
          own: 'value of b',
        },
        {
          to: 'checkpoint',
          between: 'checkpoints',
          source: ['two', 'a'],
          target: ['one', 'a'],
          moved: 'value of two/a',
          own: 'value of a',
        },
      ];
      for (const { to, between, source, target, moved, own } of moves) {
        it(
          options.bindsLocation
            ? `refuses a value moved to another ${to}`
            : `does not bind values to their ${to} (documented limit)`,
          async () => {
            const envelope = tap.envelope(source[0], source[1]);
            const [id, key] = target;
            tap.onRead = (i, k, bytes) => (i === id && k === key ? envelope : bytes);
            if (options.bindsLocation) {
              const error = await rejection(
                read(storage, id, key),
                `value moved between ${between}`,
              );
              checkFailure(error, id, key);
              expect(error.kind).toBe('Integrity');
            } else {
              expect(await read(storage, id, key)).toBe(moved);
            }
            tap.onRead = undefined;
            expect(await read(storage, id, key)).toBe(own);
          },
        );
      }
    });

    if (options.wrapWithOtherKey) {
      const wrapWithOtherKey = options.wrapWithOtherKey;
      it('refuses to read with a wrong key', async () => {
        await commit(storage, 'keyed', { v: SMALL });
        const other = wrapWithOtherKey(inner);
        const error = await rejection(read(other, 'keyed', 'v'), 'wrong key');
        checkFailure(error, 'keyed', 'v', true);
        expect(error.kind).toBe('Integrity');
        expect(error.message).toContain('is not the key that wrote it');
      });
    }

    if (options.rotation) {
      const { before, after, withoutOld, oldKeyId } = options.rotation;
      it('reads old values after a key rotation, and refuses them once the old key is gone', async () => {
        await commit(before(inner), 'old', { v: 'written with the old key' });
        const rotated = after(inner);
        expect(await read(rotated, 'old', 'v')).toBe('written with the old key');
        await commit(rotated, 'new', { v: 'written with the new key' });
        const onlyNew = withoutOld(inner);
        expect(await read(onlyNew, 'new', 'v')).toBe('written with the new key');
        const error = await rejection(read(onlyNew, 'old', 'v'), 'old key removed');
        checkFailure(error, 'old', 'v', true);
        expect(error.kind).toBe('Integrity');
        expect(error.message).toContain(`key id ${JSON.stringify(oldKeyId)}`);
        expect(error.message).toContain('Add the key');
        // A writer that never knew the new key cannot read what the new key wrote.
        const stale = await rejection(read(before(inner), 'new', 'v'), 'new key unknown');
        checkFailure(stale, 'new', 'v', true);
      });
    }
  });
  if (sealKey !== undefined) {
    checkpointSealSuite(name, {
      wrap: options.wrap,
      createInner: options.createInner,
      sealKeys: [sealKey],
    });
  }
}

/**
 * The seal keys of the sealing wrappers in a chain, outermost first.
 * @example
 * ```ts
 * sealKeysOf(buildWrapperChain(new MemoryStorage(), RECOMMENDED_CHAIN));
 * // ['@checkpointable.seal.encryption', '@checkpointable.seal.hmac']
 * ```
 */
export function sealKeysOf(storage: Storage): string[] {
  const keys: string[] = [];
  for (let at = storage; at instanceof WrapperStorage; at = at.inner) {
    if (at instanceof SealingWrapper) keys.push(at.layout.sealKey);
  }
  return keys;
}

/**
 * How {@link checkpointSealSuite} builds the storage under test.
 * @example
 * ```ts
 * const options: CheckpointSealSuiteOptions = {
 *   wrap: (inner) => HmacWrapper.wrap(inner, KEY),
 *   sealKeys: ['@checkpointable.seal.hmac'],
 * };
 * ```
 */
export interface CheckpointSealSuiteOptions {
  /** Wraps `inner` in the wrapper or chain under test. */
  wrap: (inner: Storage) => Storage;
  /** A new, empty medium to wrap; `new MemoryStorage()` by default. */
  createInner?: () => Promise<Storage>;
  /**
   * The reserved seal keys of the sealing layers, outermost first; users may use none.
   * Found on the chain itself ({@link sealKeysOf}) when not given.
   */
  sealKeys?: readonly string[];
}

/**
 * Registers the whole-checkpoint cases for a wrapper (or chain) that seals each commit:
 * with write access to the medium, an attacker rebuilds a committed checkpoint without
 * one key, with an extra key, with values swapped between keys, with a value or the seal
 * of an older commit of the same identifier, with an earlier value of a key from the
 * same commit, or without the seal. Each is `Integrity` on load or on the read that sees
 * it, never a wrong value. Also: the sealed `createdAt` survives a rebuild of the medium,
 * the handle from `commitCheckpoint` answers like a loaded one, and the seal keys are
 * refused as user keys (`InvalidIdentifier`) and never listed.
 *
 * @example
 * ```ts
 * import { checkpointSealSuite } from 'checkpointable/testing';
 * checkpointSealSuite('full chain over FileStorage', {
 *   wrap: (inner) => buildWrapperChain(inner, chain),
 *   createInner: () => FileStorage.openRaw(dir()),
 *   sealKeys: ['@checkpointable.seal.encryption', '@checkpointable.seal.hmac'],
 * });
 * ```
 */
export function checkpointSealSuite(name: string, options: CheckpointSealSuiteOptions): void {
  const sealKeys = options.sealKeys ?? sealKeysOf(options.wrap(new MemoryStorage()));
  describe(`checkpoint seal suite: ${name}`, () => {
    let inner: Storage;
    let tap: EnvelopeTap;
    let storage: Storage;

    beforeEach(async () => {
      ({ inner, tap, storage } = await openWrapped(options));
    });

    afterEach(async () => {
      await storage.close();
    });

    const commitAcct = (values: Record<string, unknown>) => commit(storage, 'acct', values);

    /** Every stored key and its bytes, as the medium holds them (seals included). */
    async function snapshot(identifier: string): Promise<Map<string, Uint8Array>> {
      const loaded = await inner.loadCheckpoint(identifier);
      try {
        const out = new Map<string, Uint8Array>();
        for (const key of await loaded.keys()) out.set(key, await loaded.getBytes(key));
        return out;
      } finally {
        await loaded.release();
      }
    }

    /** Replaces the committed checkpoint on the medium by one holding `entries`. */
    async function rebuild(identifier: string, entries: Map<string, Uint8Array>): Promise<void> {
      await inner.removeCheckpoint(identifier);
      const draft = await inner.createCheckpoint(identifier);
      for (const [key, bytes] of entries) await draft.putBytes(key, bytes);
      await (await inner.commitCheckpoint(draft)).release();
    }

    async function expectIntegrity(promise: Promise<unknown>, what: string) {
      const error = await rejection(promise, what);
      expect(error.kind, `${what}: ${error.message}`).toBe('Integrity');
      expect(error.identifier).toBe('acct');
      return error;
    }

    /** Loads `acct` and reads `key`: the read (or the load) must be Integrity. */
    async function expectReadRefused(key: string, what: string): Promise<CheckpointError> {
      let loaded: Awaited<ReturnType<Storage['loadCheckpoint']>> | undefined;
      try {
        return await expectIntegrity(
          (async () => {
            loaded = await storage.loadCheckpoint('acct');
            return loaded.get(key);
          })(),
          what,
        );
      } finally {
        await loaded?.release();
      }
    }

    const ACCOUNT = { balance: 100, limit: 5, owner: 'ann' };
    // The medium holds every layer's seal: an outer layer's seal is a value to the inner.
    const isSeal = (key: string) => key.startsWith('@checkpointable.seal.');
    const without = (entries: Map<string, Uint8Array>, ...keys: string[]) =>
      new Map([...entries].filter(([key]) => !keys.includes(key)));

    it('refuses a checkpoint rebuilt without one of its keys, on load', async () => {
      await commitAcct(ACCOUNT);
      await rebuild('acct', without(await snapshot('acct'), 'limit'));
      const error = await expectIntegrity(storage.loadCheckpoint('acct'), 'key dropped');
      expect(error.message).toContain('"limit"');
      expect(error.message).toContain('that the storage does not hold');
    });

    it('refuses a checkpoint rebuilt with an extra key, on load', async () => {
      await commitAcct(ACCOUNT);
      const entries = await snapshot('acct');
      entries.set('bonus', entries.get('balance')!);
      await rebuild('acct', entries);
      const error = await expectIntegrity(storage.loadCheckpoint('acct'), 'key added');
      expect(error.message).toContain('"bonus"');
      expect(error.message).toContain('that the seal does not list');
    });

    it('refuses values swapped between keys, on the read', async () => {
      await commitAcct(ACCOUNT);
      const entries = await snapshot('acct');
      const [balance, limit] = [entries.get('balance')!, entries.get('limit')!];
      entries.set('balance', limit);
      entries.set('limit', balance);
      await rebuild('acct', entries);
      await expectReadRefused('balance', 'swapped balance');
      await expectReadRefused('limit', 'swapped limit');
      const loaded = await storage.loadCheckpoint('acct');
      expect(await loaded.get('owner')).toBe('ann');
      await loaded.release();
    });

    it('refuses a value spliced in from an older commit of the same identifier', async () => {
      await commitAcct(ACCOUNT);
      const old = await snapshot('acct');
      await storage.removeCheckpoint('acct');
      await commitAcct({ ...ACCOUNT, balance: 50 });
      const entries = await snapshot('acct');
      entries.set('balance', old.get('balance')!);
      await rebuild('acct', entries);
      const error = await expectReadRefused('balance', 'old balance');
      expect(error.message).toContain('belongs to another commit of this checkpoint');
      const loaded = await storage.loadCheckpoint('acct');
      expect(await loaded.get('limit')).toBe(5);
      expect(await loaded.keys()).toEqual(['balance', 'limit', 'owner']);
      await loaded.release();
    });

    it('refuses the seal of an older commit of the same identifier', async () => {
      await commitAcct(ACCOUNT);
      const old = await snapshot('acct');
      await storage.removeCheckpoint('acct');
      await commitAcct({ ...ACCOUNT, balance: 50 });
      const entries = await snapshot('acct');
      for (const key of entries.keys()) if (isSeal(key)) entries.set(key, old.get(key)!);
      await rebuild('acct', entries);
      for (const key of Object.keys(ACCOUNT)) await expectReadRefused(key, `old seal, ${key}`);
    });

    it('refuses an earlier value of a key from the same commit', async () => {
      const draft = await storage.createCheckpoint('acct');
      await draft.put('balance', 100);
      const first = tap.envelope('acct', 'balance');
      await draft.put('balance', 50);
      await draft.put('limit', 5);
      expect(await draft.get('balance')).toBe(50);
      await (await storage.commitCheckpoint(draft)).release();
      const entries = await snapshot('acct');
      entries.set('balance', first);
      await rebuild('acct', entries);
      await expectReadRefused('balance', 'earlier value of the same commit');
    });

    it('refuses a sealed checkpoint whose seal was removed, on load', async () => {
      await commitAcct(ACCOUNT);
      const entries = await snapshot('acct');
      const seals = [...entries.keys()].filter(isSeal);
      expect(seals.length).toBeGreaterThan(0);
      await rebuild('acct', without(entries, ...seals));
      const error = await expectIntegrity(storage.loadCheckpoint('acct'), 'seal removed');
      expect(error.message).toContain('has no seal');
    });

    it('refuses a damaged seal, on load', async () => {
      await commitAcct(ACCOUNT);
      const entries = await snapshot('acct');
      for (const key of entries.keys()) {
        if (!isSeal(key)) continue;
        const seal = entries.get(key)!;
        entries.set(key, flipped(seal, seal.length - 1, 0x01));
      }
      await rebuild('acct', entries);
      await expectIntegrity(storage.loadCheckpoint('acct'), 'damaged seal');
    });

    it('reports the sealed createdAt, whatever the medium records', async () => {
      const draft = await storage.createCheckpoint('acct');
      await draft.put('balance', 1);
      const saved = await storage.commitCheckpoint(draft);
      const sealed = saved.createdAt.getTime();
      await saved.release();
      // Let the clock move on so that the medium's own time of the rebuild differs.
      while (Date.now() <= sealed + 2) await new Promise((resolve) => setTimeout(resolve, 3));
      await rebuild('acct', await snapshot('acct'));
      const raw = await inner.loadCheckpoint('acct');
      expect(raw.createdAt.getTime()).toBeGreaterThan(sealed);
      await raw.release();
      const loaded = await storage.loadCheckpoint('acct');
      expect(loaded.createdAt.getTime()).toBe(sealed);
      expect(await loaded.get('balance')).toBe(1);
      await loaded.release();
    });

    it('answers through the handle from commitCheckpoint as through a loaded one', async () => {
      const draft = await storage.createCheckpoint('acct');
      for (const [key, value] of Object.entries(ACCOUNT)) await draft.put(key, value);
      expect(await draft.keys()).toEqual(['balance', 'limit', 'owner']);
      const saved = await storage.commitCheckpoint(draft);
      const loaded = await storage.loadCheckpoint('acct');
      for (const handle of [saved, loaded]) {
        expect(await handle.keys()).toEqual(['balance', 'limit', 'owner']);
        expect(await handle.get('balance')).toBe(100);
        await expect(handle.get('missing')).rejects.toMatchObject({ kind: 'KeyNotFound' });
      }
      expect(saved.createdAt.getTime()).toBe(loaded.createdAt.getTime());
      await saved.release();
      await loaded.release();
    });

    it('refuses the seal keys as user keys, and never lists them', async () => {
      const draft = await storage.createCheckpoint('acct');
      await draft.put('balance', 1);
      for (const key of sealKeys) {
        for (const call of [
          () => draft.put(key, 1),
          () => draft.putBytes(key, new Uint8Array(1)),
          () => draft.get(key),
          () => draft.remove(key),
        ]) {
          const error = await rejection(call(), `user key ${key}`);
          expect(error.kind).toBe('InvalidIdentifier');
          expect(error.message).toContain(
            `${JSON.stringify(key)} in checkpoint "acct" is reserved`,
          );
        }
      }
      expect(await draft.keys()).toEqual(['balance']);
      const saved = await storage.commitCheckpoint(draft);
      expect(await saved.keys()).toEqual(['balance']);
      for (const [layer, key] of sealKeys.entries()) {
        // To an outer layer, an inner layer's seal key is simply not one of the
        // checkpoint's keys; the outermost layer refuses its own as reserved.
        const kinds = layer === 0 ? ['InvalidIdentifier'] : ['InvalidIdentifier', 'KeyNotFound'];
        expect(kinds).toContain((await rejection(saved.get(key), 'seal read')).kind);
      }
      await saved.release();
    });

    it('keeps the seal hidden in a handle whose commit failed', async () => {
      const draft = await storage.createCheckpoint('acct');
      await draft.put('balance', 1);
      // Someone else commits the identifier on the medium first.
      const other = await inner.createCheckpoint('acct');
      await (await inner.commitCheckpoint(other)).release();
      expect((await rejection(storage.commitCheckpoint(draft), 'lost race')).kind).toBe(
        'AlreadyExists',
      );
      const written = [...tap.written.keys()];
      expect(written.some((where) => isSeal(where.slice('acct\u0000'.length)))).toBe(true);
      expect(await draft.keys()).toEqual(['balance']);
      expect(await draft.get('balance')).toBe(1);
      await draft.discard();
    });
  });
}
