import { describe, expect, it } from 'vitest';
import { Checkpointable, CheckpointField, encodeValue, metadataRegistry } from 'checkpointable';
import { expectCheckpointError } from '../fixtures/manager/expect-error';

// Its own file: clear() forgets every class of the process (a test worker here).
describe('metadataRegistry.clear()', () => {
  it('forgets every class, so a test can declare one with the same name again', async () => {
    function declare(version: number) {
      @Checkpointable({ name: 'Reused', version })
      class Reused {
        @CheckpointField() n: number = 1;
      }
      return Reused;
    }
    const First = declare(1);
    encodeValue(new First());
    expect(metadataRegistry.byName('Reused')?.ctor).toBe(First);
    await expectCheckpointError(() => declare(2), 'Metadata');

    metadataRegistry.clear();
    expect(metadataRegistry.byName('Reused')).toBeUndefined();
    const Second = declare(2);
    expect(metadataRegistry.byName('Reused')?.version).toBe(2);
    expect(metadataRegistry.byConstructor(Second)?.fieldNames).toEqual(['n']);
    // The forgotten class is no longer savable.
    expect(metadataRegistry.byConstructor(First)).toBeUndefined();
  });
});
