import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildWrapperChain,
  Checkpointable,
  CheckpointError,
  CheckpointField,
  CheckpointManager,
  EncryptionWrapper,
  FileStorage,
  HmacWrapper,
  MemoryStorage,
  registerCheckpointing,
  type CheckpointErrorKind,
  type Storage,
  type WrapperConfig,
} from 'checkpointable';
import { PostgresStorage } from 'checkpointable/postgres';
import { RedisStorage } from 'checkpointable/redis';
import { INVALID_NAMES } from 'checkpointable/testing';
import { container } from 'tsyringe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exactMismatch } from '../fixtures/reliability/exact';

/**
 * The bad-input catalogue: every bad input the storage contract names, each with the
 * error kind it must raise. After every row, every checkpoint committed before it must
 * still read back exactly, and no checkpoint may have appeared or vanished.
 */

const HMAC_KEY = 'h'.repeat(32);
const ENCRYPTION_KEY = 'e'.repeat(32);
/** The recommended chain (innermost first), as a service configures it. */
const CHAIN: WrapperConfig[] = [
  'checksum',
  { hmac: { key: HMAC_KEY } },
  { encrypt: { key: ENCRYPTION_KEY } },
  'guard',
];
const REVERSED: WrapperConfig[] = [
  { encrypt: { key: ENCRYPTION_KEY } },
  { hmac: { key: HMAC_KEY } },
  'checksum',
  'guard',
];

@Checkpointable({ name: 'BadInputWidget', version: 1 })
class Widget {
  @CheckpointField() label!: string;
  @CheckpointField() made!: Date;
}

class NotRegistered {
  x = 1;
}

interface Context {
  root: string;
  dir: string;
  /** The chain over the store every committed checkpoint lives in. */
  storage: Storage;
  /** The same folder with no wrappers, to plant raw bytes. */
  bare: FileStorage;
  manager: CheckpointManager;
}

const KEPT: Record<string, Record<string, unknown>> = {
  'keep-plain': { a: { n: 1, at: new Date(7) }, b: new Map([[1, new Set(['x'])]]) },
  'keep-bytes': { blob: Buffer.from('raw bytes') },
};

const ctx = {} as Context;
let planted = 0;

beforeAll(async () => {
  ctx.root = mkdtempSync(join(tmpdir(), 'cp-bad-input-'));
  ctx.dir = join(ctx.root, 'store');
  ctx.bare = await FileStorage.openRaw(ctx.dir);
  ctx.storage = buildWrapperChain(await FileStorage.openRaw(ctx.dir), CHAIN);
  ctx.manager = new CheckpointManager(ctx.storage);
  for (const [id, values] of Object.entries(KEPT)) {
    const draft = await ctx.storage.createCheckpoint(id);
    for (const [key, value] of Object.entries(values)) await draft.put(key, value);
    await (await ctx.storage.commitCheckpoint(draft)).release();
  }
  await ctx.manager.save('keep-manager', {
    widget: Object.assign(new Widget(), { label: 'w', made: new Date(9) }),
  });
});

afterAll(async () => {
  await ctx.manager.close();
  await ctx.bare.close();
  rmSync(ctx.root, { recursive: true, force: true });
});

/** Commits raw `bytes` under `key` of a new checkpoint, below every wrapper. */
async function plant(bytes: Uint8Array, key = 'v'): Promise<string> {
  const id = `planted-${planted++}`;
  const draft = await ctx.bare.createCheckpoint(id);
  await draft.putBytes(key, bytes);
  await (await ctx.bare.commitCheckpoint(draft)).release();
  return id;
}

/** Codec bytes around a JSON text (layout in src/codec/format.ts). */
function codecBytes(json: string): Buffer {
  const text = Buffer.from(json, 'utf8');
  const header = Buffer.from('CPV\u0001\0\0\0\0', 'latin1');
  header.writeUInt32LE(text.length, 4);
  return Buffer.concat([header, text, Buffer.alloc(4)]);
}

async function readThrough(storage: Storage, id: string, key = 'v'): Promise<unknown> {
  const saved = await storage.loadCheckpoint(id);
  try {
    return await saved.get(key);
  } finally {
    await saved.release();
  }
}

/** Writes `value` under key 'v' of a new checkpoint through `chain` over the store's folder. */
async function writeThrough(chain: WrapperConfig[], value: unknown): Promise<string> {
  const id = `planted-${planted++}`;
  const storage = buildWrapperChain(await FileStorage.openRaw(ctx.dir), chain);
  const draft = await storage.createCheckpoint(id);
  await draft.put('v', value);
  await (await storage.commitCheckpoint(draft)).release();
  await storage.close();
  return id;
}

async function withChain<T>(chain: WrapperConfig[], work: (s: Storage) => Promise<T>): Promise<T> {
  const storage = buildWrapperChain(await FileStorage.openRaw(ctx.dir), chain);
  try {
    return await work(storage);
  } finally {
    await storage.close();
  }
}

/**
 * Runs `work` and rethrows its error only when the message names `reason`, so a row whose
 * kind could also come from something else (an unreachable server) proves the right cause.
 */
async function because(reason: RegExp, work: () => Promise<unknown>): Promise<unknown> {
  try {
    return await work();
  } catch (error) {
    if (reason.test((error as Error).message)) throw error;
    throw new Error(`failed for another reason than ${reason}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

type Row = [string, CheckpointErrorKind | CheckpointErrorKind[], () => Promise<unknown>];

const invalidNames: unknown[] = [...INVALID_NAMES.map(([, name]) => name), 42, undefined, null];
const show = (name: unknown) =>
  typeof name === 'string'
    ? JSON.stringify(name.length > 20 ? name.slice(0, 20) + '...' : name)
    : String(name);

const CATALOGUE: Row[] = [
  // Identifiers and keys, checked before any I/O, the same on every backend.
  ...invalidNames.flatMap((name): Row[] => [
    [
      `createCheckpoint(${show(name)})`,
      'InvalidIdentifier',
      () => ctx.storage.createCheckpoint(name as string),
    ],
    [
      `loadCheckpoint(${show(name)})`,
      'InvalidIdentifier',
      () => ctx.storage.loadCheckpoint(name as string),
    ],
    [
      `removeCheckpoint(${show(name)})`,
      'InvalidIdentifier',
      () => ctx.storage.removeCheckpoint(name as string),
    ],
    [
      `manager.save(${show(name)})`,
      'InvalidIdentifier',
      () => ctx.manager.save(name as string, { a: 1 }),
    ],
    [
      `put(key ${show(name)})`,
      'InvalidIdentifier',
      async () => {
        await using draft = await ctx.storage.createCheckpoint(`draft-${planted++}`);
        await draft.put(name as string, 1);
      },
    ],
    [
      `get(key ${show(name)}) of a committed checkpoint`,
      'InvalidIdentifier',
      async () => {
        await using saved = await ctx.storage.loadCheckpoint('keep-plain');
        await saved.get(name as string);
      },
    ],
  ]),
  // Values the codec cannot store.
  ...(
    [
      ['a function', () => 1],
      ['a symbol', Symbol('s')],
      ['a WeakMap', new WeakMap()],
      ['a Promise', Promise.resolve(1)],
      ['an unregistered class instance', new NotRegistered()],
      ['an own __proto__ property', JSON.parse('{"__proto__":{"polluted":true}}')],
    ] as [string, unknown][]
  ).flatMap(([what, value]): Row[] => [
    [
      `put of ${what}, nested`,
      'Serialize',
      async () => {
        await using draft = await ctx.storage.createCheckpoint(`draft-${planted++}`);
        await draft.put('v', { order: { items: [{ callback: value }] } });
      },
    ],
    [
      `manager.save of ${what}`,
      'Serialize',
      () => ctx.manager.save(`m-${planted++}`, { v: { x: value } }),
    ],
  ]),
  [
    'putBytes of a string',
    'Serialize',
    async () => {
      await using draft = await ctx.storage.createCheckpoint(`draft-${planted++}`);
      await draft.putBytes('v', 'not bytes' as unknown as Uint8Array);
    },
  ],
  [
    'manager.save of an array of values',
    'Serialize',
    () => ctx.manager.save(`m-${planted++}`, [1] as never),
  ],
  // Unknown checkpoints and keys.
  ['loadCheckpoint of an unknown identifier', 'NotFound', () => ctx.storage.loadCheckpoint('nope')],
  [
    'removeCheckpoint of an unknown identifier',
    'NotFound',
    () => ctx.storage.removeCheckpoint('nope'),
  ],
  ['manager.restore of an unknown identifier', 'NotFound', () => ctx.manager.restore('nope', 'v')],
  [
    'get of an unknown key',
    'KeyNotFound',
    async () => {
      await using saved = await ctx.storage.loadCheckpoint('keep-plain');
      await saved.get('missing');
    },
  ],
  [
    'manager.restore of an unknown key',
    'KeyNotFound',
    () => ctx.manager.restore('keep-manager', 'missing'),
  ],
  // Existing identifiers, used-up handles, held checkpoints.
  [
    'createCheckpoint of a committed identifier',
    'AlreadyExists',
    () => ctx.storage.createCheckpoint('keep-plain'),
  ],
  [
    'manager.save over a committed identifier',
    'AlreadyExists',
    () => ctx.manager.save('keep-plain', { a: 1 }),
  ],
  [
    'commit of an identifier committed meanwhile (two storages)',
    'AlreadyExists',
    async () => {
      const id = `race-${planted++}`;
      const late = await ctx.bare.createCheckpoint(id);
      await late.put('v', 'loser');
      const early = await ctx.bare.createCheckpoint(id);
      await early.put('v', 'winner');
      await (await ctx.bare.commitCheckpoint(early)).release();
      try {
        await ctx.bare.commitCheckpoint(late);
      } finally {
        await late.discard();
      }
    },
  ],
  [
    'put on a handle after commit',
    'Released',
    async () => {
      const draft = await ctx.storage.createCheckpoint(`used-${planted++}`);
      await (await ctx.storage.commitCheckpoint(draft)).release();
      await draft.put('v', 1);
    },
  ],
  [
    'get on a handle after release',
    'Released',
    async () => {
      const saved = await ctx.storage.loadCheckpoint('keep-plain');
      await saved.release();
      await saved.get('a');
    },
  ],
  [
    'removeCheckpoint while a handle holds it',
    'InUse',
    async () => {
      await using _held = await ctx.storage.loadCheckpoint('keep-bytes');
      await ctx.storage.removeCheckpoint('keep-bytes');
    },
  ],
  [
    'commit of a handle made by another storage',
    'Other',
    async () => {
      const other = new MemoryStorage();
      const foreign = await other.createCheckpoint('foreign');
      await ctx.storage.commitCheckpoint(foreign);
    },
  ],
  [
    'any call on a closed storage',
    'Released',
    async () => {
      const storage = await FileStorage.open(ctx.dir);
      await storage.close();
      await storage.checkpointIdentifiers();
    },
  ],
  // Keys too short, bad configuration, media that cannot start.
  [
    'HmacWrapper with a 15-byte key',
    'Initialization',
    async () => HmacWrapper.wrap(new MemoryStorage(), 'k'.repeat(15)),
  ],
  [
    'EncryptionWrapper with a 15-byte key',
    'Initialization',
    async () => EncryptionWrapper.wrap(new MemoryStorage(), Buffer.alloc(15, 1)),
  ],
  [
    'HmacWrapper keyring whose active key is not listed',
    'Initialization',
    async () => HmacWrapper.wrap(new MemoryStorage(), { active: 'k2', keys: { k1: HMAC_KEY } }),
  ],
  [
    'wrapper chain with an unknown wrapper name',
    'Initialization',
    async () => buildWrapperChain(new MemoryStorage(), ['compress' as never]),
  ],
  [
    'wrapper chain entry with a short key',
    'Initialization',
    async () => buildWrapperChain(new MemoryStorage(), [{ hmac: { key: 'short' } }]),
  ],
  [
    'FileStorage.open on a file',
    'Initialization',
    async () => {
      const file = join(ctx.root, 'a-file');
      writeFileSync(file, 'x');
      await FileStorage.open(file);
    },
  ],
  [
    'FileStorage.open on a folder that is not a store',
    'Initialization',
    async () => {
      const folder = join(ctx.root, 'someone-elses');
      mkdirSync(folder, { recursive: true });
      writeFileSync(join(folder, 'photo.jpg'), 'x');
      await FileStorage.open(folder);
    },
  ],
  [
    'FileStorage durability "sometimes"',
    'Initialization',
    () => FileStorage.open(ctx.dir, { durability: 'sometimes' as never }),
  ],
  [
    'PostgresStorage.open on a port nobody listens on',
    'Initialization',
    () =>
      PostgresStorage.open({
        connectionString: 'postgres://postgres@127.0.0.1:1/test',
        connectTimeoutMs: 2000,
      }),
  ],
  [
    'RedisStorage.open on a port nobody listens on',
    'Initialization',
    () => RedisStorage.open({ url: 'redis://127.0.0.1:1', connectTimeoutMs: 2000 }),
  ],
  [
    'PostgresStorage.open with a table name holding a quote',
    'Initialization',
    () =>
      because(/table/i, () =>
        PostgresStorage.open({
          connectionString: 'postgres://postgres@127.0.0.1:1/test',
          table: 'bad"name',
        }),
      ),
  ],
  [
    'RedisStorage.open with a prefix holding a control character',
    'Initialization',
    () =>
      because(/prefix/i, () =>
        RedisStorage.open({ url: 'redis://127.0.0.1:1', prefix: 'bad\u0001prefix:' }),
      ),
  ],
  // PostgreSQL and Redis: foreign or damaged data on a live server (a table or prefix
  // of the row's own, removed afterwards; see test/fixtures/db/scratch-stores.ts).
  [
    'RedisStorage.open where the index key is a string another program wrote',
    'Initialization',
    async () => {
      const { REDIS_URL, withRedisPrefix } = await import('../fixtures/db/scratch-stores');
      await withRedisPrefix(async (prefix, admin) => {
        await admin.set(`${prefix}index`, 'not a hash');
        await because(/holds a string/, () => RedisStorage.open({ url: REDIS_URL, prefix }));
      });
    },
  ],
  [
    'RedisStorage load of an index entry whose time is not a number',
    'Deserialize',
    async () => {
      const { REDIS_URL, withRedisPrefix } = await import('../fixtures/db/scratch-stores');
      await withRedisPrefix(async (prefix, admin) => {
        await admin.hset(`${prefix}index`, 'tampered', 'abc.0 soon');
        const storage = await RedisStorage.open({ url: REDIS_URL, prefix });
        try {
          await because(/is damaged/, () => storage.loadCheckpoint('tampered'));
        } finally {
          await storage.close();
        }
      });
    },
  ],
  [
    'PostgresStorage commit of a value over the largest value it stores',
    'Other',
    async () => {
      const { DATABASE_URL, withPostgresTable } = await import('../fixtures/db/scratch-stores');
      await withPostgresTable(async (table) => {
        const storage = await PostgresStorage.openRaw({ connectionString: DATABASE_URL, table });
        try {
          storage.maxValueBytes = 16;
          const draft = await storage.createCheckpoint('too-big');
          await draft.putBytes('blob', new Uint8Array(17));
          await because(/more than the 16 bytes/, () => storage.commitCheckpoint(draft));
        } finally {
          await storage.close();
        }
      });
    },
  ],
  [
    'registerCheckpointing with an unknown storage URL scheme',
    'Initialization',
    () =>
      registerCheckpointing(container.createChildContainer(), { storage: 'ftp://example.com/x' }),
  ],
  [
    'registerCheckpointing with a wrapper chain holding a short key',
    'Initialization',
    () =>
      registerCheckpointing(container.createChildContainer(), {
        storage: 'memory:',
        wrappers: [{ hmac: { key: 'short' } }],
      }),
  ],
  // Data written through one chain and read through another, or by another program.
  [
    'wrong wrapper order: written checksum,hmac,encrypt, read encrypt,hmac,checksum',
    ['Integrity', 'Deserialize'],
    async () => withChain(REVERSED, async (s) => readThrough(s, 'keep-plain', 'a')),
  ],
  [
    'wrapped data read with no wrappers',
    ['Integrity', 'Deserialize'],
    () => readThrough(ctx.bare, 'keep-plain', 'a'),
  ],
  [
    'unwrapped data read through the chain',
    ['Integrity', 'Deserialize'],
    async () => readThrough(ctx.storage, await writeThrough([], { plain: true })),
  ],
  [
    'data written with another HMAC key',
    'Integrity',
    async () =>
      readThrough(
        ctx.storage,
        await writeThrough(
          ['checksum', { hmac: { key: 'x'.repeat(32) } }, { encrypt: { key: ENCRYPTION_KEY } }],
          1,
        ),
      ),
  ],
  [
    'data written with another encryption key',
    'Integrity',
    async () =>
      readThrough(
        ctx.storage,
        await writeThrough(
          ['checksum', { hmac: { key: HMAC_KEY } }, { encrypt: { key: 'y'.repeat(32) } }],
          1,
        ),
      ),
  ],
  [
    'unknown envelope: bytes with an unknown magic',
    ['Integrity', 'Deserialize'],
    async () => readThrough(ctx.storage, await plant(Buffer.from('ZZZZ\u0001\u0001 whatever'))),
  ],
  [
    'unknown envelope: empty bytes',
    ['Integrity', 'Deserialize'],
    async () => readThrough(ctx.storage, await plant(Buffer.alloc(0))),
  ],
  [
    'unknown envelope: checksum magic with format version 99',
    ['Integrity', 'Deserialize'],
    async () =>
      readThrough(
        ctx.storage,
        await plant(
          Buffer.concat([Buffer.from('CPCK', 'latin1'), Buffer.from([99, 1]), Buffer.alloc(40)]),
        ),
      ),
  ],
  [
    'codec bytes with an unknown codec id',
    'Deserialize',
    async () =>
      readThrough(ctx.bare, await plant(Buffer.from('CPV\u0007\0\0\0\0\0\0\0\0', 'latin1'))),
  ],
  // Classes: unregistered, mismatched, newer than the code.
  [
    'stored instance of an unregistered class',
    'Deserialize',
    async () =>
      readThrough(ctx.bare, await plant(codecBytes('["\\u0000C","GhostClass",1,{"x":1}]'))),
  ],
  [
    'stored instance of a registered class at a newer version',
    'Version',
    async () =>
      readThrough(
        ctx.bare,
        await plant(codecBytes('["\\u0000C","BadInputWidget",7,{"label":"x"}]')),
      ),
  ],
  [
    'manager.restore of a newer version',
    'Version',
    async () => {
      const id = await writeThrough(CHAIN.slice(0, 3), 0);
      // Replace the value by a newer Widget, written properly through the same chain.
      await ctx.bare.removeCheckpoint(id);
      return withChain(CHAIN.slice(0, 3), async (s) => {
        const draft = await s.createCheckpoint(id);
        await draft.putBytes('widget', codecBytes('["\\u0000C","BadInputWidget",2,{"label":"x"}]'));
        await (await s.commitCheckpoint(draft)).release();
        return ctx.manager.restore(id, 'widget', Widget);
      });
    },
  ],
  [
    'get as a different class than stored',
    'Deserialize',
    async () => {
      await using saved = await ctx.storage.loadCheckpoint('keep-plain');
      await saved.get('a', Widget);
    },
  ],
  [
    'get as Date of a stored Map',
    'Deserialize',
    async () => {
      await using saved = await ctx.storage.loadCheckpoint('keep-plain');
      await saved.get('b', Date);
    },
  ],
  // Codec limits and stored class data (one block).
  [
    'stored instance with a negative class version',
    'Deserialize',
    async () =>
      readThrough(
        ctx.bare,
        await plant(codecBytes('["\\u0000C","BadInputWidget",-5,{"label":"x"}]')),
      ),
  ],
  [
    'stored instance with a field the class does not declare',
    'Version',
    async () =>
      readThrough(
        ctx.bare,
        await plant(codecBytes('["\\u0000C","BadInputWidget",1,{"label":"x","fullName":"y"}]')),
      ),
  ],
  [
    'codec bytes naming one blob a thousand times',
    'Deserialize',
    async () => {
      const json = Buffer.from(JSON.stringify(Array.from({ length: 1000 }, () => '\u0000x0')));
      const sizes = Buffer.alloc(12);
      sizes.writeUInt32LE(json.length, 0);
      sizes.writeUInt32LE(1, 4);
      sizes.writeUInt32LE(65536, 8);
      const bytes = Buffer.concat([
        Buffer.from('CPV\u0001', 'latin1'),
        sizes.subarray(0, 4),
        json,
        sizes.subarray(4),
        Buffer.alloc(65536),
      ]);
      return readThrough(ctx.bare, await plant(bytes));
    },
  ],
  [
    'a stored bigint of 5,000,000 digits',
    'Deserialize',
    async () =>
      readThrough(ctx.bare, await plant(codecBytes(`"\\u0000b${'7'.repeat(5_000_000)}"`))),
  ],
  [
    'codec bytes nested 1,000,000 deep',
    'Deserialize',
    async () => readThrough(ctx.bare, await plant(codecBytes('['.repeat(1e6) + ']'.repeat(1e6)))),
  ],
  [
    'put of a bigint of more than 1,000,000 digits',
    'Serialize',
    async () => {
      await using draft = await ctx.storage.createCheckpoint(`draft-${planted++}`);
      await draft.put('v', { n: 10n ** 1_000_000n });
    },
  ],
  [
    'put of a value whose getter throws',
    'Serialize',
    async () => {
      await using draft = await ctx.storage.createCheckpoint(`draft-${planted++}`);
      await draft.put('v', {
        get broken(): never {
          throw new RangeError('Invalid string length');
        },
      });
    },
  ],
  [
    'decorator misuse: a field whose type cannot be known (a union)',
    'Metadata',
    async () => {
      @Checkpointable({ name: `BadInputUnion${planted++}` })
      class Union {
        @CheckpointField() value!: string | number;
      }
      await ctx.manager.save(`m-${planted++}`, { v: Object.assign(new Union(), { value: 1 }) });
    },
  ],
];

describe('bad input catalogue (recommended chain over a durable FileStorage)', () => {
  it.each(CATALOGUE)('%s -> %s', async (_input, kind, run) => {
    const before = await ctx.storage.checkpointIdentifiers();
    let caught: unknown;
    try {
      await run();
    } catch (error) {
      caught = error;
    }
    expect(caught, 'expected a CheckpointError').toBeInstanceOf(CheckpointError);
    const kinds = Array.isArray(kind) ? kind : [kind];
    expect(kinds, (caught as Error).message).toContain((caught as CheckpointError).kind);
    expect((caught as Error).message.length).toBeGreaterThan(20);

    // Everything committed before still reads exactly; nothing vanished.
    const after = await ctx.storage.checkpointIdentifiers();
    for (const id of before) expect(after, `${id} vanished`).toContain(id);
    for (const [id, values] of Object.entries(KEPT)) {
      await using saved = await ctx.storage.loadCheckpoint(id);
      expect(await saved.keys()).toEqual(Object.keys(values).sort());
      for (const [key, value] of Object.entries(values)) {
        expect(exactMismatch(await saved.get(key), value), `${id}/${key}`).toBeUndefined();
      }
    }
    const widget = await ctx.manager.restore('keep-manager', 'widget', Widget);
    expect(widget).toBeInstanceOf(Widget);
    expect(widget.made.getTime()).toBe(9);
    // Nothing half-made is left: only rows that plant data add checkpoints, and only whole.
    for (const id of after.filter((x) => !before.includes(x))) {
      expect(id).toMatch(/^(planted|race|used)-\d+$/);
    }
  });
});
