import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CheckpointError } from '../errors';
import { MemoryStorage } from '../storage/memory-storage';
import type { Storage } from '../storage/storage';
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

  describe(`wrapper suite: ${name}`, () => {
    let inner: Storage;
    let tap: EnvelopeTap;
    let storage: Storage;

    beforeEach(async () => {
      inner = options.createInner ? await options.createInner() : new MemoryStorage();
      tap = new EnvelopeTap(inner);
      storage = options.wrap(tap);
    });

    afterEach(async () => {
      await storage.close();
    });

    async function commit(
      through: Storage,
      identifier: string,
      values: Record<string, unknown>,
    ): Promise<void> {
      const draft = await through.createCheckpoint(identifier);
      for (const [key, value] of Object.entries(values)) {
        if (value instanceof Uint8Array) await draft.putBytes(key, value);
        else await draft.put(key, value);
      }
      await (await through.commitCheckpoint(draft)).release();
    }

    async function read(through: Storage, identifier: string, key: string): Promise<unknown> {
      const loaded = await through.loadCheckpoint(identifier);
      try {
        return await loaded.get(key);
      } finally {
        await loaded.release();
      }
    }

    /** A failure must be Integrity/Deserialize, name the value, and show no secret. */
    function checkFailure(error: CheckpointError, identifier: string, key: string): void {
      expect(['Integrity', 'Deserialize']).toContain(error.kind);
      expect(error.identifier).toBe(identifier);
      expect(error.key).toBe(key);
      expect(error.message).toContain(JSON.stringify(identifier));
      expect(error.message).toContain(JSON.stringify(key));
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
        expect(envelope[4]).toBe(1); // format version
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
        tap.onRead = (_id, _key, bytes) => {
          const damaged = bytes.slice();
          damaged[damaged.length >> 1] ^= 0x10;
          return damaged;
        };
        const error = await rejection(read(storage, 'big', 'v'), 'damaged 10 MB value');
        tap.onRead = undefined;
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
            tap.onRead = (_id, _key, bytes) => {
              const damaged = bytes.slice();
              damaged[i] ^= mask;
              return damaged;
            };
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

      it(
        options.bindsLocation
          ? 'refuses a value moved to another key'
          : 'does not bind values to their key (documented limit)',
        async () => {
          const fromA = tap.envelope('one', 'a');
          tap.onRead = (id, key, bytes) => (id === 'one' && key === 'b' ? fromA : bytes);
          if (options.bindsLocation) {
            const error = await rejection(read(storage, 'one', 'b'), 'value moved between keys');
            checkFailure(error, 'one', 'b');
            expect(error.kind).toBe('Integrity');
          } else {
            expect(await read(storage, 'one', 'b')).toBe('value of a');
          }
          tap.onRead = undefined;
          expect(await read(storage, 'one', 'b')).toBe('value of b');
        },
      );

      it(
        options.bindsLocation
          ? 'refuses a value moved to another checkpoint'
          : 'does not bind values to their checkpoint (documented limit)',
        async () => {
          const fromTwo = tap.envelope('two', 'a');
          tap.onRead = (id, key, bytes) => (id === 'one' && key === 'a' ? fromTwo : bytes);
          if (options.bindsLocation) {
            const error = await rejection(
              read(storage, 'one', 'a'),
              'value moved between checkpoints',
            );
            checkFailure(error, 'one', 'a');
            expect(error.kind).toBe('Integrity');
          } else {
            expect(await read(storage, 'one', 'a')).toBe('value of two/a');
          }
          tap.onRead = undefined;
          expect(await read(storage, 'one', 'a')).toBe('value of a');
        },
      );
    });

    if (options.wrapWithOtherKey) {
      const wrapWithOtherKey = options.wrapWithOtherKey;
      it('refuses to read with a wrong key', async () => {
        await commit(storage, 'keyed', { v: SMALL });
        const other = wrapWithOtherKey(inner);
        const error = await rejection(read(other, 'keyed', 'v'), 'wrong key');
        checkFailure(error, 'keyed', 'v');
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
        checkFailure(error, 'old', 'v');
        expect(error.kind).toBe('Integrity');
        expect(error.message).toContain(`key id ${JSON.stringify(oldKeyId)}`);
        expect(error.message).toContain('Add the key');
        // A writer that never knew the new key cannot read what the new key wrote.
        const stale = await rejection(read(before(inner), 'new', 'v'), 'new key unknown');
        checkFailure(stale, 'new', 'v');
      });
    }
  });
}
