import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CheckpointManager, ChecksumWrapper, FileStorage, GuardWrapper } from 'checkpointable';
import { startChild } from '../storage/child-process';

/** Starts the sample on `folder`, waits until it listens, returns its port and first summary. */
async function start(folder: string) {
  const child = startChild('samples/order-service.ts', [folder]);
  const line = await child.waitFor((l) => l.startsWith('listening '));
  const [, port, json] = /^listening (\d+) (.*)$/.exec(line)!;
  return { child, port: Number(port), summary: JSON.parse(json!) as unknown };
}

async function place(port: number, id: string): Promise<unknown> {
  const response = await fetch(`http://127.0.0.1:${port}/orders?id=${id}`, { method: 'POST' });
  expect(response.status).toBe(201);
  return response.json();
}

const order = (id: string) => ({ id, lines: 2, placedAtIsDate: true, restoredAsClasses: true });

describe('samples/order-service.ts', () => {
  it('two real processes with a SIGTERM between: the second serves the orders of the first', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'cp-order-service-'));

    const first = await start(folder);
    expect(first.summary).toEqual({ restoredFrom: null, revision: 0, orders: [] });
    expect(await place(first.port, 'first')).toEqual({ revision: 1, orders: [order('first')] });
    first.child.process.kill('SIGTERM'); // at once: the save at shutdown must catch the order
    expect(await first.child.exited).toBe(143);

    const second = await start(folder);
    expect(second.summary).toEqual({
      restoredFrom: 1,
      revision: 1,
      orders: [order('first')],
    });
    await place(second.port, 'second');
    second.child.process.kill('SIGINT');
    expect(await second.child.exited).toBe(130);

    // What the processes left behind, as another program sees it (checksummed values, so
    // read through the same chain the sample configured).
    const storage = GuardWrapper.wrap(ChecksumWrapper.wrap(await FileStorage.openRaw(folder)));
    const manager = new CheckpointManager(storage);
    expect(await manager.seriesNames()).toEqual(['orders']);
    const history = await manager.series('orders').history();
    expect(history.map(({ identifier, keys, classes }) => ({ identifier, keys, classes }))).toEqual(
      [2, 1].map((n) => ({
        identifier: `@series:orders:00000000000${n}`,
        keys: ['state'],
        classes: [
          'CheckpointedState:orders',
          'sample.Order',
          'sample.OrderBook',
          'sample.OrderLine',
        ],
      })),
    );
    await manager.close();
  });
});
