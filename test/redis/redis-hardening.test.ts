import Redis from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { CheckpointError } from 'checkpointable';
import { RedisStorage } from 'checkpointable/redis';
import { cuttingProxy, type CuttingProxy } from '../fixtures/db/cutting-proxy';
import { REDIS_URL, redisAnswers, TestPrefixes } from './redis-server';
import { commit, failure, outcome } from '../fixtures/db/storage-test-helpers';

const prefixes = new TestPrefixes();
const MiB = 1024 * 1024;

async function withProxy(work: (proxy: CuttingProxy, url: string) => Promise<void>) {
  const server = new URL(REDIS_URL);
  const proxy = await cuttingProxy(server.hostname, Number(server.port || 6379));
  try {
    const url = new URL(REDIS_URL);
    url.port = String(proxy.port);
    await work(proxy, url.toString());
  } finally {
    await proxy.close();
  }
}

/** Equality without a diff: a failed toEqual on megabytes would print them all. */
function same(a: unknown, b: unknown): boolean {
  return Buffer.isBuffer(a) && Buffer.isBuffer(b) ? a.equals(b) : a === b;
}

describe.runIf(redisAnswers())('RedisStorage hardening', () => {
  const admin = new Redis(REDIS_URL);
  afterAll(async () => {
    await prefixes.dropAll();
    await admin.quit();
  });

  it('on close(), lets reads on the live connection finish and refuses new ones with Released', async () => {
    await withProxy(async (proxy, url) => {
      const prefix = prefixes.next();
      const storage = await RedisStorage.openRaw({ url, prefix });
      await commit(storage, 'a', { 'held-key': 'value of a' });
      const loaded = await storage.loadCheckpoint('a');
      const hold = proxy.holdRequest('held-key');
      const underWay = outcome(loaded.get('held-key'));
      await hold.held;
      const closed = storage.close();
      const after = await failure(loaded.get('held-key'));
      expect(after.kind).toBe('Released');
      expect(after.message).toBe(
        'This RedisStorage was closed; open a new one to keep working with its checkpoints.',
      );
      hold.release();
      expect(await underWay).toBe('value of a');
      await closed;
      // QUIT was answered; the server then closes the connection.
      if (storage.client.status !== 'end')
        await new Promise((resolve) => storage.client.once('end', resolve));
    });
  });

  it('on close() while the server is unreachable, fails reads waiting for the connection with Released at once', async () => {
    const server = new URL(REDIS_URL);
    const proxy = await cuttingProxy(server.hostname, Number(server.port || 6379));
    const url = new URL(REDIS_URL);
    url.port = String(proxy.port);
    const prefix = prefixes.next();
    const storage = await RedisStorage.openRaw({ url: url.toString(), prefix });
    await commit(storage, 'a', { v: 1 });
    await proxy.close(); // the connection drops, and every reconnect is refused
    while (storage.client.status === 'ready') await new Promise((r) => setTimeout(r, 5));
    const reading = outcome(storage.loadCheckpoint('a'));
    const closed = storage.close();
    const error = (await reading) as CheckpointError;
    expect(error).toBeInstanceOf(CheckpointError);
    expect(error.kind).toBe('Released');
    expect(error.message).toMatch(
      /^This RedisStorage was closed while the operation waited for the connection to Redis at 127\.0\.0\.1:\d+; open a new one to keep working with its checkpoints\.$/,
    );
    await closed;
    // The client stopped trying: no reconnect attempt after close (retries come every
    // 100-2,000 ms, so one would show within 2.5 s).
    let attempts = 0;
    storage.client.on('reconnecting', () => attempts++);
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect(attempts).toBe(0);
  });

  for (const [what, marker] of [
    ['checkpointIdentifiers()', 'index'],
    ['loadCheckpoint()', 'loaded-id'],
    ['get()', 'read-key'],
  ] as const) {
    it(`retries ${what} once after reconnecting when the connection drops under it`, async () => {
      await withProxy(async (proxy, url) => {
        const prefix = prefixes.next();
        const storage = await RedisStorage.openRaw({ url, prefix });
        await commit(storage, 'loaded-id', { 'read-key': 'the value' });
        const loaded = what === 'get()' ? await storage.loadCheckpoint('loaded-id') : undefined;
        const cut = proxy.cutReplyTo(marker === 'index' ? `${prefix}index` : marker);
        const result =
          what === 'checkpointIdentifiers()'
            ? await storage.checkpointIdentifiers()
            : what === 'loadCheckpoint()'
              ? await (await storage.loadCheckpoint('loaded-id')).keys()
              : await loaded!.get('read-key');
        await cut; // the first reply was really lost
        expect(result).toEqual(
          what === 'get()'
            ? 'the value'
            : what === 'loadCheckpoint()'
              ? ['read-key']
              : ['loaded-id'],
        );
        await storage.close();
      });
    });
  }

  it('retries a read once only: a second drop is Io', async () => {
    await withProxy(async (proxy, url) => {
      const prefix = prefixes.next();
      const storage = await RedisStorage.openRaw({ url, prefix });
      const first = proxy.cutReplyTo(`${prefix}index`);
      const listing = outcome(storage.checkpointIdentifiers());
      await first;
      await proxy.cutReplyTo(`${prefix}index`);
      const error = (await listing) as CheckpointError;
      expect(error).toBeInstanceOf(CheckpointError);
      expect(error.kind).toBe('Io');
      expect(error.message).toBe(
        `RedisStorage could not list checkpoints (Redis at ${new URL(url).host}, prefix ${JSON.stringify(prefix)}): the connection to the server was lost while the command was under way. Check that the server is up and reachable, then retry.`,
      );
      await storage.close();
    });
  });

  it('refuses at open an index key of another type, naming it', async () => {
    const prefix = prefixes.next();
    await admin.set(`${prefix}index`, 'not a hash');
    const error = await failure(RedisStorage.open({ url: REDIS_URL, prefix }));
    expect(error.kind).toBe('Initialization');
    expect(error.message).toBe(
      `RedisStorage cannot use prefix ${JSON.stringify(prefix)} (Redis at ${new URL(REDIS_URL).host}): key ${JSON.stringify(`${prefix}index`)} holds a string, not the hash of checkpoints RedisStorage keeps there. It belongs to another program or is damaged; choose another prefix, or remove that key if nothing needs it.`,
    );
  });

  it('reports an index or data key that became another type as Deserialize naming the key, not Io', async () => {
    const prefix = prefixes.next();
    const storage = await RedisStorage.openRaw({ url: REDIS_URL, prefix });
    await commit(storage, 'a', { v: 1 });
    const entry = (await admin.hget(`${prefix}index`, 'a'))!;
    const dataKey = `${prefix}data:${entry.split(' ')[0]}`;
    await admin.del(dataKey);
    await admin.rpush(dataKey, 'x');
    const data = await failure(storage.loadCheckpoint('a'));
    expect(data.kind).toBe('Deserialize');
    expect(data.identifier).toBe('a');
    expect(data.message).toContain(
      `RedisStorage could not load checkpoint "a" (Redis at ${new URL(REDIS_URL).host}, prefix ${JSON.stringify(prefix)}): one of the keys ${JSON.stringify(`${prefix}index`)}, ${JSON.stringify(dataKey)} holds a value of another type than RedisStorage writes there (`,
    );
    await admin.del(`${prefix}index`);
    await admin.set(`${prefix}index`, 'x');
    for (const attempt of [
      storage.checkpointIdentifiers(),
      storage.loadCheckpoint('a'),
      storage.createCheckpoint('b'),
      storage.listDamaged(),
    ]) {
      const error = await failure(attempt);
      expect(error.kind).toBe('Deserialize');
      expect(error.message).toContain(
        `key ${JSON.stringify(`${prefix}index`)} holds a value of another type than RedisStorage writes there (WRONGTYPE`,
      );
    }
    await storage.close();
  });

  it('refuses a malformed index entry as Deserialize, never a wrong date or a data key outside the prefix', async () => {
    const prefix = prefixes.next();
    const storage = await RedisStorage.openRaw({ url: REDIS_URL, prefix });
    const cases: [string, string | Buffer][] = [
      ['garbage', 'garbage'],
      ['far-future', 'abc.0 99999999999999999'],
      ['past-date-range', 'abc.0 9999999999999999'],
      ['escapes', '../../other 1700000000000'],
      ['huge', Buffer.alloc(1000, 'a')],
    ];
    for (const [identifier, entry] of cases) await admin.hset(`${prefix}index`, identifier, entry);
    for (const [identifier, entry] of cases) {
      const error = await failure(storage.loadCheckpoint(identifier));
      expect(error.kind).toBe('Deserialize');
      const shown = typeof entry === 'string' ? JSON.stringify(entry) : '1000 bytes';
      expect(error.message).toBe(
        `The entry of checkpoint ${JSON.stringify(identifier)} in Redis hash ${JSON.stringify(`${prefix}index`)} is damaged (${shown}, not "<data id> <milliseconds>"); remove the checkpoint, or restore the Redis data from a backup.`,
      );
    }
    await storage.close();
  });

  it('never lists identifiers or keys outside the grammar read from tampered keys, and reports them in listDamaged()', async () => {
    const prefix = prefixes.next();
    const storage = await RedisStorage.openRaw({ url: REDIS_URL, prefix });
    await commit(storage, 'good', { k: 'kept' });
    expect(await storage.listDamaged()).toEqual([]);
    const entry = (await admin.hget(`${prefix}index`, 'good'))!;
    const dataKey = `${prefix}data:${entry.split(' ')[0]}`;
    const hostile: [string | Buffer, string][] = [
      ['a/b', "it contains '/' at position 1"],
      ['../x', "it contains '/' at position 2"],
      ['bad\u0007bell', 'it contains the control character U+0007 at position 3'],
      ['..', 'it is a relative path'],
      ['\u0001d83d\u0001de00', 'it is not written the way names are stored'],
      [Buffer.from([0x61, 0xed, 0xa0, 0x80]), 'it is not valid UTF-8'], // a lone surrogate, CESU-8
      [Buffer.from([0xff, 0xfe]), 'it is not valid UTF-8'],
      [Buffer.alloc(5000, 'z'), 'it is 5000 bytes long, longer than any name'],
    ];
    for (const [name] of hostile) await admin.hset(`${prefix}index`, name, entry);
    await admin.hset(dataKey, 'k/1', 'x', '..', 'x');
    expect(await storage.checkpointIdentifiers()).toEqual(['good']);
    const loaded = await storage.loadCheckpoint('good');
    expect(await loaded.keys()).toEqual(['k']);
    expect(await loaded.get('k')).toBe('kept');
    const damaged = await storage.listDamaged();
    const expected = [
      ...hostile.map(([name, problem]) => ({
        name: Buffer.isBuffer(name) ? name.subarray(0, 3826).toString('utf8') : name,
        reason: `checkpoint identifier: ${problem}`,
      })),
      { name: 'k/1', reason: 'key of checkpoint "good": it contains \'/\' at position 1' },
      { name: '..', reason: 'key of checkpoint "good": it is a relative path' },
    ];
    expect(damaged).toEqual(expect.arrayContaining(expected));
    expect(damaged).toHaveLength(expected.length);
    await loaded.release();
    await storage.close();
  });

  it('refuses a checkpoint whose data hash holds more keys than a checkpoint may have, before reading them', async () => {
    const prefix = prefixes.next();
    const storage = await RedisStorage.openRaw({ url: REDIS_URL, prefix });
    await commit(storage, 'many', { k: 1 });
    const entry = (await admin.hget(`${prefix}index`, 'many'))!;
    const dataKey = `${prefix}data:${entry.split(' ')[0]}`;
    // In slices of 100,000, so that the server is never busy for long.
    for (let from = 1; from <= 1_000_000; from += 100_000) {
      await admin.eval(
        `for i = tonumber(ARGV[1]), tonumber(ARGV[1]) + 99999 do redis.call('HSET', KEYS[1], 'x' .. i, '1') end`,
        1,
        dataKey,
        String(from),
      );
    }
    const error = await failure(storage.loadCheckpoint('many'));
    expect(error.kind).toBe('Deserialize');
    expect(error.message).toBe(
      `Checkpoint "many" holds 1000001 keys in Redis hash ${JSON.stringify(dataKey)}, more than the 1000000 RedisStorage reads back: the hash is damaged. Remove the checkpoint, or restore the Redis data from a backup.`,
    );
    await admin.unlink(dataKey);
    await storage.close();
  }, 120_000);

  for (const size of ['small', 'staged'] as const) {
    it(`a handle loaded through one storage reads its own value or fails after another storage removed and recommitted the checkpoint (${size})`, async () => {
      const prefix = prefixes.next();
      const one = await RedisStorage.openRaw({ url: REDIS_URL, prefix });
      const two = await RedisStorage.openRaw({ url: REDIS_URL, prefix });
      const original = size === 'small' ? 'original' : Buffer.alloc(MiB, 1);
      const replacement = size === 'small' ? 'replacement' : Buffer.alloc(MiB, 2);
      await commit(one, 'shared', { v: original, only: 'in the original' });
      const loaded = await one.loadCheckpoint('shared');
      await two.removeCheckpoint('shared');
      await commit(two, 'shared', { v: replacement });
      const read = await outcome(loaded.get('v'));
      if (read instanceof CheckpointError) {
        expect(read.kind).toBe('NotFound');
        expect(read.message).toBe(
          'Checkpoint "shared" was removed while this handle was open, by another process or storage object (a GuardWrapper stops removals only through its own storage object); load it again to read what is committed now.',
        );
      } else {
        expect(same(read, original)).toBe(true);
      }
      expect(await loaded.keys()).toEqual(['only', 'v']);
      const fresh = await one.loadCheckpoint('shared');
      expect(same(await fresh.get('v'), replacement)).toBe(true);
      await one.close();
      await two.close();
    });
  }
});
