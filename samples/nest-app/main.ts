/**
 * A NestJS 11 HTTP application keeping an order book in checkpoints.
 *
 *   CHECKPOINT_STORAGE=file:./var/nest-app PORT=3000 node -r @swc-node/register samples/nest-app/main.ts
 *   curl -X POST localhost:3000/orders -H 'content-type: application/json' \
 *        -d '{"id":"o-1","sku":"tea","quantity":2}'
 *   kill -TERM <pid>      # saves the book; start it again and GET /orders finds it
 *
 * Prints one JSON line, `{"listening":<port>}`, once it serves.
 */
import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module';

async function main(): Promise<void> {
  const app = await NestFactory.create(AppModule, {
    logger: ['error', 'warn'],
    // A failed start (a bad CHECKPOINT_STORAGE) reaches the catch below, not an abort.
    abortOnError: false,
  });
  // SIGTERM and SIGINT run the shutdown hooks: the book is saved once more, then the
  // storage closed.
  app.enableShutdownHooks();
  await app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  console.log(JSON.stringify({ listening: port }));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
