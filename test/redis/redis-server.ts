import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';

/** The server the Redis suites use; `REDIS_URL` overrides it. */
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

const HOW_TO_START =
  'start it (`redis-server --daemonize yes --port 6379`, or `.ci/run`) or point REDIS_URL at one';

/**
 * Whether the Redis server answers. Without `CI` a silent server skips the suites with
 * one line saying what to start; under `CI=true` it fails the run, so CI can never pass
 * by skipping. Synchronous (a short child process), because Vitest decides what to skip
 * while collecting, before any hook runs.
 *
 * @example
 * ```ts
 * describe.runIf(redisAnswers())('RedisStorage', () => { ... });
 * ```
 */
export function redisAnswers(): boolean {
  const probe = `
    const { Redis } = require('ioredis');
    const client = new Redis(process.argv[1], {
      lazyConnect: true, connectTimeout: 3000, maxRetriesPerRequest: 0, retryStrategy: () => null,
    });
    let last;
    client.on('error', (error) => { last = error; });
    client.connect().then(() => client.ping()).then(
      () => client.quit().then(() => process.exit(0)),
      (error) => { process.stderr.write((last || error).message || String(error)); process.exit(1); },
    );`;
  const result = spawnSync(process.execPath, ['-e', probe, REDIS_URL], {
    encoding: 'utf8',
    timeout: 15_000,
  });
  if (result.status === 0) return true;
  const where = new URL(REDIS_URL).host;
  const reason = result.stderr.trim() || result.error?.message || 'no answer';
  const line = `Redis does not answer at ${where} (${reason}): ${HOW_TO_START}.`;
  if (isCi()) throw new Error(`CI=true and ${line}`);
  console.warn(`Skipping the Redis suites. ${line}`);
  return false;
}

function isCi(): boolean {
  const ci = process.env.CI;
  return ci !== undefined && ci !== '' && ci !== '0' && ci.toLowerCase() !== 'false';
}

/**
 * Hands out key prefixes unique to this run, and deletes every key under them.
 *
 * @example
 * ```ts
 * const prefixes = new TestPrefixes();
 * afterAll(() => prefixes.dropAll());
 * await RedisStorage.open({ url: REDIS_URL, prefix: prefixes.next() });
 * ```
 */
export class TestPrefixes {
  private readonly made: string[] = [];
  private readonly run = randomBytes(4).toString('hex');
  private count = 0;

  /** A new prefix, such as `cp-test:1a2b3c4d:7:`. */
  next(): string {
    const prefix = `cp-test:${this.run}:${this.count++}:`;
    this.made.push(prefix);
    return prefix;
  }

  /** Deletes every key under the prefixes handed out (SCAN, fine on a test server). */
  async dropAll(): Promise<void> {
    const prefixes = this.made.splice(0);
    if (prefixes.length === 0) return;
    const client = new Redis(REDIS_URL);
    try {
      const keys = await keysUnder(client, `cp-test:${this.run}:`);
      if (keys.length > 0) await client.unlink(...keys);
    } finally {
      await client.quit();
    }
  }
}

/**
 * Every key under `prefix` (SCAN; for tests only).
 *
 * @example
 * ```ts
 * expect(await keysUnder(client, prefix)).toEqual([`${prefix}index`]);
 * ```
 */
export async function keysUnder(client: Redis, prefix: string): Promise<string[]> {
  const found = new Set<string>();
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(
      cursor,
      'MATCH',
      `${escapeGlob(prefix)}*`,
      'COUNT',
      1000,
    );
    for (const key of keys) found.add(key);
    cursor = next;
  } while (cursor !== '0');
  return [...found].sort();
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}
