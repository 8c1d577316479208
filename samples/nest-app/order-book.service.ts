import { BadRequestException, Injectable, NotFoundException } from '@nestjs/common';
import { Checkpointable, CheckpointedState, CheckpointField, requestSave } from 'checkpointable';
import { Order } from './order';

/**
 * The order book. Its `@CheckpointField` properties are its state, kept by
 * `CheckpointModule` in the series `order-book`: restored when the application starts
 * (before it serves), saved 200 ms after a change (changes meanwhile join that save) and
 * once more when the application shuts down, the five newest checkpoints kept.
 */
@Checkpointable({ name: 'nest-app.OrderBookService' })
@CheckpointedState({ series: 'order-book', debounce: 200, keepLast: 5 })
@Injectable()
export class OrderBookService {
  @CheckpointField() revision: number = 0;
  @CheckpointField({ type: () => Order }) orders: Map<string, Order> = new Map();

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
    requestSave(this);
    return order;
  }

  cancel(id: string): void {
    if (!this.orders.delete(id)) throw new NotFoundException(`There is no order ${id}.`);
    this.revision++;
    requestSave(this);
  }
}
