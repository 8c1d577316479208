/**
 * `checkpointable/redis`: checkpoints in Redis, through `ioredis` (an optional peer
 * dependency, loaded only when a storage is opened).
 *
 * @example
 * ```ts
 * import { RedisStorage } from 'checkpointable/redis';
 * const storage = await RedisStorage.open({ url: process.env.REDIS_URL });
 * ```
 */
export { RedisStorage } from './redis-storage';
export { RedisUncommittedCheckpoint } from './redis-uncommitted-checkpoint';
export type { RedisStorageOptions } from './redis-storage-options';
export type { DamagedName } from '../database/damaged-name';
