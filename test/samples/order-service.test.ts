import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CheckpointManager, ChecksumWrapper, FileStorage, GuardWrapper } from 'checkpointable';
import { runSample } from '../fixtures/manager/run-sample';

describe('samples/order-service.ts', () => {
  it("run twice as two processes on one folder, the second finds the first one's orders", async () => {
    const folder = mkdtempSync(join(tmpdir(), 'cp-order-service-'));
    const order = (id: string) => ({
      id,
      lines: 2,
      placedAtIsDate: true,
      restoredAsClasses: true,
    });

    expect(await runSample('order-service', folder, 'first')).toEqual({
      restoredFrom: null,
      revision: 1,
      orders: [order('first')],
    });
    expect(await runSample('order-service', folder, 'second')).toEqual({
      restoredFrom: 'orders-00000001',
      revision: 2,
      orders: [order('first'), order('second')],
    });

    // What the processes left behind, as another program sees it (checksummed values, so
    // read through the same chain the sample configured).
    const storage = GuardWrapper.wrap(ChecksumWrapper.wrap(await FileStorage.openRaw(folder)));
    const manager = new CheckpointManager(storage);
    expect(
      (await manager.list()).map(({ identifier, keys, classes }) => ({
        identifier,
        keys,
        classes,
      })),
    ).toEqual([
      {
        identifier: 'orders-00000001',
        keys: ['book'],
        classes: ['sample.Order', 'sample.OrderBook', 'sample.OrderLine'],
      },
      {
        identifier: 'orders-00000002',
        keys: ['book'],
        classes: ['sample.Order', 'sample.OrderBook', 'sample.OrderLine'],
      },
    ]);
    await manager.close();
  });
});
