import { afterAll, describe, it } from 'vitest';
import { CheckpointManager, MemoryStorage } from 'checkpointable';
import { FIDELITY_CASES } from 'checkpointable/testing';
import { Order, sampleOrder } from '../fixtures/manager/domain';

// The README's table "What restore does with each kind of value", checked through the
// manager with the same exact checks every storage passes.
const manager = new CheckpointManager(MemoryStorage.create());
afterAll(() => manager.close());

describe('restore returns every value kind exactly', () => {
  let n = 0;
  for (const fidelity of FIDELITY_CASES) {
    it(fidelity.name, async () => {
      const original = fidelity.make();
      const id = `kind-${n++}`;
      await manager.save(id, { value: original });
      fidelity.check(await manager.restore(id, 'value'), original);
      // And as a field value of a @Checkpointable instance.
      const order = sampleOrder();
      order.totals = new Map([['x', 1]]);
      const holder = { order, value: original };
      await manager.save(`${id}-nested`, { holder });
      const restored = await manager.restore<typeof holder>(`${id}-nested`, 'holder');
      fidelity.check(restored.value, original);
      if (!(restored.order instanceof Order)) throw new Error('the order is not an Order');
    });
  }
});
