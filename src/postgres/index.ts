/**
 * `checkpointable/postgres`: checkpoints in PostgreSQL, through `pg` (an optional peer
 * dependency, loaded only when a storage is opened).
 *
 * @example
 * ```ts
 * import { PostgresStorage } from 'checkpointable/postgres';
 * const storage = await PostgresStorage.open({ connectionString: process.env.DATABASE_URL });
 * ```
 */
export { MAX_POSTGRES_VALUE_BYTES } from './postgres-limits';
export { PostgresStorage } from './postgres-storage';
export { PostgresUncommittedCheckpoint } from './postgres-uncommitted-checkpoint';
export type { PostgresStorageOptions } from './postgres-storage-options';
export { SCHEMA_VERSION as POSTGRES_SCHEMA_VERSION } from './postgres-schema';
export type { DamagedName } from '../database/damaged-name';
