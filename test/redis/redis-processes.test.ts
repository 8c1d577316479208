import Redis from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisStorage } from 'checkpointable/redis';
import { checkWorkers, commitConcurrently } from '../fixtures/db/check-workers';
import { runWorkers } from '../fixtures/db/run-workers';
import { keysUnder, REDIS_URL, redisAnswers, TestPrefixes } from './redis-server';

const prefixes = new TestPrefixes();

describe.runIf(redisAnswers())('RedisStorage across processes', () => {
  afterAll(() => prefixes.dropAll());

  // The workers' checkpoints (4 keys, about 4 KiB) commit in one script; `staged` sends
  // them down the path larger checkpoints take, values first, then the publish script.
  for (const path of ['one-script', 'staged'] as const) {
    it(`4 processes x 100 commits on one prefix (${path} path): none lost, none torn, one winner per contested identifier`, async () => {
      const prefix = prefixes.next();
      const reader = await RedisStorage.open({ url: REDIS_URL, prefix });
      const client = new Redis(REDIS_URL);
      try {
        const extra = path === 'staged' ? ['staged'] : [];
        const result = await runWorkers('redis', REDIS_URL, prefix, 4, 100, reader, extra);
        await checkWorkers(result, reader, 4, 100);
        // Losers wrote nothing (one-script path) or had their staged values deleted by
        // the commit that refused them: one data hash per committed checkpoint, plus the
        // index, the order set and the summaries.
        expect(await keysUnder(client, prefix)).toHaveLength(250 + 3);
      } finally {
        await reader.close();
        await client.quit();
      }
    });
  }

  it('100 concurrent commits from one process all land whole', async () => {
    const prefix = prefixes.next();
    const storage = await RedisStorage.open({ url: REDIS_URL, prefix });
    try {
      await commitConcurrently(storage, 100);
    } finally {
      await storage.close();
    }
  });
});
