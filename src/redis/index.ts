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
export {
  RedisStorage,
  RedisUncommittedCheckpoint,
  type RedisStorageOptions,
} from './redis-storage';
export type { DamagedName } from '../database/damaged-name';
