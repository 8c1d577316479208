import { CheckpointError } from '../errors';
import { checkpointedStateOf } from './checkpointed-state';
import { describeService } from './service-autosave';
import { trackedServices } from './tracked-services';

/**
 * Tells checkpointing that the state of `service` changed: it is saved at once, or
 * `debounce` ms after the first request since the last save when the service has a
 * `debounce`. Never waits and never throws for a failed save (failures go to `onError`
 * and the `error` event). After a `Conflict` stopped autosave of the service, requests do
 * nothing more (the `Conflict` was reported).
 *
 * @throws {CheckpointError} `Metadata` when the class has no `@CheckpointedState`; `Other`
 *   when checkpointing of this instance was never started; `Released` after it stopped
 *   (the change would not be saved)
 *
 * @example
 * ```ts
 * place(order: Order) {
 *   this.book.add(order);
 *   requestSave(this);
 * }
 * ```
 */
export function requestSave(service: object): void {
  const autosave =
    service !== null && typeof service === 'object' ? trackedServices.get(service) : undefined;
  if (autosave !== undefined) {
    autosave.request();
    return;
  }
  const name =
    service !== null && typeof service === 'object' ? describeService(service) : String(service);
  if (
    service === null ||
    typeof service !== 'object' ||
    !checkpointedStateOf(service.constructor)
  ) {
    throw new CheckpointError(
      'Metadata',
      `requestSave(${name}): it is not an instance of a class with @CheckpointedState({ series: ... }); add the decorator, or save with a series yourself (manager.series(name).save(values)).`,
    );
  }
  throw new CheckpointError(
    'Other',
    `requestSave() on ${name}: its checkpointing has not started, so this change would not be saved; call await startCheckpointing(container, { services: [${name}] }) before the service takes work, and use the instance the container resolves.`,
  );
}
