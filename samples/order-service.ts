/**
 * A service whose state the library checkpoints by itself: `OrderService` declares its
 * state with `@CheckpointedState` and `@CheckpointField`, and calls `requestSave(this)`
 * after each change. No identifiers, no listing, no pruning, no save-on-exit code.
 *
 * It serves HTTP: `POST /orders?id=...` places an order, `GET /orders` shows the book.
 * Stop it with SIGTERM (or Ctrl-C): the last changes are saved, then it exits. Start it
 * again on the same folder and the orders are back.
 *
 *   node -r @swc-node/register samples/order-service.ts ./var/orders
 *   curl -X POST 'http://127.0.0.1:<port>/orders?id=first-order'
 *
 * It prints one line when it listens: `listening <port> <JSON summary>`.
 */
// reflect-metadata before tsyringe, in every entry point: tsyringe reads the constructor
// parameter types that the decorators below record.
import 'reflect-metadata';
import { createServer } from 'node:http';
import { container, injectable } from 'tsyringe';
import {
  Checkpointable,
  CheckpointedState,
  CheckpointField,
  registerCheckpointing,
  requestSave,
  startCheckpointing,
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

/**
 * The application service. Its state is `book`; it is saved 500 ms after a change (and
 * every 30 s if changed), the newest 10 checkpoints are kept, and a last save runs at
 * shutdown.
 */
@injectable()
@CheckpointedState({ series: 'orders', every: 30_000, debounce: 500, keepLast: 10 })
export class OrderService {
  @CheckpointField() book: OrderBook = new OrderBook();

  /** Places an order; the library saves it. */
  place(id: string, lines: { sku: string; quantity: number }[]): void {
    const order = Object.assign(new Order(), { id, placedAt: new Date() });
    order.lines = lines.map((line) => Object.assign(new OrderLine(), line));
    this.book.orders.set(id, order);
    this.book.revision++;
    requestSave(this);
  }

  /** What the service holds, for printing. */
  summary(): { revision: number; orders: object[] } {
    return {
      revision: this.book.revision,
      orders: [...this.book.orders.values()].map((o) => ({
        id: o.id,
        lines: o.lines.length,
        placedAtIsDate: o.placedAt instanceof Date,
        restoredAsClasses: o instanceof Order && o.lines.every((l) => l instanceof OrderLine),
      })),
    };
  }
}

async function main(): Promise<void> {
  const [folder = './var/order-service'] = process.argv.slice(2);
  await registerCheckpointing(container, {
    storage: `file:${folder}`,
    wrappers: ['checksum', 'guard'],
  });
  // The async step before serving: resolve the service, restore its state, start saving.
  // signals: true saves once more on SIGTERM/SIGINT, then exits.
  const checkpointing = await startCheckpointing(container, {
    services: [OrderService],
    signals: true,
    onError: (error, { series }) =>
      console.error(`checkpoint of ${series} failed: ${error.message}`),
  });
  const orders = container.resolve(OrderService);
  const restoredFrom = checkpointing.restoredSequence(orders) ?? null;

  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (request.method === 'POST' && url.pathname === '/orders') {
      const id = url.searchParams.get('id') ?? `order-${Date.now()}`;
      orders.place(id, [
        { sku: 'apple', quantity: 3 },
        { sku: 'pear', quantity: 1 },
      ]);
      response.writeHead(201, { 'content-type': 'application/json' });
      response.end(JSON.stringify(orders.summary()));
    } else if (request.method === 'GET' && url.pathname === '/orders') {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify(orders.summary()));
    } else {
      response.writeHead(404).end();
    }
  });
  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address() as { port: number };
    console.log(`listening ${port} ${JSON.stringify({ restoredFrom, ...orders.summary() })}`);
  });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
