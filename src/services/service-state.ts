import { metadataRegistry } from '../decorators/metadata-registry';
import { CheckpointError } from '../errors';
import { encodeEntry, type EncodedEntry } from '../manager/checkpoint-transaction';
import { SERIES_PREFIX } from '../manager/series-identifier';
import type { CheckpointedStateOptions } from './checkpointed-state';

/**
 * The key under which a service's state is saved in each checkpoint of its series.
 *
 * @example
 * ```ts
 * const state = await manager.series('orders').restoreLatest(STATE_KEY, OrderService);
 * ```
 */
export const STATE_KEY = 'state';

/**
 * Makes sure the service class can be saved: when it has no `@Checkpointable`, declares it
 * with the stored name `CheckpointedState:<series>` and the `version` and `migrations` of
 * `@CheckpointedState`. Done when checkpointing starts, so that `@Checkpointable` may sit
 * above or below `@CheckpointedState`.
 *
 * @throws {CheckpointError} `Metadata` when both decorators give a version or migrations
 * @internal
 */
export function ensureStateClass(ctor: Function, options: CheckpointedStateOptions): void {
  if (metadataRegistry.isDeclared(ctor)) {
    if (options.version !== undefined || options.migrations !== undefined) {
      throw new CheckpointError(
        'Metadata',
        `${ctor.name || '(anonymous class)'} has both @Checkpointable and @CheckpointedState({ version or migrations }); give the version and migrations in one of them.`,
      );
    }
  } else {
    metadataRegistry.declareClass(ctor, {
      name: `CheckpointedState:${options.series}`,
      version: options.version,
      migrations: options.migrations,
    });
  }
  metadataRegistry.planOf(ctor);
}

/**
 * Encodes the service's state now (its `@CheckpointField` properties).
 * @throws {CheckpointError} `Serialize` naming the field that cannot be saved
 * @internal
 */
export function encodeState(service: object, series: string): EncodedEntry {
  return encodeEntry(`${SERIES_PREFIX}${series}:(next)`, STATE_KEY, service);
}
