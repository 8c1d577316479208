import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { selectWithPrefix } from '../../src/storage/prefix-listing';
import { SortedNames } from '../../src/storage/sorted-names';

// Short strings over a small alphabet (astral characters included) so that prefixes,
// shared stems and UTF-16 ordering quirks come up often.
const name = fc.string({
  unit: fc.constantFrom('a', 'b', 'é', ':', '\uFFFF', '\u{1F600}', '\uE000'),
  maxLength: 5,
});

describe('SortedNames', () => {
  it('answers every prefix listing exactly as a full scan does, after adds and deletes', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(name, { maxLength: 40 }),
        fc.array(name, { maxLength: 10 }),
        name,
        fc.option(name, { nil: undefined }),
        fc.option(fc.nat(10), { nil: undefined }),
        fc.boolean(),
        (initial, removed, prefix, before, limit, descending) => {
          const sorted = new SortedNames(initial);
          const present = new Set(initial);
          for (const n of removed) {
            sorted.delete(n);
            present.delete(n);
          }
          sorted.add('late');
          present.add('late');
          const options = { before, limit, descending };
          expect(sorted.withPrefix(prefix, options)).toEqual(
            selectWithPrefix(present, prefix, options),
          );
          expect(sorted.size).toBe(present.size);
        },
      ),
      { numRuns: 500 },
    );
  });
});
