/**
 * A NestJS-style service that keeps its state in checkpoints: `OrderService` is
 * `@injectable()`, receives `CheckpointManager` in its constructor (injected by type), saves
 * its order book after every change and restores the latest one when it starts. Run it
 * twice on one folder: the second run finds the orders of the first.
 *
 *   node -r @swc-node/register samples/order-service.ts ./var/orders first-order
 *   node -r @swc-node/register samples/order-service.ts ./var/orders second-order
 *
 * Each run prints one JSON line: what it restored and what it holds now.
 */
// reflect-metadata before tsyringe, in every entry point: tsyringe reads the constructor
// parameter types that the decorators below record.
import 'reflect-metadata';
import { container, injectable } from 'tsyringe';
import {
  Checkpointable,
  CheckpointField,
  CheckpointManager,
  registerCheckpointing,
} from 'checkpointable';

@Checkpointable({ name: 'sample.OrderLine' })
class OrderLine {
  @CheckpointField() sku!: string;
  @CheckpointField() quantity!: number;
}

@Checkpointable({ name: 'sample.Order' })
class Order {
  @CheckpointField() id!: string;
  @CheckpointField() placedAt!: Date;
  @CheckpointField({ type: () => OrderLine }) lines: OrderLine[] = [];
}

@Checkpointable({ name: 'sample.OrderBook' })
class OrderBook {
  @CheckpointField() revision: number = 0;
  @CheckpointField({ type: () => Order }) orders: Map<string, Order> = new Map();
}

/** The application service. It never sees a storage: only the manager. */
@injectable()
export class OrderService {
  private book = new OrderBook();
  private restoredFrom: string | undefined;

  // Injected by type: CheckpointManager is imported as a value, not with `import type`.
  constructor(private readonly checkpoints: CheckpointManager) {}

  /** Restores the newest saved order book, if there is one. */
  async start(): Promise<void> {
    const latest = (await this.checkpoints.list()).at(-1);
    if (latest === undefined) return;
    this.book = await this.checkpoints.restore(latest.identifier, 'book', OrderBook);
    this.restoredFrom = latest.identifier;
  }

  /** Places an order and saves the whole book as a new checkpoint. */
  async placeOrder(id: string, lines: { sku: string; quantity: number }[]): Promise<void> {
    const order = Object.assign(new Order(), { id, placedAt: new Date() });
    order.lines = lines.map((line) => Object.assign(new OrderLine(), line));
    this.book.orders.set(id, order);
    this.book.revision++;
    await this.save();
  }

  /** What the service holds, for printing. */
  summary(): object {
    return {
      restoredFrom: this.restoredFrom ?? null,
      revision: this.book.revision,
      orders: [...this.book.orders.values()].map((o) => ({
        id: o.id,
        lines: o.lines.length,
        placedAtIsDate: o.placedAt instanceof Date,
        restoredAsClasses: o instanceof Order && o.lines.every((l) => l instanceof OrderLine),
      })),
    };
  }

  private async save(): Promise<void> {
    // One checkpoint per revision (a committed checkpoint is never overwritten); the
    // zero-padded number keeps identifiers in order. Old revisions are pruned.
    const identifier = `orders-${String(this.book.revision).padStart(8, '0')}`;
    await this.checkpoints.save(identifier, { book: this.book });
    await this.checkpoints.prune({ keepLast: 3 });
  }
}

async function main(): Promise<void> {
  const [folder = './var/order-service', orderId = `order-${process.pid}`] = process.argv.slice(2);
  await registerCheckpointing(container, {
    storage: `file:${folder}`,
    wrappers: ['checksum', 'guard'],
  });
  const service = container.resolve(OrderService);
  await service.start();
  await service.placeOrder(orderId, [
    { sku: 'apple', quantity: 3 },
    { sku: 'pear', quantity: 1 },
  ]);
  console.log(JSON.stringify(service.summary()));
  await container.dispose(); // closes the manager and the file storage
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
