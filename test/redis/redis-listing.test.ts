import Redis from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { listIdentifiersWithPrefix } from 'checkpointable';
import { RedisStorage } from 'checkpointable/redis';
import { summarizeCheckpoints } from '../../src/storage/checkpoint-summaries';
import { selectWithPrefix } from '../../src/storage/prefix-listing';
import { REDIS_URL, redisAnswers, TestPrefixes } from './redis-server';
import { commit, failure } from '../fixtures/db/storage-test-helpers';

const prefixes = new TestPrefixes();

/** Identifiers whose JavaScript order differs from their UTF-8 byte order. */
const TRICKY = [
  'p:a',
  'p:\u{1F600}', // UTF-16 D83D DE00: before U+E000 in JavaScript, after it in UTF-8
  'p:\uE000',
  'p:\uFFFD',
  'p:\u{10000}x',
  'p:z',
  'p;after',
  'o:before',
  'p:',
];

const CASES = [
  { prefix: 'p:' },
  { prefix: 'p:', options: { descending: true } },
  { prefix: 'p:', options: { descending: true, limit: 2 } },
  { prefix: 'p:', options: { limit: 3 } },
  { prefix: 'p:', options: { before: 'p:\uE000', descending: true, limit: 1 } },
  { prefix: 'p:', options: { before: 'p:\uFFFD' } },
  { prefix: '' },
  { prefix: 'p:\uD83D' }, // a lone high surrogate: the prefix of the emoji's pair
  { prefix: 'q' },
  { prefix: 'p:', options: { limit: 0 } },
];

describe.runIf(redisAnswers())('RedisStorage labels, summaries and prefix listing', () => {
  const admin = new Redis(REDIS_URL);
  afterAll(async () => {
    await prefixes.dropAll();
    await admin.quit();
  });

  it('lists a prefix in JavaScript string order, both ways, with before and limit', async () => {
    const storage = await RedisStorage.openRaw({ url: REDIS_URL, prefix: prefixes.next() });
    try {
      for (const id of TRICKY) await commit(storage, id, { n: 1 });
      for (const { prefix, options } of CASES) {
        const expected = selectWithPrefix(TRICKY, prefix, options);
        expect(await storage.checkpointIdentifiersWithPrefix(prefix, options)).toEqual(expected);
        expect(await listIdentifiersWithPrefix(storage, prefix, options)).toEqual(expected);
      }
      await storage.removeCheckpoint('p:z');
      expect(
        await storage.checkpointIdentifiersWithPrefix('p:', { descending: true, limit: 1 }),
      ).toEqual(['p:\uFFFD']);
    } finally {
      await storage.close();
    }
  });

  it('builds the order set of a store written before it, once, on open', async () => {
    const prefix = prefixes.next();
    const first = await RedisStorage.openRaw({ url: REDIS_URL, prefix });
    for (const id of TRICKY) await commit(first, id, { n: 1 });
    await first.close();
    // A store as the release before the order set left it: no set at all.
    await admin.del(`${prefix}order`);
    const storage = await RedisStorage.openRaw({ url: REDIS_URL, prefix });
    try {
      expect(await admin.zscore(`${prefix}order`, '')).toBe('0');
      for (const { prefix: p, options } of CASES)
        expect(await storage.checkpointIdentifiersWithPrefix(p, options)).toEqual(
          selectWithPrefix(TRICKY, p, options),
        );
      // Once marked complete, open() does not build it again.
      await admin.zrem(`${prefix}order`, storage.orderMember('p:a'));
      await (await RedisStorage.openRaw({ url: REDIS_URL, prefix })).close();
      expect(await admin.zscore(`${prefix}order`, storage.orderMember('p:a'))).toBeNull();
    } finally {
      await storage.close();
    }
  });

  it('skips members that are not committed or do not match their identifier', async () => {
    const prefix = prefixes.next();
    const storage = await RedisStorage.openRaw({ url: REDIS_URL, prefix });
    try {
      for (const id of ['s:1', 's:2', 's:3']) await commit(storage, id, { k: 1 });
      // Left by a writer that did not keep the set: an identifier that is not committed.
      await admin.zadd(`${prefix}order`, 0, storage.orderMember('s:0'));
      // A member whose sort key claims 's:0' but whose text says 's:3'.
      const forged = Buffer.concat([
        storage.orderMember('s:0').subarray(0, 6),
        Buffer.alloc(2),
        Buffer.from('s:3'),
      ]);
      await admin.zadd(`${prefix}order`, 0, forged);
      // Not a member at all: no zero pair.
      await admin.zadd(`${prefix}order`, 0, Buffer.from([0, 0x73, 0, 0x3a]));
      expect(await storage.checkpointIdentifiersWithPrefix('s:', { limit: 2 })).toEqual([
        's:1',
        's:2',
      ]);
      expect(await storage.checkpointIdentifiersWithPrefix('s:')).toEqual(['s:1', 's:2', 's:3']);
      // listDamaged() names the damaged members, and a committed identifier the set lost.
      await admin.zrem(`${prefix}order`, storage.orderMember('s:2'));
      expect(await storage.checkpointIdentifiersWithPrefix('s:')).toEqual(['s:1', 's:3']);
      expect((await storage.listDamaged()).map((d) => d.reason)).toEqual([
        'order set member: it is not the sort key, two zero bytes and the identifier; remove the member',
        'order set member: it is not the sort key, two zero bytes and the identifier; remove the member',
        `checkpoint identifier: it is missing from the order set "${prefix}order", so prefix listings (series) leave it out; remove that key and reopen the storage to build it again`,
      ]);
    } finally {
      await storage.close();
    }
  });

  it('keeps labels of any characters, and summarizes keys and sizes without values', async () => {
    const storage = await RedisStorage.open({ url: REDIS_URL, prefix: prefixes.next() });
    try {
      const labels = [
        'nul \u0000 and escape \u0001d800',
        'lone \uD800 and \uDFFF',
        '',
        '✓ \u{1F600}',
      ];
      for (const [i, label] of labels.entries()) await commit(storage, `l${i}`, { k: 'v' }, label);
      await commit(storage, 'sized', { small: 'x', big: 'y'.repeat(5000) });
      await commit(storage, 'staged', { big: 'z'.repeat(100_000) }, 'staged label');
      for (const [i, label] of labels.entries()) {
        const loaded = await storage.loadCheckpoint(`l${i}`);
        expect(loaded.label).toBe(label);
        expect(await loaded.keys()).toEqual(['k']);
        await loaded.release();
      }
      const { summaries, damaged } = await summarizeCheckpoints(storage, [
        'sized',
        'l1',
        'missing',
        'staged',
      ]);
      expect(damaged).toEqual([]);
      expect(summaries.map((s) => [s.identifier, s.label, s.keys])).toEqual([
        ['sized', undefined, ['big', 'small']],
        ['l1', labels[1], ['k']],
        ['staged', 'staged label', ['big']],
      ]);
      expect(summaries[0].sizes!.get('big')!).toBeGreaterThan(5000);
      expect(summaries[0].sizes!.get('small')!).toBeLessThan(100);
      expect(summaries[2].sizes!.get('big')!).toBeGreaterThan(100_000);
    } finally {
      await storage.close();
    }
  });

  it('refuses a damaged label at load and reports it as damaged in summaries', async () => {
    const prefix = prefixes.next();
    const storage = await RedisStorage.openRaw({ url: REDIS_URL, prefix });
    try {
      const tampered: [string, Buffer, string][] = [
        ['stray', Buffer.from('a\u0001zzzz'), 'its label is not written the way labels are stored'],
        ['raw-nul', Buffer.from('a\u0000b'), 'its label is not written the way labels are stored'],
        ['not-utf8', Buffer.from([0x61, 0xff]), 'its label is not valid UTF-8'],
        [
          'huge',
          Buffer.alloc(400_000, 0x78),
          'its label is 400000 bytes long, longer than any label',
        ],
      ];
      for (const [id] of tampered) await commit(storage, id, { k: 1 }, 'fine');
      await commit(storage, 'good', { k: 1 }, 'fine');
      for (const [id, bytes, why] of tampered) {
        const entry = (await admin.hget(`${prefix}index`, id))!;
        const dataKey = `${prefix}data:${entry.split(' ')[0]}`;
        await admin.hset(dataKey, '\u0000label', bytes);
        const error = await failure(storage.loadCheckpoint(id));
        expect(error.kind).toBe('Deserialize');
        expect(error.message).toBe(
          `Checkpoint "${id}" in Redis hash "${dataKey}" is damaged: ${why}. Remove the checkpoint, or restore the Redis data from a backup.`,
        );
      }
      // Summaries come from the summary hash: damage there is reported, checkpoint by checkpoint.
      const summaryKey = `${prefix}summary`;
      const broken: [string, Buffer, string][] = [
        ['stray', Buffer.from('not json'), 'it is not JSON in UTF-8'],
        ['raw-nul', Buffer.from('{"k":1}'), 'it has no key list'],
        [
          'not-utf8',
          Buffer.from(JSON.stringify({ k: '', l: 'x'.repeat(65_537) })),
          'its label is not a string of at most 65,536 characters',
        ],
        [
          'huge',
          Buffer.alloc(3 * 1024 * 1024, 0x20),
          'it is 3145728 bytes long, longer than any summary',
        ],
      ];
      for (const [id, bytes] of broken) await admin.hset(summaryKey, id, bytes);
      const { summaries, damaged } = await storage.summarizeCheckpoints([
        ...broken.map(([id]) => id),
        'good',
      ]);
      expect(summaries.map((s) => [s.identifier, s.label])).toEqual([['good', 'fine']]);
      expect(damaged.map((d) => d.error.message)).toEqual(
        broken.map(
          ([id, , why]) =>
            `The summary of checkpoint "${id}" in Redis hash "${summaryKey}" is damaged: ${why}. Remove the checkpoint, or restore the Redis data from a backup.`,
        ),
      );
      // Without a summary (a store written before summaries), the data hash is read, and
      // its damaged label is reported.
      await admin.hdel(summaryKey, 'stray', 'good');
      const fallback = await storage.summarizeCheckpoints(['stray', 'good']);
      expect(fallback.summaries.map((s) => [s.identifier, s.label, s.keys])).toEqual([
        ['good', 'fine', ['k']],
      ]);
      expect(fallback.damaged.map((d) => [d.identifier, d.error.kind])).toEqual([
        ['stray', 'Deserialize'],
      ]);
      // The label field is not a key: listDamaged() does not report it.
      expect(
        (await storage.listDamaged()).every((d) => !d.reason.startsWith('key of checkpoint')),
      ).toBe(true);
    } finally {
      await storage.close();
    }
  });

  it('creates with checkExists: false without a round trip; the commit still refuses an existing identifier', async () => {
    const client = new Redis(REDIS_URL);
    const sent: string[] = [];
    const send = client.sendCommand.bind(client);
    client.sendCommand = (command, stream) => {
      sent.push(command.name);
      return send(command, stream);
    };
    const storage = await RedisStorage.openRaw({ client, prefix: prefixes.next() });
    try {
      await commit(storage, 'taken', { n: 1 });
      sent.length = 0;
      const draft = await storage.createCheckpoint('taken', { checkExists: false });
      expect(sent).toEqual([]);
      await draft.put('n', 2);
      const error = await failure(storage.commitCheckpoint(draft));
      expect(error.kind).toBe('AlreadyExists');
      expect(sent).toEqual(['evalsha']);
      const checked = await failure(storage.createCheckpoint('taken'));
      expect(checked.kind).toBe('AlreadyExists');
    } finally {
      await storage.close();
      await client.quit();
    }
  });
});
