import { afterAll, describe } from 'vitest';
import { buildWrapperChain, RECOMMENDED_WRAPPER_ORDER, type Storage } from 'checkpointable';
import { RedisStorage } from 'checkpointable/redis';
import { storageConformance } from 'checkpointable/testing';
import { REDIS_URL, redisAnswers, TestPrefixes } from './redis-server';
import { RECOMMENDED_CHAIN } from '../wrappers/chains';

const up = redisAnswers();
const prefixes = new TestPrefixes();
const prefixOf = new WeakMap<Storage, string>();

async function chained(prefix: string): Promise<Storage> {
  const storage = buildWrapperChain(await open(prefix, true), RECOMMENDED_CHAIN);
  prefixOf.set(storage, prefix);
  return storage;
}

async function open(prefix: string, raw: boolean): Promise<Storage> {
  const options = { url: REDIS_URL, prefix };
  const storage = raw ? await RedisStorage.openRaw(options) : await RedisStorage.open(options);
  prefixOf.set(storage, prefix);
  return storage;
}

/**
 * The bare storage with every commit sent down the staged path (values in batches, then
 * the publish script), which real use takes only over 1,000 keys or 64 KiB: the suite's
 * small checkpoints would otherwise all take the one-script path.
 */
async function openStaged(prefix: string): Promise<Storage> {
  const storage = await RedisStorage.openRaw({ url: REDIS_URL, prefix });
  storage.oneTrip = { keys: -1, bytes: -1 };
  prefixOf.set(storage, prefix);
  return storage;
}

describe.runIf(up)('RedisStorage conformance', () => {
  afterAll(() => prefixes.dropAll());

  storageConformance('RedisStorage.open() (guarded)', {
    create: () => open(prefixes.next(), false),
    reopen: (s) => open(prefixOf.get(s)!, false),
    capabilities: { guarded: true, labels: true },
  });

  storageConformance('RedisStorage.openRaw() (bare)', {
    create: () => open(prefixes.next(), true),
    reopen: (s) => open(prefixOf.get(s)!, true),
    capabilities: { guarded: false, labels: true },
  });

  storageConformance('RedisStorage.openRaw() (bare), every commit staged', {
    create: () => openStaged(prefixes.next()),
    reopen: (s) => openStaged(prefixOf.get(s)!),
    capabilities: { guarded: false, labels: true },
  });

  storageConformance(`RedisStorage.openRaw() under [${RECOMMENDED_WRAPPER_ORDER.join(', ')}]`, {
    create: () => chained(prefixes.next()),
    reopen: (s) => chained(prefixOf.get(s)!),
    capabilities: { guarded: true, labels: true },
  });
});
