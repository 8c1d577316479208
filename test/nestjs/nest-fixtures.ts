import { Module, type DynamicModule } from '@nestjs/common';
import type { Storage } from 'checkpointable';

/** Counts the calls of `storage.close()`, leaving the storage working as before. */
export function countCloses(storage: Storage): { storage: Storage; closes: () => number } {
  let count = 0;
  const close = storage.close.bind(storage);
  storage.close = async () => {
    count++;
    await close();
  };
  return { storage, closes: () => count };
}

/** A ConfigService as `@nestjs/config` shapes it: `get(key)` over the process's settings. */
export class ConfigService {
  constructor(private readonly settings: Record<string, string | undefined>) {}
  get(key: string): string | undefined {
    return this.settings[key];
  }
}

/** Provides a {@link ConfigService} over `settings`, as `ConfigModule.forRoot()` does. */
@Module({})
export class ConfigModule {
  static with(settings: Record<string, string | undefined>): DynamicModule {
    const service = new ConfigService(settings);
    return {
      module: ConfigModule,
      providers: [{ provide: ConfigService, useValue: service }],
      exports: [ConfigService],
    };
  }
}

/**
 * Waits until `predicate` holds, checking every few milliseconds so that timers (a
 * debounce, a retry) get their turn. The 30 s limit is a hang guard, not a time limit.
 */
export async function eventually(predicate: () => boolean): Promise<void> {
  const giveUp = Date.now() + 30_000;
  while (!predicate()) {
    if (Date.now() > giveUp) throw new Error('the awaited condition never held');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
