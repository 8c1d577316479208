import { CheckpointError, decodeValue, encodeValue } from 'checkpointable';
import { FIDELITY_CASES } from 'checkpointable/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { exactMismatch } from '../fixtures/reliability/exact';

const STRESS = process.env.STRESS === '1';
const RUNS = STRESS ? 5000 : 300;

/** Keys the codec refuses on purpose (they could reach a prototype); tested elsewhere. */
const RESERVED = new Set(['__proto__', 'constructor', 'prototype']);

const doubles = fc.oneof(
  fc.double(),
  fc.constantFrom(-0, 0, NaN, Infinity, -Infinity, Number.MIN_VALUE, Number.MAX_SAFE_INTEGER),
);
const strings = fc.oneof(
  fc.string({ unit: 'binary' }),
  fc.string(),
  // Strings that look like the codec's own tags must come back as strings.
  fc.constantFrom('\u0000', '\u0000s', '\u0000r0', '\u0000M', '\u0000d0', 'a\uD800b', '\uDFFF'),
);
const keys = fc
  .oneof(fc.string(), fc.constantFrom('0', '', '\u0000x', 'a.b'))
  .filter((k) => !RESERVED.has(k));
const leaves = fc.oneof(
  strings,
  doubles,
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.bigInt(),
  fc.date({ noInvalidDate: false }),
  fc.uint8Array({ maxLength: 32 }),
  fc.uint8Array({ maxLength: 32 }).map((b) => Buffer.from(b)),
  fc.float64Array({ maxLength: 4 }),
);

/** Arbitrary trees of every value kind DESIGN.md section 5 lists. */
const trees = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaves, tie('container')),
  container: fc.oneof(
    fc.array(tie('value'), { maxLength: 5 }),
    // Null-prototype objects come back with Object.prototype (not in the contract's list).
    fc.dictionary(keys, tie('value'), { maxKeys: 5, noNullPrototype: true }),
    fc.array(fc.tuple(tie('value'), tie('value')), { maxLength: 4 }).map((e) => new Map(e)),
    fc.array(tie('value'), { maxLength: 4 }).map((e) => new Set(e)),
  ),
})).container;

/** Containers of a tree, in a stable order, to wire shared references and cycles between. */
function containers(root: unknown): object[] {
  const out: object[] = [];
  const seen = new Set<object>();
  const visit = (v: unknown) => {
    if (typeof v !== 'object' || v === null || seen.has(v) || ArrayBuffer.isView(v)) return;
    if (v instanceof Date) return;
    seen.add(v);
    out.push(v);
    if (v instanceof Map) {
      for (const [k, x] of v) {
        visit(k);
        visit(x);
      }
    } else if (v instanceof Set) for (const x of v) visit(x);
    else for (const x of Object.values(v)) visit(x);
  };
  visit(root);
  return out;
}

/** A tree plus random extra edges between its containers: shared references and cycles. */
const graphs = fc
  .tuple(
    trees,
    fc.array(fc.tuple(fc.nat(), fc.nat(), fc.string({ maxLength: 3 })), { maxLength: 6 }),
  )
  .map(([root, edges]) => {
    const nodes = containers(root);
    for (const [from, to, key] of edges) {
      const source = nodes[from % nodes.length];
      const target = nodes[to % nodes.length];
      if (source instanceof Map) source.set(key, target);
      else if (source instanceof Set) source.add(target);
      else if (Array.isArray(source)) source.push(target);
      else if (!RESERVED.has(key)) (source as Record<string, unknown>)[key] = target;
    }
    return root;
  });

describe('codec property: every value round-trips exactly', () => {
  it(`arbitrary trees of strings, numbers, bigint, Date, bytes, arrays, objects, Map, Set (${RUNS} runs)`, () => {
    fc.assert(
      fc.property(trees, (value) => {
        expect(exactMismatch(decodeValue(encodeValue(value)), value)).toBeUndefined();
      }),
      { numRuns: RUNS },
    );
  });

  it(`arbitrary graphs with shared references and cycles (${RUNS} runs)`, () => {
    let cyclic = 0;
    fc.assert(
      fc.property(graphs, (value) => {
        const restored = decodeValue(encodeValue(value));
        expect(exactMismatch(restored, value)).toBeUndefined();
        if (hasCycle(value)) cyclic++;
      }),
      { numRuns: RUNS },
    );
    // Without cycles among the cases, the property above would not be about cycles.
    expect(cyclic).toBeGreaterThan(RUNS / 10);
  });

  // Regression: these first elements were once read back as a Map/Set/class tag.
  it('an array starting with undefined, NaN, ±Infinity or -0 round-trips', () => {
    for (const first of [undefined, NaN, Infinity, -Infinity, -0]) {
      const value = [first, 'next'];
      expect(exactMismatch(decodeValue(encodeValue(value)), value)).toBeUndefined();
    }
  });

  it('the shared fidelity table round-trips through the codec alone', () => {
    for (const c of FIDELITY_CASES) {
      const original = c.make();
      c.check(decodeValue(encodeValue(original)), original);
      expect(exactMismatch(decodeValue(encodeValue(original)), original), c.name).toBeUndefined();
    }
  });

  it('a value changed after encoding does not change the bytes (snapshot at call time)', () => {
    fc.assert(
      fc.property(trees, (value) => {
        const before = encodeValue(value);
        const copy = decodeValue(before);
        mutate(value);
        expect(exactMismatch(decodeValue(before), copy)).toBeUndefined();
      }),
      { numRuns: Math.min(RUNS, 200) },
    );
  });

  it('values the codec cannot store are Serialize errors, never bytes', () => {
    const unsupported = fc.constantFrom<unknown>(
      () => 1,
      Symbol('s'),
      new WeakMap(),
      Promise.resolve(1),
      new (class Unregistered {})(),
    );
    fc.assert(
      fc.property(trees, unsupported, (value, bad) => {
        const holder = { inner: [value, { bad }] };
        let caught: unknown;
        try {
          encodeValue(holder);
        } catch (error) {
          caught = error;
        }
        expect(caught).toBeInstanceOf(CheckpointError);
        expect((caught as CheckpointError).kind).toBe('Serialize');
        expect((caught as CheckpointError).message).toContain('value.inner[1].bad');
      }),
      { numRuns: Math.min(RUNS, 100) },
    );
  });
});

function hasCycle(root: unknown): boolean {
  const onPath = new Set<object>();
  const done = new Set<object>();
  const visit = (v: unknown): boolean => {
    if (typeof v !== 'object' || v === null || ArrayBuffer.isView(v) || v instanceof Date) {
      return false;
    }
    if (onPath.has(v)) return true;
    if (done.has(v)) return false;
    onPath.add(v);
    const children =
      v instanceof Map ? [...v].flat() : v instanceof Set ? [...v] : Object.values(v);
    const found = children.some(visit);
    onPath.delete(v);
    done.add(v);
    return found;
  };
  return visit(root);
}

function mutate(root: unknown): void {
  for (const node of containers(root)) {
    if (node instanceof Map) node.set('mutated', 1);
    else if (node instanceof Set) node.add('mutated');
    else if (Array.isArray(node)) node.push('mutated');
    else (node as Record<string, unknown>).mutated = true;
  }
}
