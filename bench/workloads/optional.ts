import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { type Budget } from '../harness';
import { notMeasured, type Row } from '../report';
import { wrapperBenchmarks } from './wrappers';

/** Budgets and mode shared by the optional groups. */
export interface OptionalContext {
  cpu: Budget;
  io: Budget;
  quick: boolean;
}

const SRC = resolve(__dirname, '../../src');

/** True when `src/<layer>/index.ts` of the library exports `name` (the layer has landed). */
function landed(layer: string, name: string): boolean {
  const entry = resolve(SRC, layer, 'index.ts');
  if (!existsSync(entry)) return false;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return typeof (require(entry) as Record<string, unknown>)[name] === 'function';
  } catch {
    return false;
  }
}

/**
 * Loads a workload module only when its component exists, so that this file compiles and
 * runs before the manager, PostgreSQL and Redis layers land.
 */
function workload(file: string, name: string): (context: OptionalContext) => Promise<Row[]> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require(`./${file}`) as Record<string, (context: OptionalContext) => Promise<Row[]>>)[
    name
  ];
}

/**
 * Workload groups for components built in parallel with this harness (manager,
 * PostgreSQL, Redis). A group whose component has not landed reports "not measured" rows
 * instead of failing the whole run.
 */
export function optionalBenchmarks(
  context: OptionalContext,
): { name: string; run: () => Promise<Row[]> }[] {
  const groups: { name: string; run: () => Promise<Row[]> }[] = [
    { name: 'wrappers', run: () => wrapperBenchmarks(context.cpu, context.io) },
  ];
  groups.push({
    name: 'manager',
    run: async () => {
      if (!landed('manager', 'CheckpointManager')) {
        return [
          notMeasured(
            'manager save+restore, 1,000-object graph',
            '<= 2x JSON',
            'CheckpointManager has not landed',
          ),
          notMeasured(
            'manager save+restore vs class-transformer',
            '>= 3x faster',
            'CheckpointManager has not landed',
          ),
        ];
      }
      return workload('manager', 'managerBenchmarks')(context);
    },
  });
  groups.push({
    name: 'postgres',
    run: async () => {
      if (!landed('postgres', 'PostgresStorage')) {
        return [
          notMeasured(
            'many small commits (1 KiB), PostgresStorage',
            '<= 1.5x',
            'PostgresStorage has not landed',
          ),
          notMeasured(
            'listing 10,000 checkpoints, PostgresStorage',
            '< 20 ms',
            'PostgresStorage has not landed',
          ),
        ];
      }
      return workload('databases', 'postgresBenchmarks')(context);
    },
  });
  groups.push({
    name: 'redis',
    run: async () => {
      if (!landed('redis', 'RedisStorage')) {
        return [
          notMeasured(
            'many small commits (1 KiB), RedisStorage',
            '<= 1.5x',
            'RedisStorage has not landed',
          ),
        ];
      }
      return workload('databases', 'redisBenchmarks')(context);
    },
  });
  return groups;
}
