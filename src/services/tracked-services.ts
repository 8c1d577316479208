import type { ServiceAutosave } from './service-autosave';

/**
 * The service instances whose state is checkpointed, each with its autosave: how
 * `requestSave(this)` finds the policy of the instance it is called on.
 * @internal
 */
export const trackedServices = new WeakMap<object, ServiceAutosave>();
