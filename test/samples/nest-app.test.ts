import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CheckpointManager, ChecksumWrapper, FileStorage } from 'checkpointable';
import type { CheckpointHealth } from 'checkpointable/nestjs';
import { OrderBookService } from '../../samples/nest-app/order-book.service';
import { DATABASE_URL, postgresAnswers, sql, TestTables } from '../postgres/postgres-server';

const ROOT = resolve(__dirname, '../..');

/** samples/nest-app running as its own Node.js process, as `node -r @swc-node/register` starts it. */
class RunningApp {
  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
    private readonly exited: Promise<{ code: number | null; signal: string | null }>,
    readonly output: () => string,
  ) {}

  static async start(storage: string): Promise<RunningApp> {
    const child = spawn(
      process.execPath,
      ['-r', '@swc-node/register', 'samples/nest-app/main.ts'],
      {
        cwd: ROOT,
        env: { ...process.env, CHECKPOINT_STORAGE: storage, PORT: '0' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<{ code: number | null; signal: string | null }>((done) =>
      child.on('exit', (code, signal) => done({ code, signal })),
    );
    const port = await new Promise<number>((done, fail) => {
      child.stdout!.on('data', () => {
        const line = /\{"listening":(\d+)\}/.exec(output);
        if (line) done(Number(line[1]));
      });
      void exited.then(({ code }) => fail(new Error(`the app exited (${code}): ${output}`)));
    });
    return new RunningApp(child, `http://127.0.0.1:${port}`, exited, () => output);
  }

  async request(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; json: unknown }> {
    const response = await fetch(`${this.url}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return {
      status: response.status,
      json: text === '' ? undefined : (JSON.parse(text) as unknown),
    };
  }

  /** Sends SIGTERM and waits for the process to end. */
  async terminate(): Promise<{ code: number | null; signal: string | null }> {
    this.child.kill('SIGTERM');
    return this.exited;
  }
}

/** Drives one life of the app: orders placed and cancelled over HTTP, then SIGTERM. */
async function firstLife(storage: string): Promise<unknown> {
  const app = await RunningApp.start(storage);
  expect(
    (await app.request('POST', '/orders', { id: 'o-1', sku: 'tea', quantity: 2 })).status,
  ).toBe(201);
  expect(
    (await app.request('POST', '/orders', { id: 'o-2', sku: 'cake', quantity: 1 })).status,
  ).toBe(201);
  expect(
    (await app.request('POST', '/orders', { id: 'o-3', sku: 'jam', quantity: 4 })).status,
  ).toBe(201);
  expect((await app.request('DELETE', '/orders/o-2')).status).toBe(204);
  expect((await app.request('POST', '/orders', { id: 'bad' })).status).toBe(400);
  const before = (await app.request('GET', '/orders')).json as {
    revision: number;
    orders: unknown[];
  };
  expect(before.revision).toBe(4);
  expect(before.orders).toHaveLength(2);
  // Saved while running, 200 ms after the changes (the debounce), not only at shutdown:
  // the health endpoint reports that save.
  await eventually(async () => {
    const health = await app.request('GET', '/health');
    expect(health.status).toBe(200);
    const { checkpoints } = health.json as { checkpoints: CheckpointHealth };
    expect(checkpoints.lastSave?.ok).toBe(true);
    expect(checkpoints.checkpoints).toBeGreaterThanOrEqual(1);
  });
  // Nest's shutdown hooks close the app, then end the process with the signal it got;
  // a failed shutdown would exit with code 1 instead.
  expect(await app.terminate(), app.output()).toEqual({ code: null, signal: 'SIGTERM' });
  return before;
}

/** Starts the app again on the same storage and checks the book came back whole. */
async function secondLife(storage: string, before: unknown): Promise<void> {
  const app = await RunningApp.start(storage);
  const after = (await app.request('GET', '/orders')).json as Record<string, unknown>;
  expect(after).toEqual(before);
  expect(
    (await app.request('POST', '/orders', { id: 'o-4', sku: 'tea', quantity: 1 })).json,
  ).toMatchObject({
    id: 'o-4',
  });
  expect(await app.terminate(), app.output()).toEqual({ code: null, signal: 'SIGTERM' });
}

/**
 * The identifiers of the order book's series after two lives: numbered from 1 without a
 * gap, at least one save per life (the debounced one and the one at SIGTERM may be one or
 * two, as the timing falls).
 */
function expectSeries(identifiers: string[]): void {
  const sequences = identifiers.map((id) => {
    const match = /^@series:order-book:(\d{12})$/.exec(id);
    expect(match, id).not.toBeNull();
    return Number(match![1]);
  });
  expect(sequences.length).toBeGreaterThanOrEqual(2);
  expect(sequences).toEqual(sequences.map((_, i) => i + 1));
}

/** Retries `check` until it passes, as a hang guard; the last failure is thrown. */
async function eventually(check: () => Promise<void>): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await check();
    } catch (error) {
      if (attempt >= 600) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

describe('samples/nest-app', () => {
  it('on file storage: the order book survives SIGTERM and a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cp-nest-app-'));
    const storage = `file:${dir}`;
    const before = await firstLife(storage);
    await secondLife(storage, before);
    // Checkpoints of the series, checksummed as the app configured; the latest has o-4.
    const manager = new CheckpointManager(ChecksumWrapper.wrap(await FileStorage.openRaw(dir)));
    expectSeries((await manager.list()).map((c) => c.identifier));
    const latest = await manager.series('order-book').restoreLatest('state', OrderBookService);
    expect([...latest!.orders.keys()]).toEqual(['o-1', 'o-3', 'o-4']);
    await manager.close();
  });

  it('refuses to start on a storage URL it does not know, saying so without the password', async () => {
    const failure = await RunningApp.start('mysql://root:s3cret@db/app').then(
      () => undefined,
      (error: unknown) => (error as Error).message,
    );
    expect(failure).toContain(
      "The checkpoint storage is configured as a 'mysql:' URL; use one of: 'memory:', 'file:./path'",
    );
    expect(failure).toContain('the app exited (1)');
    expect(failure).not.toContain('s3cret');
  });
});

describe.runIf(postgresAnswers())('samples/nest-app on PostgreSQL', () => {
  const tables = new TestTables();
  afterAll(() => tables.dropAll());

  it('keeps the order book in the table its storage URL names, across SIGTERM and a restart', async () => {
    const table = tables.next();
    const storage = `${DATABASE_URL}?table=${table}`;
    const before = await firstLife(storage);
    await secondLife(storage, before);
    const rows = await sql<{ identifier: string }>(`SELECT identifier FROM "${table}" ORDER BY 1`);
    expectSeries(rows.map((r) => r.identifier));
  });
});
