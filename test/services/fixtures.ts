import { container, type DependencyContainer } from 'tsyringe';
import {
  CheckpointManager,
  MemoryStorage,
  registerCheckpointing,
  type CheckpointingEventMap,
  type CheckpointingHandle,
  type Storage,
} from 'checkpointable';
import { InstrumentedWrapper } from '../fixtures/series/instrumented-wrapper';

/** A child container with checkpointing over an instrumented (guarded) memory storage. */
export async function setUp(
  storage: Storage = new MemoryStorage(),
): Promise<{ di: DependencyContainer; wrapper: InstrumentedWrapper; manager: CheckpointManager }> {
  const wrapper = new InstrumentedWrapper(storage);
  const di = container.createChildContainer();
  const manager = await registerCheckpointing(di, { storage: wrapper });
  return { di, wrapper, manager };
}

/** Resolves with the next event of `name` on the handle. */
export function next<K extends keyof CheckpointingEventMap>(
  handle: CheckpointingHandle,
  name: K,
): Promise<CheckpointingEventMap[K]> {
  return new Promise((resolve) => {
    const off = handle.on(name, (event) => {
      off();
      resolve(event);
    });
  });
}

/**
 * Waits until `predicate` holds, letting real I/O and promises run between checks
 * (setImmediate is not faked). A hang guard, not a time limit: 10,000 turns.
 */
export async function until(predicate: () => boolean): Promise<void> {
  for (let turn = 0; turn < 10_000; turn++) {
    if (predicate()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error('the awaited condition never held');
}
