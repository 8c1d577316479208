import { Injectable } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { CheckpointError } from '../errors';
import type { CheckpointConnection } from './checkpoint-connection';
import { checkpointName, connectionToken } from './checkpoint-tokens';

/**
 * One entry of a health check result, in the shape `@nestjs/terminus` reads: `status`
 * is `'up'` or `'down'`, the rest is shown as it is.
 *
 * @example
 * ```ts
 * const health: CheckpointHealth = { status: 'up', storage: 'default', checkpoints: 3 };
 * ```
 */
export interface CheckpointHealth {
  status: 'up' | 'down';
  /** The `CheckpointModule` name of the storage checked. */
  storage: string;
  /** How many committed checkpoints the storage listed, when it answered. */
  checkpoints?: number;
  /**
   * The automatic saves of the storage's `@CheckpointedState` providers, once one ended:
   * when it ended, how long ago, and whether it succeeded (finding the state unchanged
   * counts as success). With several providers, the latest failure when any provider's
   * latest save failed, otherwise the latest save of the provider that saved least
   * recently.
   */
  lastSave?: { at: string; ageMs: number; ok: boolean };
  /** Why the storage is down. */
  message?: string;
}

/**
 * Options of {@link CheckpointHealthIndicator.isHealthy}.
 *
 * @example
 * ```ts
 * const options: CheckpointHealthOptions = { name: 'audit', timeoutMs: 2000 };
 * ```
 */
export interface CheckpointHealthOptions {
  /** The storage to check; the default one when left out. */
  name?: string;
  /** How long the storage may take to list its checkpoints; 5000 ms by default. */
  timeoutMs?: number;
  /**
   * Reports down when `lastSave` is older than this many milliseconds. Only `every` saves
   * an idle provider regularly: use it for providers with an `every` below the limit.
   */
  maxSaveAgeMs?: number;
}

/**
 * A health indicator for `@nestjs/terminus` (which it does not need to load): the storage
 * is up when it lists its checkpoints in time and the latest automatic save, if any,
 * succeeded. Provided by every `CheckpointModule`.
 *
 * @example
 * ```ts
 * @Controller('health')
 * class HealthController {
 *   constructor(
 *     private readonly health: HealthCheckService,
 *     private readonly checkpoints: CheckpointHealthIndicator,
 *   ) {}
 *   @Get() @HealthCheck()
 *   check() {
 *     return this.health.check([() => this.checkpoints.isHealthy('checkpoints')]);
 *   }
 * }
 * ```
 */
@Injectable()
export class CheckpointHealthIndicator {
  constructor(private readonly moduleRef: ModuleRef) {}

  /**
   * Checks one storage.
   * @returns `{ [key]: CheckpointHealth }`; never throws for a storage that is down
   * @throws {CheckpointError} `Initialization` for a name no `CheckpointModule` registered
   */
  async isHealthy<const Key extends string = 'checkpoints'>(
    key: Key = 'checkpoints' as Key,
    options: CheckpointHealthOptions = {},
  ): Promise<Record<Key, CheckpointHealth>> {
    const name = checkpointName(options.name);
    let connection: CheckpointConnection;
    try {
      connection = this.moduleRef.get<CheckpointConnection>(connectionToken(name), {
        strict: false,
      });
    } catch (error) {
      throw new CheckpointError(
        'Initialization',
        `CheckpointHealthIndicator was asked about the storage ${JSON.stringify(name)}, which no CheckpointModule registers; import CheckpointModule.forRoot({ name: ${JSON.stringify(name)}, ... }) or check the name.`,
        { cause: error },
      );
    }
    const timeoutMs = options.timeoutMs ?? 5000;
    const health: CheckpointHealth = { status: 'up', storage: name };
    try {
      health.checkpoints = (
        await withTimeout(connection.storage.checkpointIdentifiers(), timeoutMs)
      ).length;
    } catch (error) {
      health.status = 'down';
      health.message = `The checkpoint storage did not list its checkpoints: ${error instanceof Error ? error.message : String(error)}`;
    }
    const last = connection.lastSave();
    if (last !== undefined) {
      const ageMs = Date.now() - last.at.getTime();
      health.lastSave = { at: last.at.toISOString(), ageMs, ok: last.error === undefined };
      if (last.error !== undefined && health.status === 'up') {
        health.status = 'down';
        health.message = `The latest automatic save failed: ${last.error instanceof Error ? last.error.message : String(last.error)}`;
      } else if (options.maxSaveAgeMs !== undefined && ageMs > options.maxSaveAgeMs) {
        health.status = 'down';
        health.message ??= `The latest automatic save is ${ageMs} ms old, more than maxSaveAgeMs (${options.maxSaveAgeMs} ms).`;
      }
    }
    return { [key]: health } as Record<Key, CheckpointHealth>;
  }
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}
