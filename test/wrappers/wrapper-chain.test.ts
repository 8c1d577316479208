import {
  buildWrapperChain,
  CheckpointError,
  ChecksumWrapper,
  EncryptionWrapper,
  FileStorage,
  GuardWrapper,
  HmacWrapper,
  MemoryStorage,
  RECOMMENDED_WRAPPER_ORDER,
  WrapperStorage,
  type Storage,
  type WrapperConfig,
} from 'checkpointable';
import { promises as fs, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RECOMMENDED_CHAIN } from './chains';
import { caught, KEY_A, KEY_B, KEYRINGS, SECRETS } from './test-keys';
import { buildPack, readPackHeader } from '../../src/file/file-pack';

/** The wrapper classes of a chain, outermost first, down to the medium. */
function layers(storage: Storage): string[] {
  const names: string[] = [];
  let at: Storage = storage;
  while (at instanceof WrapperStorage) {
    names.push(at.constructor.name);
    at = at.inner;
  }
  names.push(at.constructor.name);
  return names;
}

async function commit(storage: Storage, identifier: string, values: Record<string, unknown>) {
  const draft = await storage.createCheckpoint(identifier);
  for (const [key, value] of Object.entries(values)) await draft.put(key, value);
  await (await storage.commitCheckpoint(draft)).release();
}

async function read(storage: Storage, identifier: string, key: string): Promise<unknown> {
  const loaded = await storage.loadCheckpoint(identifier);
  try {
    return await loaded.get(key);
  } finally {
    await loaded.release();
  }
}

function initError(wrappers: unknown): CheckpointError {
  let error: unknown;
  try {
    buildWrapperChain(new MemoryStorage(), wrappers as WrapperConfig[]);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(CheckpointError);
  expect((error as CheckpointError).kind).toBe('Initialization');
  for (const secret of SECRETS) {
    expect((error as Error).message).not.toContain(Buffer.from(secret).toString());
  }
  return error as CheckpointError;
}

const VALID =
  "each entry is one of: 'guard', 'checksum', { checksum: { algorithm: 'sha256' | 'crc32' } }, { hmac: { key } }, { encrypt: { key } }.";

describe('buildWrapperChain', () => {
  it('nests the wrappers innermost first', () => {
    const chain = buildWrapperChain(new MemoryStorage(), RECOMMENDED_CHAIN);
    expect(layers(chain)).toEqual([
      'GuardWrapper',
      'EncryptionWrapper',
      'HmacWrapper',
      'ChecksumWrapper',
      'MemoryStorage',
    ]);
    expect(RECOMMENDED_WRAPPER_ORDER).toEqual(['checksum', 'hmac', 'encrypt', 'guard']);
    expect(
      layers(
        buildWrapperChain(new MemoryStorage(), ['guard', { checksum: { algorithm: 'crc32' } }]),
      ),
    ).toEqual(['ChecksumWrapper', 'GuardWrapper', 'MemoryStorage']);
  });

  it('returns the storage itself for an empty chain', () => {
    const storage = new MemoryStorage();
    expect(buildWrapperChain(storage, [])).toBe(storage);
  });

  it('builds the same bytes as wrapping by hand', async () => {
    const inner = new MemoryStorage();
    await commit(buildWrapperChain(inner, RECOMMENDED_CHAIN), 'by-config', { v: { x: 1 } });
    const byHand = GuardWrapper.wrap(
      EncryptionWrapper.wrap(HmacWrapper.wrap(ChecksumWrapper.wrap(inner), KEY_A), KEY_B),
    );
    expect(await read(byHand, 'by-config', 'v')).toEqual({ x: 1 });
  });

  it('refuses unknown names, naming the entry and listing the valid ones', () => {
    expect(initError(['checksum', 'encryption']).message).toBe(
      `The wrapper chain entry wrappers[1] is "encryption", which is not a wrapper name; ${VALID}`,
    );
    expect(initError([{ compress: {} }]).message).toBe(
      `The wrapper chain entry wrappers[0] is an object named "compress", which is not a wrapper name; ${VALID}`,
    );
    expect(initError(['hmac']).message).toBe(
      `The wrapper chain entry wrappers[0] is "hmac", which needs a key: write { hmac: { key } }; ${VALID}`,
    );
    expect(initError([{ encrypt: {} }]).message).toBe(
      `The wrapper chain entry wrappers[0] has no key: write { encrypt: { key: process.env.SOME_KEY } }; ${VALID}`,
    );
    expect(initError([null]).message).toContain('wrappers[0] is null');
    expect(initError(['guard', 42]).message).toContain('wrappers[1] is a number');
    expect(initError([{}]).message).toContain('wrappers[0] is an empty object');
    expect(initError([{ hmac: { key: KEY_A }, encrypt: { key: KEY_B } }]).message).toContain(
      'is an object with 2 properties ("hmac", "encrypt"); give each wrapper its own entry',
    );
    expect(initError([{ checksum: 'sha256' }]).message).toContain(
      'has `checksum` options that are not an object',
    );
    expect(initError('guard').message).toContain('must be an array');
  });

  it('never prints a string entry long enough to be a key', () => {
    // A key pasted into the list by mistake must not end up in logs.
    expect(initError(['checksum', KEY_A]).message).toBe(
      `The wrapper chain entry wrappers[1] is a string of ${KEY_A.length} characters (not shown: it could be a key), which is not a wrapper name; ${VALID}`,
    );
  });

  it('names the entry whose wrapper refused its options', () => {
    expect(initError(['checksum', { hmac: { key: 'short' } }]).message).toBe(
      'The wrapper chain entry wrappers[1]: HmacWrapper: the key "default" is shorter than 16 bytes; use at least 16 (better 32) random bytes, e.g. from `openssl rand -base64 32`.',
    );
    expect(initError([{ checksum: { algorithm: 'md5' } }]).message).toContain(
      'wrappers[0]: ChecksumWrapper: the algorithm "md5" is unknown',
    );
  });
});

describe('data written through one chain and read through another', () => {
  const chains: Record<string, WrapperConfig[]> = {
    bare: [],
    checksum: ['checksum'],
    hmac: [{ hmac: { key: KEY_A } }],
    encrypt: [{ encrypt: { key: KEY_B } }],
    'checksum, hmac': ['checksum', { hmac: { key: KEY_A } }],
    'hmac, checksum': [{ hmac: { key: KEY_A } }, 'checksum'],
    'hmac, encrypt': [{ hmac: { key: KEY_A } }, { encrypt: { key: KEY_B } }],
    'encrypt, hmac': [{ encrypt: { key: KEY_B } }, { hmac: { key: KEY_A } }],
    recommended: RECOMMENDED_CHAIN,
    'recommended reversed': [...RECOMMENDED_CHAIN].reverse(),
  };
  // Guard changes no bytes, so chains that differ only by it read each other's data.
  const bytesOf = (chain: WrapperConfig[]) => chain.filter((w) => w !== 'guard');
  const same = (a: WrapperConfig[], b: WrapperConfig[]) =>
    JSON.stringify(bytesOf(a)) === JSON.stringify(bytesOf(b));

  for (const [writer, writeChain] of Object.entries(chains)) {
    it(`fails cleanly, never with a wrong value, for data written through [${writer}]`, async () => {
      const inner = new MemoryStorage();
      const value = { order: 42, lines: ['a', 'b'] };
      await commit(buildWrapperChain(inner, writeChain), 'c', { v: value });
      for (const [reader, readChain] of Object.entries(chains)) {
        const result = await caught(read(buildWrapperChain(inner, readChain), 'c', 'v'));
        if (same(writeChain, readChain)) {
          expect(result, `[${reader}] reading its own data`).toBeUndefined();
          expect(await read(buildWrapperChain(inner, readChain), 'c', 'v')).toEqual(value);
        } else {
          expect(result, `[${reader}] reading data of [${writer}]`).toBeInstanceOf(CheckpointError);
          const error = result as CheckpointError;
          expect(['Integrity', 'Deserialize']).toContain(error.kind);
          expect(error.message).toContain('"c"');
          // A sealing reader may stop at the checkpoint's seal, before the value.
          expect(error.message).toMatch(/"v"|"@checkpointable\.seal\.(hmac|encryption)"/);
        }
      }
    });
  }

  it('says which wrapper wrote the bytes when the order is wrong', async () => {
    // The innermost reader (hmac) meets the writer's innermost envelope (checksum) first,
    // on the checkpoint's seal, which it reads on load.
    const inner = new MemoryStorage();
    await commit(buildWrapperChain(inner, ['checksum', { hmac: { key: KEY_A } }]), 'c', { v: 1 });
    const error = (await caught(
      read(buildWrapperChain(inner, [{ hmac: { key: KEY_A } }, 'checksum']), 'c', 'v'),
    )) as CheckpointError;
    expect(error.kind).toBe('Integrity');
    expect(error.message).toBe(
      'The seal "@checkpointable.seal.hmac" of checkpoint "c" failed the HmacWrapper check: the stored bytes are not its envelope (it does not start with the HmacWrapper magic "CPHM"; it is the envelope of ChecksumWrapper). It was written without this wrapper, through a different wrapper order, or by another program; read it through the same wrapper chain that wrote it.',
    );
  });
});

const root = mkdtempSync(join(tmpdir(), 'cp-chain-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;

/**
 * The values stored in the only committed checkpoint in `dir`, and a way to write the pack
 * file back with changed values and a consistent header, as someone with write access to
 * the folder who knows the format would.
 */
async function onlyCheckpoint(dir: string) {
  // Hidden names are staging files the open storage keeps ready, not checkpoints.
  const [name] = (await fs.readdir(join(dir, 'committed'))).filter((n) => !n.startsWith('.'));
  const path = join(dir, 'committed', name);
  const file = await fs.readFile(path);
  const header = await readPackHeader(path, file.length, async (at, n) =>
    file.subarray(at, at + n),
  );
  const values = new Map<string, Buffer>();
  for (const [key, [offset, length]] of header.keys) {
    values.set(
      key,
      Buffer.from(file.subarray(header.dataStart + offset, header.dataStart + offset + length)),
    );
  }
  const rewrite = async () => {
    const { chunks } = buildPack(header.identifier, new Date(header.createdAt), values);
    await fs.writeFile(path, Buffer.concat(chunks));
  };
  return { values, rewrite };
}

describe('wrapper chains over FileStorage', () => {
  it('detects a value damaged on disk, and reads the undamaged ones', async () => {
    const dir = join(root, `d${dirs++}`);
    const storage = buildWrapperChain(await FileStorage.openRaw(dir), RECOMMENDED_CHAIN);
    await commit(storage, 'orders', { a: { n: 1 }, b: { n: 2 } });
    const { values, rewrite } = await onlyCheckpoint(dir);
    const bytes = values.get('b')!;
    expect(bytes.subarray(0, 4).toString('latin1')).toBe('CPCK');
    expect(bytes.includes(Buffer.from('"n"'))).toBe(false); // encrypted under the checksum
    bytes[bytes.length - 5] ^= 0x04;
    await rewrite();
    const loaded = await storage.loadCheckpoint('orders');
    expect(await loaded.get('a')).toEqual({ n: 1 });
    const error = (await caught(loaded.get('b'))) as CheckpointError;
    expect(error.kind).toBe('Integrity');
    expect(error.message).toContain('its SHA-256 checksum does not match the stored bytes');
    await loaded.release();
    await storage.close();
  });

  it('detects values swapped on disk with HMAC or encryption; a checksum alone does not', async () => {
    for (const [chain, detected] of [
      [RECOMMENDED_CHAIN, true],
      [[{ hmac: { key: KEY_A } }], true],
      [[{ encrypt: { key: KEY_B } }], true],
      [['checksum'], false],
    ] as [WrapperConfig[], boolean][]) {
      const dir = join(root, `d${dirs++}`);
      const storage = buildWrapperChain(await FileStorage.openRaw(dir), chain);
      await commit(storage, 'account', { balance: 10, limit: 1_000_000 });
      // Someone with write access to the folder copies the "limit" value over "balance".
      const { values, rewrite } = await onlyCheckpoint(dir);
      values.set('balance', values.get('limit')!);
      await rewrite();
      const result = await caught(read(storage, 'account', 'balance'));
      if (detected) {
        expect(result).toBeInstanceOf(CheckpointError);
        expect((result as CheckpointError).kind).toBe('Integrity');
        expect((result as CheckpointError).message).toContain('moved here from another key');
      } else {
        expect(result).toBeUndefined();
        expect(await read(storage, 'account', 'balance')).toBe(1_000_000);
      }
      await storage.close();
    }
  });

  it('detects a key dropped from the pack file on disk with HMAC or encryption, on load', async () => {
    for (const chain of [
      RECOMMENDED_CHAIN,
      [{ hmac: { key: KEY_A } }],
      [{ encrypt: { key: KEY_B } }],
    ] as WrapperConfig[][]) {
      const dir = join(root, `d${dirs++}`);
      const storage = buildWrapperChain(await FileStorage.openRaw(dir), chain);
      await commit(storage, 'account', { balance: 10, overdraft: -500 });
      // Someone with write access to the folder removes the "overdraft" value.
      const { values, rewrite } = await onlyCheckpoint(dir);
      values.delete('overdraft');
      await rewrite();
      const error = (await caught(storage.loadCheckpoint('account'))) as CheckpointError;
      expect(error).toBeInstanceOf(CheckpointError);
      expect(error.kind).toBe('Integrity');
      expect(error.message).toContain(
        'the seal lists the key "overdraft" that the storage does not hold',
      );
      await storage.close();
    }
  });

  it('reads old checkpoints after a restart with a rotated keyring', async () => {
    const dir = join(root, `d${dirs++}`);
    const chainWith = (ring: (typeof KEYRINGS)[keyof typeof KEYRINGS]): WrapperConfig[] => [
      'checksum',
      { hmac: { key: ring } },
      { encrypt: { key: ring } },
      'guard',
    ];
    const before = buildWrapperChain(await FileStorage.openRaw(dir), chainWith(KEYRINGS.before));
    await commit(before, 'january', { v: 'old' });
    await before.close();
    const after = buildWrapperChain(await FileStorage.openRaw(dir), chainWith(KEYRINGS.after));
    expect(await read(after, 'january', 'v')).toBe('old');
    await commit(after, 'june', { v: 'new' });
    await after.close();
    const onlyNew = buildWrapperChain(
      await FileStorage.openRaw(dir),
      chainWith(KEYRINGS.withoutOld),
    );
    expect(await read(onlyNew, 'june', 'v')).toBe('new');
    const error = (await caught(read(onlyNew, 'january', 'v'))) as CheckpointError;
    expect(error.kind).toBe('Integrity');
    expect(error.message).toContain('signed with the key id "k1"');
    await onlyNew.close();
  });
});
