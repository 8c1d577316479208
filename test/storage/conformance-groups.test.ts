/**
 * The conformance suite registers one `describe` per group, and `groups` turns groups off.
 */
import { describe, expect, it } from 'vitest';
import type { RunnerTestSuite as Suite } from 'vitest';
import { MemoryStorage } from 'checkpointable';
import { storageConformance } from 'checkpointable/testing';

const ALL = [
  'uncommitted checkpoints',
  'commit',
  'summaries and labels',
  'handles after use',
  'remove and list',
  'guard',
  'identifier and key grammar',
  'value fidelity',
];

describe('conformance groups', () => {
  storageConformance('every group', {
    create: async () => MemoryStorage.create(),
    capabilities: { guarded: true, labels: true },
  });
  storageConformance('handles only', {
    create: async () => MemoryStorage.create(),
    capabilities: { guarded: true, labels: true },
    groups: {
      uncommitted: false,
      commit: false,
      twoStorages: false,
      summaries: false,
      removeAndList: false,
      guard: false,
      grammar: false,
      values: false,
    },
  });
  storageConformance('unguarded, without a second storage object', {
    create: async () => new MemoryStorage(),
    capabilities: { guarded: false, labels: true },
  });

  const groupsOf = (parent: Suite | undefined, name: string): string[] => {
    const suite = parent?.tasks.find((t) => t.name === `storage conformance: ${name}`);
    expect(suite?.type).toBe('suite');
    return (suite as Suite).tasks.map((t) => t.name);
  };

  it('registers every group by default, each as its own describe block', ({ task }) => {
    expect(groupsOf(task.suite, 'every group')).toEqual(ALL);
  });

  it('registers only the groups left on', ({ task }) => {
    expect(groupsOf(task.suite, 'handles only')).toEqual(['handles after use']);
  });

  it('leaves out the guard group for an unguarded storage', ({ task }) => {
    expect(groupsOf(task.suite, 'unguarded, without a second storage object')).toEqual(
      ALL.filter((g) => g !== 'guard'),
    );
  });
});
