import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import {
  Checkpointable,
  CheckpointField,
  decodeValue,
  encodeValue,
  metadataRegistry,
  type Migration,
} from 'checkpointable';
import { expectCheckpointError } from '../fixtures/manager/expect-error';
import { rawBytes } from '../fixtures/manager/raw-bytes';

// Its own file: each "deployment" below clears the registry and declares the classes again.
afterEach(() => metadataRegistry.clear());

interface Deployment {
  Employee: new () => { name: string; team?: string };
  Manager: new () => { name: string; team?: string; reports: number; span?: string };
}

/** The first deployment: `Employee` and `Manager extends Employee`, both at version 1. */
function deployV1(): Deployment {
  metadataRegistry.clear();
  @Checkpointable({ name: 'Employee' })
  class Employee {
    @CheckpointField() name: string = '';
  }
  @Checkpointable({ name: 'Manager' })
  class Manager extends Employee {
    @CheckpointField() reports: number = 0;
  }
  return { Employee, Manager };
}

/**
 * A later deployment: `Employee` at version 2 (adds `team`); `Manager` at `version`
 * (version 2 adds `span`, computed from the parent's current fields). Migrations append
 * to `steps`.
 */
function deployV2(version: 1 | 2, steps: string[] = []): Deployment {
  metadataRegistry.clear();
  @Checkpointable({
    name: 'Employee',
    version: 2,
    migrations: {
      1: (d) => {
        steps.push('Employee 1->2');
        return { ...d, team: 'unassigned' };
      },
    },
  })
  class Employee {
    @CheckpointField() name: string = '';
    @CheckpointField() team: string = 'new';
  }
  const managerMigrations: Record<number, Migration> = {
    1: (d) => {
      steps.push('Manager 1->2');
      return { ...d, span: `${String(d.team)}:${String(d.reports)}` };
    },
  };
  @Checkpointable({ name: 'Manager', version, migrations: version === 2 ? managerMigrations : {} })
  class Manager extends Employee {
    @CheckpointField() reports: number = 0;
    @CheckpointField() span: string = '';
  }
  return { Employee, Manager };
}

describe("a parent class's migrations run for its subclasses", () => {
  it('stores the parent versions with a subclass instance', () => {
    const { Manager } = deployV1();
    const json = encodeValue(Object.assign(new Manager(), { name: 'Ada', reports: 3 }))
      .toString('utf8', 8)
      .replace(/[^\x20-\x7e]/g, '');
    expect(json).toContain('"Manager",[1,"Employee",1],');
  });

  // Regression: a Manager saved while Employee was at version 1 came back after Employee
  // went to version 2 without Employee's migration: `team` was undefined.
  it("runs the parent's migration for a subclass saved before the parent's version rose", () => {
    const v1 = deployV1();
    const bytes = encodeValue(Object.assign(new v1.Manager(), { name: 'Ada', reports: 3 }));
    const steps: string[] = [];
    const v2 = deployV2(1, steps);
    const back = decodeValue(bytes) as InstanceType<Deployment['Manager']>;
    expect(back).toBeInstanceOf(v2.Manager);
    expect(steps).toEqual(['Employee 1->2']);
    expect({ name: back.name, team: back.team, reports: back.reports }).toEqual({
      name: 'Ada',
      team: 'unassigned',
      reports: 3,
    });
  });

  it('runs parents first, so a subclass migration sees the parent fields upgraded', () => {
    const v1 = deployV1();
    const bytes = encodeValue([Object.assign(new v1.Manager(), { name: 'Ada', reports: 3 })]);
    const steps: string[] = [];
    deployV2(2, steps);
    const [back] = decodeValue(bytes) as InstanceType<Deployment['Manager']>[];
    expect(steps).toEqual(['Employee 1->2', 'Manager 1->2']);
    expect(back.span).toBe('unassigned:3');
  });

  it('runs nothing for data saved at the current versions', () => {
    const steps: string[] = [];
    const v2 = deployV2(2, steps);
    const m = Object.assign(new v2.Manager(), { name: 'Ada', team: 'core', reports: 3, span: 's' });
    const back = decodeValue(encodeValue(m)) as InstanceType<Deployment['Manager']>;
    expect(steps).toEqual([]);
    expect({ ...back }).toEqual({ ...m });
  });

  it('takes a parent missing from stored data to be at its current version', () => {
    // Data written before parent versions were stored: the version is a plain number.
    const steps: string[] = [];
    const v2 = deployV2(1, steps);
    const bytes = rawBytes([
      '\u0000K',
      'Manager',
      1,
      ['name', 'team', 'reports', 'span'],
      'Ada',
      'x',
      3,
      '',
    ]);
    const back = decodeValue(bytes) as InstanceType<Deployment['Manager']>;
    expect(back).toBeInstanceOf(v2.Manager);
    expect(steps).toEqual([]);
    expect({ name: back.name, team: back.team, reports: back.reports }).toEqual({
      name: 'Ada',
      team: 'x',
      reports: 3,
    });
  });

  it('refuses a stored parent version newer than the code, naming both classes', async () => {
    deployV2(1);
    await expectCheckpointError(
      () =>
        decodeValue(
          rawBytes(['\u0000C', 'Manager', [1, 'Employee', 3], { name: 'A', reports: 1 }]),
          { key: 'm' },
        ),
      'Version',
      'Key "m": Stored Manager holds its parent class Employee at version 3, but this code knows versions of Employee up to 2; deploy the newer code that wrote it, or restore with it.',
    );
  });

  it("names the parent's missing migration step", async () => {
    metadataRegistry.clear();
    @Checkpointable({ name: 'Shape', version: 2 })
    class Shape {
      @CheckpointField() sides: number = 0;
    }
    @Checkpointable({ name: 'Square' })
    class Square extends Shape {
      @CheckpointField() size: number = 0;
    }
    void Square;
    await expectCheckpointError(
      () => decodeValue(rawBytes(['\u0000C', 'Square', [1, 'Shape', 1], { sides: 4, size: 2 }])),
      'Version',
      "Stored Square's parent class Shape has version 1, but this code (version 2) has no migration from version 1 to 2; add migrations: { 1: (data) => ({ ...upgraded fields }) } to @Checkpointable({ name: 'Shape' }).",
    );
  });
});

describe('property: the right migration steps run, parents first', () => {
  it('for any stored and current versions of a class and its parent (200 runs)', () => {
    const versions = fc
      .tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 3 }))
      .map(([saved, more]) => ({ saved, now: saved + more }));
    fc.assert(
      fc.property(versions, versions, fc.boolean(), (base, own, storeBase) => {
        metadataRegistry.clear();
        const steps: string[] = [];
        const chain = (name: string, now: number): Record<number, Migration> =>
          Object.fromEntries(
            Array.from({ length: now - 1 }, (_, i) => [
              i + 1,
              (d: Record<string, unknown>) => {
                steps.push(`${name} ${i + 1}`);
                return d;
              },
            ]),
          );
        @Checkpointable({ name: 'PBase', version: base.now, migrations: chain('PBase', base.now) })
        class PBase {
          @CheckpointField() a: number = 0;
        }
        @Checkpointable({ name: 'PSub', version: own.now, migrations: chain('PSub', own.now) })
        class PSub extends PBase {
          @CheckpointField() b: number = 0;
        }
        const slot = storeBase ? [own.saved, 'PBase', base.saved] : own.saved;
        const back = decodeValue(rawBytes(['\u0000C', 'PSub', slot, { a: 1, b: 2 }])) as PSub;
        expect(back).toBeInstanceOf(PSub);
        expect({ ...back }).toEqual({ a: 1, b: 2 });
        const from = storeBase ? base.saved : base.now;
        expect(steps).toEqual([
          ...Array.from({ length: base.now - from }, (_, i) => `PBase ${from + i}`),
          ...Array.from({ length: own.now - own.saved }, (_, i) => `PSub ${own.saved + i}`),
        ]);
      }),
      { numRuns: 200 },
    );
  });
});
