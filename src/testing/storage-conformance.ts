import { afterEach, beforeEach, describe } from 'vitest';
import type { Storage } from '../storage/storage';
import { commitGroup } from './conformance/commit-group';
import type { ConformanceGroups, ConformanceOptions } from './conformance/conformance-options';
import type { ConformanceSuite } from './conformance/conformance-suite';
import { grammarGroup } from './conformance/grammar-group';
import { guardGroup } from './conformance/guard-group';
import { handlesGroup } from './conformance/handles-group';
import { removeAndListGroup } from './conformance/remove-and-list-group';
import { summariesGroup } from './conformance/summaries-group';
import { twoStoragesGroup } from './conformance/two-storages-group';
import { uncommittedGroup } from './conformance/uncommitted-group';
import { valuesGroup } from './conformance/values-group';

export { AWKWARD_VALID_NAMES, INVALID_NAMES } from './conformance/conformance-names';
export type {
  ConformanceGroups,
  ConformanceOptions,
  StorageCapabilities,
} from './conformance/conformance-options';

/** Each group, in the order the suite registers them. */
const GROUPS: readonly [keyof ConformanceGroups, (suite: ConformanceSuite) => void][] = [
  ['uncommitted', uncommittedGroup],
  ['commit', commitGroup],
  ['twoStorages', twoStoragesGroup],
  ['summaries', summariesGroup],
  ['handles', handlesGroup],
  ['removeAndList', removeAndListGroup],
  ['guard', guardGroup],
  ['grammar', grammarGroup],
  ['values', valuesGroup],
];

/**
 * Registers the storage conformance suite: one Vitest `describe` block that checks every
 * rule of the storage contract and the value fidelity rules against the storages
 * `options.create` returns, one `describe` per group (`options.groups` turns groups off). Run it on every backend and every wrapper chain; a new
 * backend is done when it passes unchanged.
 *
 * @example
 * ```ts
 * import { storageConformance } from 'checkpointable/testing';
 * storageConformance('MyStorage', {
 *   create: () => MyStorage.open({ table: `t_${randomUUID()}` }),
 *   reopen: (s) => MyStorage.open({ table: (s as MyStorage).table }),
 *   capabilities: { guarded: true },
 * });
 * ```
 */
export function storageConformance(name: string, options: ConformanceOptions): void {
  describe(`storage conformance: ${name}`, () => {
    let storage: Storage;
    const extra: Storage[] = [];

    beforeEach(async () => {
      storage = await options.create();
    });

    afterEach(async () => {
      for (const s of extra.splice(0)) await s.close();
      await storage.close();
    });

    const suite: ConformanceSuite = {
      options,
      storage: () => storage,
      extra,
      async commitValues(identifier, values) {
        const draft = await storage.createCheckpoint(identifier);
        for (const [key, value] of Object.entries(values)) await draft.put(key, value);
        return storage.commitCheckpoint(draft);
      },
      async other() {
        const s = await options.reopen!(storage);
        extra.push(s);
        return s;
      },
    };

    for (const [group, register] of GROUPS) {
      if (options.groups?.[group] !== false) register(suite);
    }
  });
}
