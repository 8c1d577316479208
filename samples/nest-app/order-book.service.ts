import {
  BadRequestException,
  Injectable,
  NotFoundException,
  type BeforeApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { Checkpointable, CheckpointField, CheckpointManager } from 'checkpointable';
import { Order } from './order';

const SERIES = 'order-book-';

/**
 * The order book. Its `@CheckpointField` properties are its state: restored from the newest
 * `order-book-*` checkpoint when the application starts (before it serves), saved as a
 * new one when it shuts down, the five newest kept.
 */
@Checkpointable({ name: 'nest-app.OrderBookService' })
@Injectable()
export class OrderBookService implements OnModuleInit, BeforeApplicationShutdown {
  @CheckpointField() revision: number = 0;
  @CheckpointField() generation: number = 0;
  @CheckpointField({ type: () => Order }) orders: Map<string, Order> = new Map();
  restoredFrom: string | null = null;

  // Injected by type: the CheckpointModule of app.module.ts provides it.
  constructor(private readonly checkpoints: CheckpointManager) {}

  async onModuleInit(): Promise<void> {
    const latest = (await this.checkpoints.list())
      .map((c) => c.identifier)
      .filter((id) => id.startsWith(SERIES))
      .at(-1);
    if (latest === undefined) return;
    await this.checkpoints.restoreInto(latest, 'state', this);
    this.restoredFrom = latest;
  }

  // beforeApplicationShutdown, not onApplicationShutdown: the storage is still open here.
  async beforeApplicationShutdown(): Promise<void> {
    this.generation++;
    await this.checkpoints.save(`${SERIES}${String(this.generation).padStart(8, '0')}`, {
      state: this,
    });
    await this.checkpoints.prune({ keepLast: 5 });
  }

  place(body: { id?: unknown; sku?: unknown; quantity?: unknown }): Order {
    const { id, sku, quantity } = body ?? {};
    if (typeof id !== 'string' || typeof sku !== 'string' || !Number.isSafeInteger(quantity)) {
      throw new BadRequestException('An order is { id: string, sku: string, quantity: integer }.');
    }
    const order = Object.assign(new Order(), {
      id,
      sku,
      quantity: quantity as number,
      placedAt: new Date(),
    });
    this.orders.set(id, order);
    this.revision++;
    return order;
  }

  cancel(id: string): void {
    if (!this.orders.delete(id)) throw new NotFoundException(`There is no order ${id}.`);
    this.revision++;
  }
}
