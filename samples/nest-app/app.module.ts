import { Module } from '@nestjs/common';
import { CheckpointModule } from 'checkpointable/nestjs';
import { HealthController } from './health.controller';
import { OrderBookController } from './order-book.controller';
import { OrderBookService } from './order-book.service';

@Module({
  imports: [
    // Read at startup, so a missing or bad CHECKPOINT_STORAGE fails the start with a
    // message naming it. `file:`, `postgres://...?table=...` or `redis://...?prefix=...`.
    CheckpointModule.forRootAsync({
      useFactory: () => ({
        storage: process.env.CHECKPOINT_STORAGE ?? 'file:./var/nest-app',
        wrappers: ['checksum', 'guard'],
      }),
    }),
  ],
  controllers: [OrderBookController, HealthController],
  // OrderBookService has @CheckpointedState: the module restores and saves it.
  providers: [OrderBookService],
})
export class AppModule {}
