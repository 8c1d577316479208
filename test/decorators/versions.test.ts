import { describe, expect, it } from 'vitest';
import { Checkpointable, CheckpointField, decodeValue, encodeValue } from 'checkpointable';
import { expectCheckpointError } from '../fixtures/manager/expect-error';
import { rawBytes, storedInstance } from '../fixtures/manager/raw-bytes';

const steps: string[] = [];

/** Version 3 of a profile: v1 had `fullName`; v2 split it; v3 added `email`. */
@Checkpointable({
  name: 'Profile',
  version: 3,
  migrations: {
    1: (data) => {
      steps.push('1->2');
      const [first, last] = String(data.fullName).split(' ');
      return { first, last, since: data.since };
    },
    2: (data) => {
      steps.push('2->3');
      return { ...data, email: `${String(data.first).toLowerCase()}@example.com` };
    },
  },
})
class Profile {
  @CheckpointField() first!: string;
  @CheckpointField() last!: string;
  @CheckpointField() since!: Date;
  @CheckpointField() email!: string;
}

@Checkpointable({ name: 'Gappy', version: 3, migrations: { 2: (data) => data } })
class Gappy {
  @CheckpointField() n!: number;
}

@Checkpointable({
  name: 'Broken',
  version: 2,
  migrations: {
    1: (data) => {
      if (data.bad) throw new Error('bad input');
      return 42 as unknown as Record<string, unknown>;
    },
  },
})
class Broken {
  @CheckpointField() n!: number;
}

describe('versions and migrations', () => {
  it('records the class name and version with every saved instance', () => {
    const p = Object.assign(new Profile(), {
      first: 'A',
      last: 'B',
      since: new Date(1),
      email: 'e',
    });
    const json = encodeValue(p)
      .toString('utf8', 8)
      .replace(/[^\x20-\x7e]/g, '');
    expect(json).toContain('"Profile",3,');
  });

  it('runs the migration chain step by step, with revived values, newest last', () => {
    steps.length = 0;
    const bytes = rawBytes(
      storedInstance('Profile', 1, { fullName: 'Ada Lovelace', since: '\u0000d1000' }),
    );
    const p = decodeValue(bytes) as Profile;
    expect(steps).toEqual(['1->2', '2->3']);
    expect(p).toBeInstanceOf(Profile);
    expect({ ...p }).toEqual({
      first: 'Ada',
      last: 'Lovelace',
      since: new Date(1000),
      email: 'ada@example.com',
    });
  });

  it('starts the chain at the stored version', () => {
    steps.length = 0;
    const bytes = rawBytes(
      storedInstance('Profile', 2, { first: 'Grace', last: 'Hopper', since: '\u0000d0' }),
    );
    expect((decodeValue(bytes) as Profile).email).toBe('grace@example.com');
    expect(steps).toEqual(['2->3']);
  });

  it('refuses data newer than the code, naming the class and both versions', async () => {
    await expectCheckpointError(
      () =>
        decodeValue(rawBytes(storedInstance('Profile', 4, {})), { key: 'me', identifier: 'cp' }),
      'Version',
      'Key "me" of checkpoint "cp": Stored Profile has version 4, but this code knows versions up to 3; deploy the newer code that wrote it, or restore with it.',
    );
  });

  it('refuses a missing step, naming the class, both versions and the step to add', async () => {
    await expectCheckpointError(
      () => decodeValue(rawBytes(storedInstance('Gappy', 1, { n: 1 })), { key: 'g' }),
      'Version',
      'Key "g": Stored Gappy has version 1, but this code (version 3) has no migration from version 1 to 2; add migrations: { 1: (data) => ({ ...upgraded fields }) } to @Checkpointable({ name: \'Gappy\' }).',
    );
    expect((decodeValue(rawBytes(storedInstance('Gappy', 2, { n: 5 }))) as Gappy).n).toBe(5);
  });

  it('reports a migration that throws or returns no object', async () => {
    await expectCheckpointError(
      () => decodeValue(rawBytes(storedInstance('Broken', 1, { bad: true }))),
      'Version',
      "The migration of Broken from version 1 to 2 threw: bad input; fix migrations[1] of @Checkpointable({ name: 'Broken' }).",
    );
    await expectCheckpointError(
      () => decodeValue(rawBytes(storedInstance('Broken', 1, {}))),
      'Version',
      'The migration of Broken from version 1 to 2 returned a number; migrations[1] must return the object of upgraded field values.',
    );
    void Broken;
  });
});
