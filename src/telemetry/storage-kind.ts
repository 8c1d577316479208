import type { OperationAttributes } from './checkpoint-instrumentation';

/** The innermost medium's class name -> what telemetry calls it, and its `db.system`. */
const KINDS: Record<string, { kind: string; dbSystem?: string }> = {
  MemoryStorage: { kind: 'memory' },
  FileStorage: { kind: 'file' },
  PostgresStorage: { kind: 'postgres', dbSystem: 'postgresql' },
  RedisStorage: { kind: 'redis', dbSystem: 'redis' },
};

/**
 * The attributes that say which medium a storage (or wrapper chain) keeps its checkpoints
 * in: `checkpoint.storage` (`memory`, `file`, `postgres`, `redis`, or the class name of a
 * third-party storage) and, on database backends, `db.system`. Wrappers are looked through
 * by their `inner` storage.
 *
 * @example
 * ```ts
 * storageAttributes(await FileStorage.open('./data')); // { 'checkpoint.storage': 'file' }
 * ```
 */
export function storageAttributes(storage: object): OperationAttributes {
  let medium: object = storage;
  for (let depth = 0; depth < 32; depth++) {
    const inner = (medium as { inner?: unknown }).inner;
    if (inner === null || typeof inner !== 'object') break;
    medium = inner;
  }
  const name = medium.constructor?.name ?? 'unknown';
  const known = KINDS[name];
  if (known === undefined) return { 'checkpoint.storage': name };
  return known.dbSystem === undefined
    ? { 'checkpoint.storage': known.kind }
    : { 'checkpoint.storage': known.kind, 'db.system': known.dbSystem };
}
