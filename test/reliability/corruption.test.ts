import { randomBytes } from 'node:crypto';
import { promises as fs, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildWrapperChain,
  CheckpointError,
  FileStorage,
  MemoryStorage,
  type Storage,
  type WrapperConfig,
} from 'checkpointable';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { postgresAnswers, TestTables } from '../postgres/postgres-server';
import { redisAnswers, TestPrefixes } from '../redis/redis-server';
import { openBackend } from '../fixtures/reliability/backends';
import { exactMismatch } from '../fixtures/reliability/exact';
import { buildPack, readPackHeader } from '../../src/file/file-pack';

const STRESS = process.env.STRESS === '1';
const RUNS = STRESS ? 1000 : 100;
/** Not a speed limit: only a guard against a hang, sized for the stress run. */
const HANG_GUARD_MS = STRESS ? 3600_000 : 600_000;

const HMAC_KEY = randomBytes(32);
const ENCRYPTION_KEY = randomBytes(32);

/** The chains under test, innermost first, and whether they bind a value to its place. */
const CHAINS: [string, WrapperConfig[], boolean][] = [
  ['checksum', ['checksum'], false],
  ['hmac', [{ hmac: { key: HMAC_KEY } }], true],
  ['encrypt', [{ encrypt: { key: ENCRYPTION_KEY } }], true],
  [
    'checksum+hmac+encrypt',
    ['checksum', { hmac: { key: HMAC_KEY } }, { encrypt: { key: ENCRYPTION_KEY } }],
    true,
  ],
];

/**
 * A medium with a way to reach under the wrappers: read the bytes stored for a key and
 * replace them, as disk damage, a bad backup or an attacker with write access would.
 */
interface Medium {
  bare: Storage;
  rawBytes(identifier: string, key: string): Promise<Buffer>;
  replaceBytes(identifier: string, key: string, bytes: Uint8Array): Promise<void>;
  /**
   * The damaged bytes include the medium's own unauthenticated metadata (a pack header's
   * `createdAt`), so damage there may leave the value intact: then the exact original value,
   * under the right identifier, is an acceptable answer; any other value never is.
   */
  metadataInBytes?: boolean;
  close(): Promise<void>;
}

/** Damage done through the bare storage: the checkpoint is rewritten with other bytes. */
function throughBareStorage(bare: Storage): Medium {
  return {
    bare,
    async rawBytes(identifier, key) {
      const saved = await bare.loadCheckpoint(identifier);
      try {
        return Buffer.from(await saved.getBytes(key));
      } finally {
        await saved.release();
      }
    },
    async replaceBytes(identifier, key, bytes) {
      // Only `key` changes: the checkpoint's other keys (a sealing wrapper's seal among
      // them) are written back as they were.
      const others = new Map<string, Uint8Array>();
      const saved = await bare.loadCheckpoint(identifier);
      try {
        for (const other of await saved.keys()) {
          if (other !== key) others.set(other, await saved.getBytes(other));
        }
      } finally {
        await saved.release();
      }
      await bare.removeCheckpoint(identifier);
      const draft = await bare.createCheckpoint(identifier);
      for (const [other, kept] of others) await draft.putBytes(other, kept);
      await draft.putBytes(key, bytes);
      await (await bare.commitCheckpoint(draft)).release();
    },
    close: () => bare.close(),
  };
}

/**
 * Damage done to the files themselves, under a FileStorage folder. The pack is rebuilt
 * around the damaged value with a consistent header, as an attacker who knows the format
 * would, so that it is the wrapper (not the pack's own size check) that must notice.
 */
async function fileMedium(dir: string): Promise<Medium> {
  const bare = await FileStorage.openRaw(dir, { durability: 'atomic' });
  // Identifiers here are plain ASCII, so the file name is the identifier itself.
  const packOf = async (identifier: string) => {
    const path = join(dir, 'committed', identifier);
    const file = await fs.readFile(path);
    const header = await readPackHeader(path, file.length, async (at, n) =>
      file.subarray(at, at + n),
    );
    const values = new Map<string, Uint8Array>();
    for (const [key, [offset, length]] of header.keys) {
      values.set(key, file.subarray(header.dataStart + offset, header.dataStart + offset + length));
    }
    return { path, header, values };
  };
  return {
    bare,
    rawBytes: async (identifier, key) => Buffer.from((await packOf(identifier)).values.get(key)!),
    replaceBytes: async (identifier, key, bytes) => {
      const { path, header, values } = await packOf(identifier);
      values.set(key, bytes);
      const { chunks } = buildPack(header.identifier, new Date(header.createdAt), values);
      await fs.writeFile(path, Buffer.concat(chunks));
    },
    close: () => bare.close(),
  };
}

/**
 * Damage done to a whole pack file on disk, header included, as a failing disk or a bad
 * copy would: FileStorage's own pack checks and the wrappers together must refuse it.
 * "The bytes of a key" here are the whole file of its checkpoint.
 */
async function wholeFileMedium(dir: string): Promise<Medium> {
  const bare = await FileStorage.openRaw(dir, { durability: 'atomic' });
  const path = (identifier: string) => join(dir, 'committed', identifier);
  return {
    bare,
    metadataInBytes: true,
    rawBytes: async (identifier) => fs.readFile(path(identifier)),
    replaceBytes: async (identifier, _key, bytes) => fs.writeFile(path(identifier), bytes),
    close: () => bare.close(),
  };
}

const root = mkdtempSync(join(tmpdir(), 'cp-corrupt-'));
const tables = new TestTables();
const prefixes = new TestPrefixes();
let dirs = 0;
afterAll(async () => {
  rmSync(root, { recursive: true, force: true });
  await tables.dropAll();
  await prefixes.dropAll();
});

const MEDIA: [string, () => boolean, () => Promise<Medium>][] = [
  ['MemoryStorage', () => true, async () => throughBareStorage(new MemoryStorage())],
  ['FileStorage (bytes edited on disk)', () => true, () => fileMedium(join(root, `d${dirs++}`))],
  [
    'FileStorage (whole pack file damaged on disk)',
    () => true,
    () => wholeFileMedium(join(root, `d${dirs++}`)),
  ],
  [
    'PostgresStorage',
    postgresAnswers,
    async () => throughBareStorage(await openBackend('postgres', tables.next(), true)),
  ],
  [
    'RedisStorage',
    redisAnswers,
    async () => throughBareStorage(await openBackend('redis', prefixes.next(), true)),
  ],
];

type Damage =
  | { kind: 'flip'; flips: [number, number][] }
  | { kind: 'truncate'; length: number }
  | { kind: 'splice'; start: number; end: number; insert: Uint8Array }
  | { kind: 'append'; extra: Uint8Array }
  | { kind: 'moved'; from: 'other checkpoint' | 'other key' };

function damageArbitrary(binds: boolean): fc.Arbitrary<Damage> {
  const kinds: fc.Arbitrary<Damage>[] = [
    fc
      .array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 })
      .map((flips) => ({ kind: 'flip' as const, flips })),
    fc.nat().map((length) => ({ kind: 'truncate' as const, length })),
    fc
      .tuple(fc.nat(), fc.nat(), fc.uint8Array({ maxLength: 24 }))
      .map(([start, end, insert]) => ({ kind: 'splice' as const, start, end, insert })),
    fc
      .uint8Array({ minLength: 1, maxLength: 16 })
      .map((extra) => ({ kind: 'append' as const, extra })),
  ];
  // A checksum does not bind a value to its place (DESIGN.md section 4); HMAC and GCM do.
  if (binds) {
    kinds.push(
      fc
        .constantFrom('other checkpoint' as const, 'other key' as const)
        .map((from) => ({ kind: 'moved' as const, from })),
    );
  }
  return fc.oneof(...kinds);
}

function applyDamage(original: Buffer, damage: Damage, moved: Record<string, Buffer>): Buffer {
  switch (damage.kind) {
    case 'flip': {
      const out = Buffer.from(original);
      for (const [at, mask] of damage.flips) out[at % out.length] ^= mask;
      return out;
    }
    case 'truncate':
      return original.subarray(0, damage.length % original.length);
    case 'splice': {
      const a = damage.start % (original.length + 1);
      const b = damage.end % (original.length + 1);
      const [from, to] = a <= b ? [a, b] : [b, a];
      return Buffer.concat([original.subarray(0, from), damage.insert, original.subarray(to)]);
    }
    case 'append':
      return Buffer.concat([original, damage.extra]);
    case 'moved':
      return moved[damage.from];
  }
}

const VALUE = {
  order: 'order-42',
  placedAt: new Date(Date.UTC(2025, 5, 1)),
  lines: new Map([
    ['sku-1', { quantity: 2, price: 9.99 }],
    ['sku-2', { quantity: 1, price: 120n }],
  ]),
  flags: new Set(['gift']),
};
const OTHER_VALUE = { ...VALUE, order: 'order-43' };

let casesTried = 0;
/** Whole-file damage that hit only unauthenticated pack metadata and left the value exact. */
let metadataOnly = 0;
afterAll(() =>
  console.log(
    `corruption: cases tried=${casesTried}, a CheckpointError in all but ${metadataOnly} whole-file cases that changed only pack metadata and read back the exact value, ` +
      'and none served under another identifier',
  ),
);

for (const [mediumName, available, openMedium] of MEDIA) {
  describe.runIf(available())(`corruption under wrappers on ${mediumName}`, () => {
    for (const [chainName, config, binds] of CHAINS) {
      it(
        `${chainName}: damaged stored bytes are a CheckpointError, never another value`,
        async () => {
          const medium = await openMedium();
          const chain = buildWrapperChain(medium.bare, config);
          try {
            const victim = await chain.createCheckpoint('victim');
            await victim.put('v', VALUE);
            await victim.put('w', OTHER_VALUE);
            await (await chain.commitCheckpoint(victim)).release();
            const other = await chain.createCheckpoint('other');
            await other.put('v', OTHER_VALUE);
            await (await chain.commitCheckpoint(other)).release();
            const original = await medium.rawBytes('victim', 'v');
            const moved = {
              'other checkpoint': await medium.rawBytes('other', 'v'),
              'other key': await medium.rawBytes('victim', 'w'),
            };
            const readVictim = async () => {
              const saved = await chain.loadCheckpoint('victim');
              try {
                return { value: await saved.get('v'), identifier: saved.identifier };
              } finally {
                await saved.release();
              }
            };
            // The path itself works: the untouched bytes, written back, read exactly.
            await medium.replaceBytes('victim', 'v', original);
            expect(exactMismatch((await readVictim()).value, VALUE)).toBeUndefined();

            await fc.assert(
              // For whole-file media, "moved" puts the other checkpoint's whole pack here.
              fc.asyncProperty(damageArbitrary(binds), async (damage) => {
                const damaged = applyDamage(original, damage, moved);
                fc.pre(!damaged.equals(original));
                await medium.replaceBytes('victim', 'v', damaged);
                let caught: unknown;
                let value: unknown;
                let identifier: string | undefined;
                try {
                  ({ value, identifier } = await readVictim());
                } catch (error) {
                  caught = error;
                }
                casesTried++;
                if (
                  caught === undefined &&
                  medium.metadataInBytes &&
                  exactMismatch(value, VALUE) === undefined
                ) {
                  // A header naming another checkpoint is refused (Integrity), so an
                  // undetected case can only be one that still reads as the victim.
                  expect(identifier).toBe('victim');
                  metadataOnly++;
                  return;
                }
                expect(
                  caught,
                  `${JSON.stringify(damage)} returned ${exactMismatch(value, VALUE) === undefined ? 'the original value' : 'a different value'}`,
                ).toBeInstanceOf(CheckpointError);
                // A damaged key name in a pack header leaves the value unreachable: KeyNotFound.
                const kinds = medium.metadataInBytes
                  ? ['Integrity', 'Deserialize', 'KeyNotFound']
                  : ['Integrity', 'Deserialize'];
                expect(kinds).toContain((caught as CheckpointError).kind);
              }),
              { numRuns: RUNS },
            );
          } finally {
            await chain.close();
          }
        },
        HANG_GUARD_MS,
      );
    }
  });
}

describe('corruption: a pack file copied over another checkpoint on disk', () => {
  // Regression: doLoad once trusted the identifier in the pack header over the file name it
  // opened, so a copied pack was served as the other checkpoint and HMAC vouched for it.
  it('is refused as Integrity, even under HMAC, instead of served as the other checkpoint', async () => {
    const dir = join(root, `moved-${dirs++}`);
    const chain = buildWrapperChain(await FileStorage.openRaw(dir), [{ hmac: { key: HMAC_KEY } }]);
    try {
      for (const [id, value] of [
        ['victim', VALUE],
        ['other', OTHER_VALUE],
      ] as const) {
        const draft = await chain.createCheckpoint(id);
        await draft.put('v', value);
        await (await chain.commitCheckpoint(draft)).release();
      }
      await fs.copyFile(join(dir, 'committed', 'other'), join(dir, 'committed', 'victim'));
      let caught: unknown;
      try {
        const saved = await chain.loadCheckpoint('victim');
        await saved.get('v');
        await saved.release();
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(CheckpointError);
      expect((caught as CheckpointError).kind).toBe('Integrity');
      expect((caught as CheckpointError).message).toContain(
        'holds checkpoint "other": it was moved or copied there',
      );
    } finally {
      await chain.close();
    }
  });
});
