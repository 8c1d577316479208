import { injectable } from 'tsyringe';
import { describe, expect, it } from 'vitest';
import {
  Checkpointable,
  CheckpointedState,
  CheckpointField,
  MemoryStorage,
  metadataRegistry,
  requestSave,
  startCheckpointing,
} from 'checkpointable';
import { expectCheckpointError } from '../fixtures/manager/expect-error';
import { setUp } from './fixtures';

// Its own file: it clears the class registry, as a new process with new code starts empty.
describe('versions of a service state', () => {
  it('runs migrations from @CheckpointedState when restoring', async () => {
    const storage = new MemoryStorage();
    const { di, manager } = await setUp(storage);
    @injectable()
    @CheckpointedState({ series: 'svc.migrated' })
    class V1 {
      @CheckpointField() total: number = 0;
    }
    const one = await startCheckpointing(di, { services: [V1] });
    di.resolve(V1).total = 41;
    await one.stop();
    expect(await manager.series('svc.migrated').latest()).toMatchObject({
      classes: ['CheckpointedState:svc.migrated'],
    });

    metadataRegistry.clear(); // as a new process with the new code would start
    @injectable()
    @CheckpointedState({
      series: 'svc.migrated',
      version: 2,
      migrations: { 1: (data) => ({ cents: (data.total as number) * 100 }) },
    })
    class V2 {
      @CheckpointField() cents: number = 0;
    }
    const second = await setUp(storage);
    const two = await startCheckpointing(second.di, { services: [V2] });
    expect(second.di.resolve(V2).cents).toBe(4100);
    second.di.resolve(V2).cents += 1; // saved at stop, as version 2
    await two.stop();

    // Old code meeting newer state: nothing starts, and the service says so when used.
    metadataRegistry.clear();
    @injectable()
    @CheckpointedState({ series: 'svc.migrated' })
    class Old {
      @CheckpointField() total: number = 0;
    }
    const third = await setUp(storage);
    await expectCheckpointError(
      () => startCheckpointing(third.di, { services: [Old] }),
      'Version',
      'Key "state" of checkpoint "@series:svc.migrated:000000000002": Stored CheckpointedState:svc.migrated has version 2, but this code knows versions up to 1; deploy the newer code that wrote it, or restore with it.',
    );
    expect(() => requestSave(third.di.resolve(Old))).toThrow('its checkpointing has not started');
  });

  it('accepts @Checkpointable on the class, but the version in one place only', async () => {
    const { di, manager } = await setUp();
    @injectable()
    @Checkpointable({ name: 'test.Named' })
    @CheckpointedState({ series: 'svc.named' })
    class Named {
      @CheckpointField() n: number = 1;
    }
    const checkpointing = await startCheckpointing(di, { services: [Named] });
    di.resolve(Named).n = 2;
    await checkpointing.stop();
    expect((await manager.series('svc.named').latest())!.classes).toEqual(['test.Named']);

    @injectable()
    @CheckpointedState({ series: 'svc.twice', version: 2, migrations: { 1: (d) => d } })
    @Checkpointable({ name: 'test.Twice' })
    class Twice {
      @CheckpointField() n: number = 1;
    }
    await expectCheckpointError(
      () => startCheckpointing(di, { services: [Twice] }),
      'Metadata',
      'Twice has both @Checkpointable and @CheckpointedState({ version or migrations }); give the version and migrations in one of them.',
    );
  });
});
