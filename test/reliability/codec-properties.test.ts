import {
  Checkpointable,
  CheckpointError,
  CheckpointField,
  decodeValue,
  encodeValue,
} from 'checkpointable';
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

/** Arbitrary trees of every value kind the codec stores. */
const trees = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaves, tie('container')),
  container: fc.oneof(
    fc.array(tie('value'), { maxLength: 5 }),
    // Null-prototype objects included: they come back without a prototype.
    fc.dictionary(keys, tie('value'), { maxKeys: 5 }),
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

/** Codec bytes around a JSON text and blob table (layout in src/codec/format.ts). */
function craft(json: string, blobs: Uint8Array[]): Buffer {
  const text = Buffer.from(json, 'utf8');
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(n, 0);
    return b;
  };
  const parts = [Buffer.from('CPV\u0001', 'latin1'), u32(text.length), text, u32(blobs.length)];
  for (const b of blobs) parts.push(u32(b.length), Buffer.from(b));
  return Buffer.concat(parts);
}

/** The bytes of every binary object reachable from `value`, counted once per object. */
function binaryBytes(value: unknown, seen = new Set<object>()): number {
  if (typeof value !== 'object' || value === null || seen.has(value)) return 0;
  seen.add(value);
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return value.byteLength;
  const children = Array.isArray(value) ? value : Object.values(value);
  return children.reduce((sum: number, c) => sum + binaryBytes(c, seen), 0);
}

@Checkpointable({ name: 'PropertyPoint', version: 3, migrations: { 1: (d) => d, 2: (d) => d } })
class PropertyPoint {
  @CheckpointField() x: number = 0;
}
void PropertyPoint;

describe('codec property: stored bytes never cost much more than their size to read', () => {
  const binaryTag = fc.constantFrom('x', 'B', 'TUint8Array:', 'TFloat64Array:', 'TArrayBuffer:');

  it(`tags naming blobs at random decode to at most the input's bytes, or Deserialize (${RUNS} runs)`, () => {
    fc.assert(
      fc.property(
        fc.array(
          fc
            .uint8Array({ minLength: 256, maxLength: 1024 })
            .map((b) => b.subarray(0, b.length & ~7)),
          { minLength: 1, maxLength: 4 },
        ),
        // Many tags over few large blobs: copying a blob per tag would exceed the input.
        fc.array(fc.tuple(binaryTag, fc.nat(5)), { minLength: 8, maxLength: 40 }),
        (blobs, refs) => {
          const bytes = craft(
            JSON.stringify(refs.map(([t, i]) => `\u0000${t}${i % blobs.length}`)),
            blobs,
          );
          let value: unknown;
          try {
            value = decodeValue(bytes);
          } catch (error) {
            expect(error).toBeInstanceOf(CheckpointError);
            expect((error as CheckpointError).kind).toBe('Deserialize');
            return;
          }
          expect(binaryBytes(value)).toBeLessThanOrEqual(bytes.length);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it(`any stored class version decodes or is Deserialize/Version, never a bogus migration hint (${RUNS} runs)`, () => {
    const versions = fc.oneof(
      fc.integer({ min: -1000, max: 1000 }),
      fc.double(),
      fc.string({ maxLength: 4 }),
      fc.array(fc.oneof(fc.integer({ min: -3, max: 3 }), fc.string({ maxLength: 3 })), {
        maxLength: 5,
      }),
      fc.constant(null),
    );
    fc.assert(
      fc.property(versions, fc.constantFrom('C', 'K'), (version, form) => {
        const tree =
          form === 'C'
            ? ['\u0000C', 'PropertyPoint', version, { x: 1 }]
            : ['\u0000K', 'PropertyPoint', version, ['x'], 1];
        try {
          decodeValue(craft(JSON.stringify(tree), []));
        } catch (error) {
          expect(error).toBeInstanceOf(CheckpointError);
          expect(['Deserialize', 'Version']).toContain((error as CheckpointError).kind);
          // Version speaks of upgrading; only a real version (a whole number from 1) may get it.
          if ((error as CheckpointError).kind === 'Version') {
            const own = Array.isArray(version) ? version[0] : version;
            expect(Number.isSafeInteger(own) && (own as number) >= 1).toBe(true);
          }
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('values nested to the limit round-trip, strings full of brackets and quotes included; deeper is Serialize', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 990, max: 1010 }),
        fc.string({ unit: fc.constantFrom('[', ']', '{', '}', '"', '\\', 'a'), maxLength: 20 }),
        (depth, text) => {
          let value: unknown = text;
          for (let i = 0; i < depth; i++) value = i % 2 ? { [text]: value } : [value, text];
          let bytes: Buffer;
          try {
            bytes = encodeValue(value);
          } catch (error) {
            expect(depth).toBeGreaterThan(1000);
            expect((error as CheckpointError).kind).toBe('Serialize');
            return;
          }
          expect(depth).toBeLessThanOrEqual(1000);
          expect(exactMismatch(decodeValue(bytes), value)).toBeUndefined();
        },
      ),
      { numRuns: Math.min(RUNS, 60) },
    );
  });
});
