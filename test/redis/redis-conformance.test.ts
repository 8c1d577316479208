import { afterAll, describe } from 'vitest';
import type { Storage } from 'checkpointable';
import { RedisStorage } from 'checkpointable/redis';
import { storageConformance } from 'checkpointable/testing';
import { REDIS_URL, redisAnswers, TestPrefixes } from './redis-server';

const up = redisAnswers();
const prefixes = new TestPrefixes();
const prefixOf = new WeakMap<Storage, string>();

async function open(prefix: string, raw: boolean): Promise<Storage> {
  const options = { url: REDIS_URL, prefix };
  const storage = raw ? await RedisStorage.openRaw(options) : await RedisStorage.open(options);
  prefixOf.set(storage, prefix);
  return storage;
}

describe.runIf(up)('RedisStorage conformance', () => {
  afterAll(() => prefixes.dropAll());

  storageConformance('RedisStorage.open() (guarded)', {
    create: () => open(prefixes.next(), false),
    reopen: (s) => open(prefixOf.get(s)!, false),
    capabilities: { guarded: true },
  });

  storageConformance('RedisStorage.openRaw() (bare)', {
    create: () => open(prefixes.next(), true),
    reopen: (s) => open(prefixOf.get(s)!, true),
    capabilities: { guarded: false },
  });
});
