/**
 * Two replicas of one service, racing on one series. Both start from the same saved
 * state; the first to save wins, the other gets a `Conflict` instead of silently
 * overwriting the winner's work. Here the replicas are two containers in one process,
 * each with its own FileStorage on one folder, as two processes would have.
 *
 *   node -r @swc-node/register samples/replica-race.ts ./var/replicas
 *
 * It prints what happened as one JSON line.
 */
import 'reflect-metadata';
import { container, injectable } from 'tsyringe';
import {
  CheckpointedState,
  CheckpointError,
  CheckpointField,
  registerCheckpointing,
  requestSave,
  startCheckpointing,
} from 'checkpointable';

@injectable()
@CheckpointedState({ series: 'stock', keepLast: 5 })
class StockService {
  @CheckpointField({ type: () => Object }) units: Record<string, number> = { apple: 10 };

  take(sku: string, n: number): void {
    this.units[sku] = (this.units[sku] ?? 0) - n;
    requestSave(this);
  }
}

async function replica(folder: string) {
  const scope = container.createChildContainer();
  await registerCheckpointing(scope, { storage: `file:${folder}` });
  const conflicts: CheckpointError[] = [];
  const checkpointing = await startCheckpointing(scope, {
    services: [StockService],
    onError: (error) => conflicts.push(error),
  });
  return { scope, checkpointing, stock: scope.resolve(StockService), conflicts };
}

async function main(): Promise<void> {
  const [folder = './var/replica-race'] = process.argv.slice(2);
  const a = await replica(folder);
  const b = await replica(folder);
  a.stock.take('apple', 3); // replica A saves first
  await a.checkpointing.saveNow();
  b.stock.take('apple', 4); // replica B saves from the state it restored: stale
  let conflict: CheckpointError | undefined;
  try {
    await b.checkpointing.saveNow();
  } catch (error) {
    if (!CheckpointError.is(error, 'Conflict')) throw error;
    conflict = error;
  }
  console.error(`replica B: ${conflict?.message}`);
  const stale = { ...b.stock.units };
  // After the Conflict, B's autosave stopped (no final save either). The way out: start
  // again from the latest checkpoint and re-apply the change.
  await b.scope.dispose();
  const b2 = await replica(folder);
  const restartedFrom = { ...b2.stock.units };
  b2.stock.take('apple', 4);
  await b2.checkpointing.saveNow();
  await a.scope.dispose();
  await b2.scope.dispose();
  console.log(
    JSON.stringify({
      a: a.stock.units,
      staleB: stale,
      conflict: conflict && { kind: conflict.kind, message: conflict.message },
      reportedToOnError: b.conflicts.map((e) => e.kind),
      restartedFrom,
      afterReapply: b2.stock.units,
    }),
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
