import { CheckpointError } from '../errors';
import type { AutomaticStateDriver } from './automatic-state';
import { DEFAULT_CHECKPOINT_NAME } from './checkpoint-tokens';

/** A storage of the application, by its `CheckpointModule` name and `services` option. @internal */
export interface StateOwner {
  name: string;
  services: readonly Function[] | undefined;
}

/**
 * Assigns every instance whose class carries automatic state to exactly one storage: the
 * storage whose `services` lists its class (or a parent class), otherwise the default
 * storage when it lists none. Every `CheckpointModule` of the application computes the
 * same assignment and starts its own share.
 *
 * @returns the instances of each storage, by name
 * @throws {CheckpointError} `Initialization` when an instance is listed by two storages or
 *   by none that can keep it, or a listed class has no such instance
 * @internal
 */
export function assignAutomaticState(
  instances: Iterable<object>,
  owners: readonly StateOwner[],
  driver: AutomaticStateDriver,
): Map<string, object[]> {
  const assigned = new Map<string, object[]>(owners.map((o) => [o.name, []]));
  const fallback = owners.find((o) => o.name === DEFAULT_CHECKPOINT_NAME && !o.services);
  const listedSeen = new Set<Function>();
  for (const instance of instances) {
    const type = instance.constructor;
    if (typeof type !== 'function' || !driver.carries(type)) continue;
    const claims = owners.flatMap((owner) =>
      (owner.services ?? [])
        .filter((listed) => instance instanceof listed)
        .map((listed) => ({ owner, listed })),
    );
    for (const { listed } of claims) listedSeen.add(listed);
    const owner = claims[0]?.owner ?? fallback;
    if (new Set(claims.map((c) => c.owner)).size > 1) {
      throw new CheckpointError(
        'Initialization',
        `${type.name} has @CheckpointedState and is listed in the services of ${claims.map((c) => `CheckpointModule ${JSON.stringify(c.owner.name)} (as ${c.listed.name})`).join(' and ')}; list it in one storage only.`,
      );
    }
    if (owner === undefined) {
      throw new CheckpointError(
        'Initialization',
        `${type.name} has @CheckpointedState, but no CheckpointModule keeps its state; import CheckpointModule.forRoot({ storage }) without a name and without services, or list ${type.name} in the services of one: CheckpointModule.forRoot({ name: 'audit', storage, services: [${type.name}] }).`,
      );
    }
    assigned.get(owner.name)!.push(instance);
  }
  for (const owner of owners) {
    for (const listed of owner.services ?? []) {
      if (listedSeen.has(listed)) continue;
      throw new CheckpointError(
        'Initialization',
        `CheckpointModule ${JSON.stringify(owner.name)} lists ${listed.name || String(listed)} in its services, but no provider of the application is one with @CheckpointedState; add @CheckpointedState({ series }) to the class and the class to a module's providers, or leave it out of services.`,
      );
    }
  }
  return assigned;
}
