import { afterEach, describe, expect, it } from 'vitest';
import {
  Checkpointable,
  CheckpointField,
  decodeValue,
  encodeValue,
  metadataRegistry,
} from 'checkpointable';
import { expectCheckpointError } from '../fixtures/manager/expect-error';
import { rawBytes } from '../fixtures/manager/raw-bytes';

// Its own file: each "deployment" below clears the registry and declares the classes again.
afterEach(() => metadataRegistry.clear());

/** The first deployment: a Person with one `fullName`. */
function savedWithFullName(): Buffer {
  metadataRegistry.clear();
  @Checkpointable({ name: 'Person' })
  class Person {
    @CheckpointField() fullName: string = '';
    @CheckpointField() age: number = 0;
  }
  return encodeValue(Object.assign(new Person(), { fullName: 'Ada Lovelace', age: 36 }), {
    key: 'p',
  });
}

const UNDECLARED =
  'Key "p": Stored Person has the field "fullName", which Person (version 1) does not declare, so its value would be lost; if the field was renamed or removed, raise the version and add a migration that renames or removes it (migrations: { 1: ({ fullName, ...rest }) => ({ ...rest }) }), or, to throw the stored value away, declare @Checkpointable({ name: \'Person\', droppedFields: ["fullName"] }).';

describe('stored fields the class does not declare', () => {
  // Regression: the fields changed without a version bump, and restore dropped the stored
  // `fullName` and left `firstName` undefined, without a word.
  it('are a Version error naming the class, the field and both fixes', async () => {
    const bytes = savedWithFullName();
    metadataRegistry.clear();
    @Checkpointable({ name: 'Person' })
    class Person {
      @CheckpointField() firstName: string = '';
      @CheckpointField() age: number = 0;
    }
    void Person;
    await expectCheckpointError(() => decodeValue(bytes, { key: 'p' }), 'Version', UNDECLARED);
    // The self-describing stored form is checked the same way.
    await expectCheckpointError(
      () =>
        decodeValue(rawBytes(['\u0000C', 'Person', 1, { fullName: 'A', age: 1 }]), { key: 'p' }),
      'Version',
      UNDECLARED,
    );
  });

  it('are a Version error when a migration leaves them in place', async () => {
    const bytes = savedWithFullName();
    metadataRegistry.clear();
    @Checkpointable({ name: 'Person', version: 2, migrations: { 1: (d) => ({ ...d, x: 1 }) } })
    class Person {
      @CheckpointField() firstName: string = '';
      @CheckpointField() age: number = 0;
      @CheckpointField() x: number = 0;
    }
    void Person;
    const error = await expectCheckpointError(() => decodeValue(bytes), 'Version');
    expect(error.message).toContain(
      'Stored Person, after its migrations, has the field "fullName"',
    );
  });

  it('restore through a migration that renames them', () => {
    const bytes = savedWithFullName();
    metadataRegistry.clear();
    @Checkpointable({
      name: 'Person',
      version: 2,
      migrations: {
        1: ({ fullName, ...rest }) => ({ ...rest, firstName: String(fullName).split(' ')[0] }),
      },
    })
    class Person {
      @CheckpointField() firstName: string = '';
      @CheckpointField() age: number = 0;
    }
    const back = decodeValue(bytes) as Person;
    expect({ ...back }).toEqual({ firstName: 'Ada', age: 36 });
  });

  it('are thrown away when declared dropped, and missing declared fields keep their initial value', () => {
    const bytes = savedWithFullName();
    metadataRegistry.clear();
    @Checkpointable({ name: 'Person', droppedFields: ['fullName'] })
    class Person {
      @CheckpointField() firstName: string = 'unknown';
      @CheckpointField() age: number = 0;
    }
    const back = decodeValue(bytes) as Person;
    expect(back).toBeInstanceOf(Person);
    expect({ ...back }).toEqual({ firstName: 'unknown', age: 36 });
  });

  it("honours a parent class's droppedFields for its subclasses", () => {
    metadataRegistry.clear();
    @Checkpointable({ name: 'Animal', droppedFields: ['legs'] })
    class Animal {
      @CheckpointField() name: string = '';
    }
    @Checkpointable({ name: 'Dog' })
    class Dog extends Animal {
      @CheckpointField() good: boolean = true;
    }
    const back = decodeValue(
      rawBytes(['\u0000C', 'Dog', [1, 'Animal', 1], { name: 'Rex', legs: 4, good: true }]),
    ) as Dog;
    expect({ ...back }).toEqual({ name: 'Rex', good: true });
  });

  it('refuses droppedFields that name a declared field or are not names', async () => {
    metadataRegistry.clear();
    @Checkpointable({ name: 'Both', droppedFields: ['n'] })
    class Both {
      @CheckpointField() n: number = 0;
    }
    await expectCheckpointError(
      () => encodeValue(new Both()),
      'Metadata',
      "Both declares the field 'n' and also lists it in droppedFields; remove it from droppedFields (or remove its @CheckpointField()).",
    );
    await expectCheckpointError(
      () => Checkpointable({ name: 'Odd', droppedFields: [7 as unknown as string] })(class Odd {}),
      'Metadata',
      "@Checkpointable({ name: 'Odd' }) on Odd has droppedFields that is not a list of field names; write droppedFields: ['oldField'].",
    );
  });
});
