import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { CheckpointError } from 'checkpointable';
import { RedisStorage, RedisUncommittedCheckpoint } from 'checkpointable/redis';
import { PUBLISH, WRITE_AND_PUBLISH } from '../../src/redis/redis-scripts';
import { closedPort } from '../fixtures/db/closed-port';
import { cuttingProxy } from '../fixtures/db/cutting-proxy';
import { silentServer } from '../fixtures/db/silent-server';
import { keysUnder, REDIS_URL, redisAnswers, TestPrefixes } from './redis-server';

const prefixes = new TestPrefixes();

async function failure(promise: Promise<unknown>): Promise<CheckpointError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CheckpointError);
  return error as CheckpointError;
}

/**
 * Runs `commit` while Redis holds every write (CLIENT PAUSE WRITE), kills the storage's
 * connection (named `name`) the moment its write is blocked, and returns what the
 * commit raised. The commit is then provably under way and not applied.
 */
async function killDuringCommit(
  admin: Redis,
  name: string,
  commit: () => Promise<unknown>,
): Promise<unknown> {
  await admin.call('CLIENT', 'PAUSE', '60000', 'WRITE');
  try {
    const outcome = commit().then(
      () => undefined,
      (e: unknown) => e,
    );
    let killed = false;
    while (!killed) {
      const list = (await admin.call('CLIENT', 'LIST')) as string;
      const line = list
        .split('\n')
        // `b`: blocked by the pause. (`cmd` shows the last command queued, not EXEC.)
        .find((l) => l.includes(` name=${name} `) && /\bflags=\S*b/.test(l));
      if (line !== undefined) {
        await admin.call('CLIENT', 'KILL', 'ID', /\bid=(\d+)/.exec(line)![1]);
        killed = true;
      }
    }
    // Unpaused before waiting: a client that resends the command needs the server back.
    await admin.call('CLIENT', 'UNPAUSE');
    return await outcome;
  } finally {
    await admin.call('CLIENT', 'UNPAUSE');
  }
}

/** Sends every commit of `storage` down the staged path (values first, then publish). */
function forceStaged(storage: RedisStorage): RedisStorage {
  storage.oneTrip = { keys: -1, bytes: -1 };
  return storage;
}

/** What every failed commit says after its cause. */
const ADVICE =
  'Nothing of the checkpoint is visible (values already sent expire on their own), and the handle is still open: retry commitCheckpoint() with it, or discard it. (Should the connection have dropped after the commit landed, the retry finds out and succeeds.)';

describe('RedisStorage.open() refusals that need no server', () => {
  it('reports an unreachable server as Initialization naming host and port, never the password', async () => {
    const port = await closedPort();
    const error = await failure(RedisStorage.open({ url: `redis://:s3cr3t-pw@127.0.0.1:${port}` }));
    expect(error.kind).toBe('Initialization');
    expect(error.message).toBe(
      `RedisStorage could not connect to Redis at 127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}. Check that the server is running and reachable from here, and that the url (host, port, password, database) is right.`,
    );
    expect(error.message).not.toContain('s3cr3t');
  });

  it('gives up on a server that accepts but never answers, after connectTimeoutMs', async () => {
    const silent = await silentServer();
    try {
      const error = await failure(
        RedisStorage.open({
          url: `redis://:s3cr3t-pw@127.0.0.1:${silent.port}`,
          connectTimeoutMs: 300,
        }),
      );
      expect(error.kind).toBe('Initialization');
      expect(error.message).toBe(
        `RedisStorage could not connect to Redis at 127.0.0.1:${silent.port}: no answer within 300 ms (connectTimeoutMs). Check that the server is running and reachable from here, and that the url (host, port, password, database) is right.`,
      );
    } finally {
      await silent.close();
    }
  });

  it('needs a url or a client, and usable options', async () => {
    expect((await failure(RedisStorage.open({}))).message).toBe(
      'RedisStorage.open() needs a url (such as "redis://127.0.0.1:6379") or an ioredis client as `client`.',
    );
    expect((await failure(RedisStorage.open({ url: REDIS_URL, prefix: 'a\nb' }))).message).toBe(
      'RedisStorage prefix must be a string of at most 200 characters without control characters, such as "checkpointable:".',
    );
    expect((await failure(RedisStorage.open({ url: REDIS_URL, stagingTtlMs: 0 }))).message).toBe(
      'RedisStorage option stagingTtlMs must be a whole number of milliseconds (1 or more), not 0.',
    );
  });
});

describe.runIf(redisAnswers())('RedisStorage against a live server', () => {
  const admin = new Redis(REDIS_URL);
  afterAll(async () => {
    await prefixes.dropAll();
    await admin.quit();
  });

  it('keeps the documented key layout: an index hash, one data hash per checkpoint and the order set', async () => {
    const prefix = prefixes.next();
    const storage = await RedisStorage.open({ url: REDIS_URL, prefix });
    const draft = await storage.createCheckpoint('order-42');
    await draft.putBytes('raw', Buffer.from([0, 255, 13, 10]));
    await draft.put('n', 1);
    await (await storage.commitCheckpoint(draft)).release();
    const keys = await keysUnder(admin, prefix);
    expect(keys).toHaveLength(4);
    expect(keys[1]).toBe(`${prefix}index`);
    expect(keys[2]).toBe(`${prefix}order`);
    expect(keys[3]).toBe(`${prefix}summary`);
    // Keys with the sizes of their values, for listing without reading them.
    const summary = JSON.parse((await admin.hget(`${prefix}summary`, 'order-42'))!) as {
      k: string;
    };
    expect(summary.k).toMatch(/^raw\/4\\n\/\d+$/);
    // The completeness mark, then the identifier's UTF-16 units, two zero bytes, its text.
    expect(await admin.zrangeBuffer(`${prefix}order`, '0', '-1')).toEqual([
      Buffer.alloc(0),
      Buffer.concat([
        Buffer.from('order-42', 'utf16le').swap16(),
        Buffer.alloc(2),
        Buffer.from('order-42'),
      ]),
    ]);
    expect(keys[0]).toMatch(new RegExp(`^${prefix}data:[0-9a-f]{24}-[0-9a-z]+\\.0$`));
    const entry = await admin.hget(`${prefix}index`, 'order-42');
    expect(entry).toMatch(/^[0-9a-f]{24}-[0-9a-z]+\.0 \d{13}$/);
    expect(await admin.ttl(keys[0])).toBe(-1); // published: no longer expires
    expect((await admin.hgetBuffer(keys[0], 'raw'))!.equals(Buffer.from([0, 255, 13, 10]))).toBe(
      true,
    );
    await storage.removeCheckpoint('order-42');
    expect(await keysUnder(admin, prefix)).toEqual([]);
    await storage.close();
  });

  for (const [what, values, path] of [
    ['in the one-script commit', 30, 'small'],
    ['in the one-script commit of an empty checkpoint', 0, 'small'],
    ['while staging values', 30, 'staged'],
  ] as const) {
    it(`leaves nothing visible and raises Io when the connection dies ${what} (${path} path); the handle can retry`, async () => {
      const prefix = prefixes.next();
      const name = `cp-kill-${randomBytes(4).toString('hex')}`;
      const storage = await RedisStorage.openRaw({ url: REDIS_URL, prefix, connectionName: name });
      if (path === 'staged') forceStaged(storage);
      const draft = await storage.createCheckpoint('doomed');
      for (let i = 0; i < values; i++) await draft.put(`k${i}`, { i, pad: 'x'.repeat(1000) });
      const error = (await killDuringCommit(admin, name, () =>
        storage.commitCheckpoint(draft),
      )) as CheckpointError;
      expect(error).toBeInstanceOf(CheckpointError);
      expect(error.kind).toBe('Io');
      expect(error.identifier).toBe('doomed');
      expect(error.message).toBe(
        `RedisStorage could not commit checkpoint "doomed" (Redis at ${new URL(REDIS_URL).host}, prefix "${prefix}"): the connection to the server was lost while the command was under way. ${ADVICE}`,
      );
      await expectNothingVisible(prefix, 'doomed');
      // The one-script path writes nothing before it runs; staging, at most keys that expire.
      if (path === 'small') expect(await keysUnder(admin, prefix)).toEqual([]);
      // The storage reconnects by itself, and the same handle commits.
      await expectRetryCommits(storage, draft, prefix, values);
      await storage.close();
    });
  }

  it('leaves nothing visible and raises Io when the connection dies between staging and publishing; the handle can retry', async () => {
    const prefix = prefixes.next();
    const name = `cp-kill-${randomBytes(4).toString('hex')}`;
    const url = new URL(REDIS_URL);
    const proxy = await cuttingProxy(url.hostname, Number(url.port || 6379));
    try {
      url.port = String(proxy.port);
      const storage = forceStaged(
        await RedisStorage.openRaw({ url: url.toString(), prefix, connectionName: name }),
      );
      const draft = await storage.createCheckpoint('doomed');
      for (let i = 0; i < 30; i++) await draft.put(`k${i}`, { i, pad: 'x'.repeat(1000) });
      const { held, release } = proxy.holdRequest('eval');
      const commit = storage.commitCheckpoint(draft).then(
        () => undefined,
        (e: unknown) => e,
      );
      await held; // every value staged, the publish script not yet at the server
      const [line] = ((await admin.call('CLIENT', 'LIST')) as string)
        .split('\n')
        .filter((l) => l.includes(` name=${name} `));
      await admin.call('CLIENT', 'KILL', 'ID', /\bid=(\d+)/.exec(line)![1]);
      const error = (await commit) as CheckpointError;
      release();
      expect(error).toBeInstanceOf(CheckpointError);
      expect(error.kind).toBe('Io');
      expect(error.message).toBe(
        `RedisStorage could not commit checkpoint "doomed" (Redis at ${url.host}, prefix "${prefix}"): the connection to the server was lost while the command was under way. ${ADVICE}`,
      );
      await expectNothingVisible(prefix, 'doomed');
      expect(await keysUnder(admin, `${prefix}data:`)).toHaveLength(1); // staged, expiring
      await expectRetryCommits(storage, draft, prefix, 30);
      await storage.close();
    } finally {
      await proxy.close();
    }
  });

  /** Nothing of `identifier` is visible, and whatever reached the server will expire. */
  async function expectNothingVisible(prefix: string, identifier: string): Promise<void> {
    const other = await RedisStorage.openRaw({ url: REDIS_URL, prefix });
    expect(await other.checkpointIdentifiers()).toEqual([]);
    expect((await failure(other.loadCheckpoint(identifier))).kind).toBe('NotFound');
    await other.close();
    for (const key of await keysUnder(admin, prefix))
      expect(await admin.pttl(key)).toBeGreaterThan(0);
  }

  /** The handle that failed commits on retry, and another storage reads all of it. */
  async function expectRetryCommits(
    storage: RedisStorage,
    draft: Awaited<ReturnType<RedisStorage['createCheckpoint']>>,
    prefix: string,
    values: number,
  ): Promise<void> {
    const saved = await storage.commitCheckpoint(draft);
    expect((await saved.keys()).length).toBe(values);
    await saved.release();
    const other = await RedisStorage.openRaw({ url: REDIS_URL, prefix });
    const loaded = await other.loadCheckpoint(draft.identifier);
    expect((await loaded.keys()).length).toBe(values);
    if (values > 0) expect(await loaded.get('k29')).toEqual({ i: 29, pad: 'x'.repeat(1000) });
    await loaded.release();
    await other.close();
    // The failed attempt's staged values are gone or expiring; the committed hash stays.
    const keys = await keysUnder(admin, prefix);
    const lasting = [];
    for (const key of keys) if ((await admin.pttl(key)) === -1) lasting.push(key);
    expect(lasting).toHaveLength(values > 0 ? 4 : 3); // data hash, index, order set, summaries
  }

  it('commits once when a borrowed client resends the publish step after a reconnect', async () => {
    // With ioredis's defaults, a command cut off by a dropped connection is resent once
    // the client reconnects. An empty checkpoint's commit is the publish script alone,
    // so the commit goes through after the kill, exactly once.
    const prefix = prefixes.next();
    const name = `cp-resend-${randomBytes(4).toString('hex')}`;
    const client = new Redis(REDIS_URL, { connectionName: name });
    const storage = await RedisStorage.open({ client, prefix });
    const draft = await storage.createCheckpoint('resent');
    const outcome = await killDuringCommit(admin, name, () => storage.commitCheckpoint(draft));
    expect(outcome).toBeUndefined();
    expect(await storage.checkpointIdentifiers()).toEqual(['resent']);
    expect(await admin.hlen(`${prefix}index`)).toBe(1);
    await storage.close();
    expect(client.status).toBe('ready'); // borrowed: left open
    await client.quit();
  });

  for (const path of ['small', 'staged'] as const) {
    it(`recognises its own commit when the reply was lost, so the retry succeeds (${path} path)`, async () => {
      const prefix = prefixes.next();
      const url = new URL(REDIS_URL);
      const proxy = await cuttingProxy(url.hostname, Number(url.port || 6379));
      try {
        url.port = String(proxy.port);
        const storage = await RedisStorage.openRaw({ url: url.toString(), prefix });
        if (path === 'staged') forceStaged(storage);
        const draft = await storage.createCheckpoint('landed');
        await draft.put('v', 'first attempt');
        const cut = proxy.cutReplyTo('eval');
        const error = await failure(storage.commitCheckpoint(draft));
        await cut;
        expect(error.kind).toBe('Io');
        // The script ran; only the reply was lost, so the client could not know.
        const other = await RedisStorage.openRaw({ url: REDIS_URL, prefix });
        expect(await other.checkpointIdentifiers()).toEqual(['landed']);
        // Retrying with the same handle finds its own entry: success, not AlreadyExists,
        // and nothing of the retry is kept (the staged path's second hash is dropped).
        const saved = await storage.commitCheckpoint(draft);
        expect(await saved.get('v')).toBe('first attempt');
        await saved.release();
        expect(await keysUnder(admin, prefix)).toHaveLength(4);
        // Any other writer is still refused.
        expect((await failure(other.createCheckpoint('landed'))).kind).toBe('AlreadyExists');
        await other.close();
        await storage.close();
      } finally {
        await proxy.close();
      }
    });
  }

  it('refuses to publish when staged values vanished before the publish step (eviction)', async () => {
    const prefix = prefixes.next();
    const url = new URL(REDIS_URL);
    const proxy = await cuttingProxy(url.hostname, Number(url.port || 6379));
    try {
      url.port = String(proxy.port);
      // Only the staged path has values waiting between two commands.
      const storage = forceStaged(await RedisStorage.openRaw({ url: url.toString(), prefix }));
      const draft = await storage.createCheckpoint('evicted');
      await draft.put('v', 1);
      const { held, release } = proxy.holdRequest('eval');
      const commit = storage.commitCheckpoint(draft).then(
        () => undefined,
        (e: unknown) => e,
      );
      await held; // values staged, publish script not yet at the server
      const staged = await keysUnder(admin, `${prefix}data:`);
      expect(staged).toHaveLength(1);
      await admin.del(staged[0]); // what maxmemory eviction or an expired TTL does
      release();
      const error = (await commit) as CheckpointError;
      expect(error).toBeInstanceOf(CheckpointError);
      expect(error.kind).toBe('Io');
      expect(error.message).toBe(
        `RedisStorage could not commit checkpoint "evicted" (Redis at ${url.host}, prefix "${prefix}"): the values sent expired or were evicted before the commit finished (stagingTtlMs is 3600000; check maxmemory-policy). Nothing of the checkpoint is visible (values already sent expire on their own), and the handle is still open: retry commitCheckpoint() with it, or discard it. (Should the connection have dropped after the commit landed, the retry finds out and succeeds.)`,
      );
      expect(await storage.checkpointIdentifiers()).toEqual([]);
      // The handle still has its values: the retry stages them again and publishes.
      const saved = await storage.commitCheckpoint(draft);
      expect(await saved.get('v')).toBe(1);
      await saved.release();
      await storage.close();
    } finally {
      await proxy.close();
    }
  });

  it('commits a checkpoint larger than one staging batch (2,500 keys, 3 batches)', async () => {
    const prefix = prefixes.next();
    const storage = await RedisStorage.openRaw({ url: REDIS_URL, prefix });
    const draft = await storage.createCheckpoint('wide');
    for (let i = 0; i < 2500; i++) await draft.put(`k${i}`, i);
    await (await storage.commitCheckpoint(draft)).release();
    const loaded = await storage.loadCheckpoint('wide');
    expect((await loaded.keys()).length).toBe(2500);
    for (const i of [0, 999, 1000, 2499]) expect(await loaded.get(`k${i}`)).toBe(i);
    await loaded.release();
    const [data] = await keysUnder(admin, `${prefix}data:`);
    expect(await admin.pttl(data)).toBe(-1);
    await storage.close();
  });

  it('publishes a handle once when its commit runs again after the first one landed', async () => {
    // The case a lost reply creates: the script ran, the client never heard. Running the
    // script again, as a retry or a resend does, must answer "committed", not AlreadyExists.
    const prefix = prefixes.next();
    const storage = await RedisStorage.openRaw({ url: REDIS_URL, prefix });
    const draft = (await storage.createCheckpoint('landed')) as RedisUncommittedCheckpoint;
    await draft.put('v', 1);
    await (await storage.commitCheckpoint(draft)).release();
    const index = `${prefix}index`;
    const entry = await admin.hget(index, 'landed');
    // The same attempt resent: same data hash, nothing deleted.
    const first = `${draft.token}.0`;
    expect(
      await admin.eval(
        PUBLISH,
        4,
        index,
        `${prefix}data:${first}`,
        `${prefix}order`,
        `${prefix}summary`,
        'landed',
        draft.token,
        '1',
        first,
        storage.orderMember('landed'),
        '',
      ),
    ).toEqual([1, entry]);
    // A later attempt of the same handle: its freshly staged hash is dropped.
    const second = `${draft.token}.1`;
    await admin.hset(`${prefix}data:${second}`, 'v', 'x');
    expect(
      await admin.eval(
        PUBLISH,
        4,
        index,
        `${prefix}data:${second}`,
        `${prefix}order`,
        `${prefix}summary`,
        'landed',
        draft.token,
        '1',
        second,
        storage.orderMember('landed'),
        '',
      ),
    ).toEqual([1, entry]);
    expect(await admin.exists(`${prefix}data:${second}`)).toBe(0);
    // Another handle: refused, its staged hash dropped.
    await admin.hset(`${prefix}data:other.0`, 'v', 'x');
    expect(
      await admin.eval(
        PUBLISH,
        4,
        index,
        `${prefix}data:other.0`,
        `${prefix}order`,
        `${prefix}summary`,
        'landed',
        'other',
        '1',
        'other.0',
        storage.orderMember('landed'),
        '',
      ),
    ).toEqual([0, entry]);
    expect(await admin.exists(`${prefix}data:other.0`)).toBe(0);
    const loaded = await storage.loadCheckpoint('landed');
    expect(await loaded.get('v')).toBe(1);
    await loaded.release();
    await storage.close();
  });

  it('refuses an identifier in the one-script commit before writing anything, and answers a resend as committed', async () => {
    // What a commit racing another process, or resent after a lost reply, meets on the
    // server: the check runs first, so a refused commit leaves no data hash behind.
    const prefix = prefixes.next();
    const storage = await RedisStorage.openRaw({ url: REDIS_URL, prefix });
    const draft = (await storage.createCheckpoint('landed')) as RedisUncommittedCheckpoint;
    await draft.put('v', 1);
    await (await storage.commitCheckpoint(draft)).release();
    const index = `${prefix}index`;
    const entry = await admin.hget(index, 'landed');
    const run = (token: string, dataId: string) =>
      admin.eval(
        WRITE_AND_PUBLISH,
        4,
        index,
        `${prefix}data:${dataId}`,
        `${prefix}order`,
        `${prefix}summary`,
        'landed',
        token,
        dataId,
        storage.orderMember('landed'),
        '',
        'v',
        'other bytes',
      );
    // The same attempt resent, and a later attempt of the same handle: committed, as is.
    expect(await run(draft.token, `${draft.token}.0`)).toEqual([1, entry]);
    expect(await run(draft.token, `${draft.token}.1`)).toEqual([1, entry]);
    // Another handle: refused.
    expect(await run('other', 'other.0')).toEqual([0, entry]);
    expect(await keysUnder(admin, prefix)).toEqual([
      `${prefix}data:${draft.token}.0`,
      index,
      `${prefix}order`,
      `${prefix}summary`,
    ]);
    expect(await admin.hget(`${prefix}data:${draft.token}.0`, 'v')).not.toBe('other bytes');
    // Through the storage: AlreadyExists at commit, for a handle made before the winner.
    const early = await storage.createCheckpoint('race');
    const winner = await storage.createCheckpoint('race');
    await early.put('v', 'early');
    await winner.put('v', 'winner');
    await (await storage.commitCheckpoint(winner)).release();
    const refused = await failure(storage.commitCheckpoint(early));
    expect(refused.kind).toBe('AlreadyExists');
    expect(refused.message).toBe(
      'Checkpoint "race" is already committed, and a committed checkpoint is never replaced; choose another identifier, or remove the old one first.',
    );
    expect(await keysUnder(admin, `${prefix}data:`)).toHaveLength(2);
    const loaded = await storage.loadCheckpoint('race');
    expect(await loaded.get('v')).toBe('winner');
    await loaded.release();
    await storage.close();
  });

  it('commits a small checkpoint in one EVALSHA, and a checkpoint over the bound staged', async () => {
    const prefix = prefixes.next();
    const name = `cp-trips-${randomBytes(4).toString('hex')}`;
    const storage = await RedisStorage.openRaw({ url: REDIS_URL, prefix, connectionName: name });
    const monitor = await admin.duplicate().monitor();
    const seen: string[] = [];
    // Only this storage's commands; commands run inside a script come from "lua".
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (source !== 'lua' && args.some((a) => a.startsWith(prefix))) seen.push(args[0]);
    });
    const commands = async (values: Record<string, unknown>): Promise<string[]> => {
      seen.length = 0;
      const id = `c${randomBytes(4).toString('hex')}`;
      const draft = await storage.createCheckpoint(id);
      for (const [key, value] of Object.entries(values)) await draft.put(key, value);
      await (await storage.commitCheckpoint(draft)).release();
      // MONITOR reports on another connection: a marker command tells when it caught up.
      await admin.get(`${prefix}marker`);
      while (!seen.includes('get')) await new Promise((resolve) => setImmediate(resolve));
      return seen.slice(0, seen.indexOf('get')).map((c) => c.toLowerCase());
    };
    try {
      const big = { a: Buffer.alloc(40_000), b: Buffer.alloc(40_000) }; // over 64 KiB
      // The first use of a script on a connection sends its text (EVAL); warm both.
      await commands({ warm: 1 });
      await commands(big);
      expect(await commands({ a: 1, b: 'two', c: Buffer.alloc(1024) })).toEqual([
        'hexists',
        'evalsha',
      ]);
      expect(await commands({})).toEqual(['hexists', 'evalsha']);
      expect(await commands({ a: Buffer.alloc(60_000) })).toEqual(['hexists', 'evalsha']);
      // (MULTI and EXEC name no key, so the filter above does not show them.)
      const staging = ['hexists', 'hset', 'pexpire', 'evalsha'];
      // Over 64 KiB, and over 1,000 keys: the values are staged first.
      expect(await commands(big)).toEqual(staging);
      const wide = Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`k${i}`, i]));
      expect(await commands(wide)).toEqual([
        'hexists',
        'hset',
        'pexpire',
        'hset',
        'pexpire',
        'evalsha',
      ]);
      // After SCRIPT FLUSH (a restart, a failover) the client sends the text again.
      await admin.script('FLUSH');
      expect(await commands({ a: 1 })).toEqual(['hexists', 'evalsha', 'eval']);
      expect(await commands({ a: 1 })).toEqual(['hexists', 'evalsha']);
      for (const id of await storage.checkpointIdentifiers()) {
        const loaded = await storage.loadCheckpoint(id);
        expect((await loaded.keys()).length).toBeGreaterThanOrEqual(0);
        await loaded.release();
      }
      expect(await storage.checkpointIdentifiers()).toHaveLength(9);
    } finally {
      monitor.disconnect();
      await storage.close();
    }
  });
});
