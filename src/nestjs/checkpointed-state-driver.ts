import { Logger } from '@nestjs/common';
import { quote, type CheckpointError } from '../errors';
import { checkpointedStateOf } from '../services/checkpointed-state';
import type { CheckpointingErrorEvent } from '../services/checkpointing-events';
import { describeService } from '../services/service-autosave';
import { startServices } from '../services/start-checkpointing';
import type { AutomaticStateDriver, AutomaticStateHandle } from './automatic-state';

const logger = new Logger('CheckpointModule');

/**
 * The automatic-state driver of `CheckpointModule`: providers whose class carries
 * `@CheckpointedState` are restored and saved by their policy, exactly as
 * `startCheckpointing` does for a tsyringe container, but on the instances Nest created,
 * so that `requestSave(this)` inside them finds their policy. Signals stay with Nest
 * (`app.enableShutdownHooks()`); failed saves go to `onError`, or to Nest's `Logger`.
 * @internal
 */
export const checkpointedStateDriver: AutomaticStateDriver = {
  carries: (type) => checkpointedStateOf(type) !== undefined,

  async start(services, manager, _storage, { name, onError }): Promise<AutomaticStateHandle> {
    const outcomes = new Map<object, { at: Date; error?: unknown }>();
    if (services.length === 0) {
      return { saveNow: () => Promise.resolve(), stop: () => Promise.resolve() };
    }
    const handle = await startServices(
      manager,
      services.map((service) => ({ ctor: service.constructor, resolve: () => service })),
      {
        caller: `CheckpointModule ${quote(name)}`,
        onError: onError ?? ((error, event) => logFailure(name, error, event)),
        onSettled: (service, error) => outcomes.set(service, { at: new Date(), error }),
      },
    );
    return {
      // The handle's stop runs the final saves of the services whose policy has them.
      saveNow: () => handle.stop(),
      stop: () => handle.stop(),
      lastSave: () => worstOutcome([...outcomes.values()]),
    };
  },
};

function worstOutcome(
  outcomes: { at: Date; error?: unknown }[],
): { at: Date; error?: unknown } | undefined {
  const latestFailure = outcomes
    .filter((o) => o.error !== undefined)
    .sort((a, b) => b.at.getTime() - a.at.getTime())[0];
  if (latestFailure !== undefined) return latestFailure;
  return [...outcomes].sort((a, b) => a.at.getTime() - b.at.getTime())[0];
}

function logFailure(name: string, error: CheckpointError, event: CheckpointingErrorEvent): void {
  const what = `${describeService(event.service)} (series ${quote(event.series)}${name === 'default' ? '' : `, storage ${quote(name)}`})`;
  if (event.committed) {
    logger.warn(
      `The state of ${what} was saved, but removing its old checkpoints failed: ${error.message}`,
    );
    return;
  }
  const next = event.stopped
    ? 'its autosave stopped; restart the application to continue from the latest checkpoint'
    : event.retryIn === undefined
      ? 'no retry follows'
      : `retrying in ${event.retryIn} ms`;
  logger.error(`Saving the state of ${what} failed (${next}): ${error.message}`, error.stack);
}
