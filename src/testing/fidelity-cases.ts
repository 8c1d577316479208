/**
 * The values the value-fidelity rules name, that every storage must return exactly, each with a
 * check that fails on any approximation (a `0` for a `-0`, a Uint8Array for a Buffer, two
 * objects for one shared object).
 */

/** One value to round-trip and how to tell it came back exactly. */
export interface FidelityCase {
  readonly name: string;
  readonly make: () => unknown;
  readonly check: (restored: unknown, original: unknown) => void;
}

function fail(message: string): never {
  throw new Error(message);
}

function same(a: unknown, b: unknown, path = 'value'): void {
  if (Object.is(a, b)) return;
  if (typeof a !== typeof b) fail(`${path}: ${typeof a} is not ${typeof b}`);
  if (typeof a !== 'object' || a === null || b === null)
    fail(`${path}: ${String(a)} is not ${String(b)}`);
  const pa: unknown = Object.getPrototypeOf(a);
  const pb: unknown = Object.getPrototypeOf(b);
  if (pa !== pb) fail(`${path}: prototypes differ`);
  if (a instanceof Date) {
    if (!Object.is(a.getTime(), (b as Date).getTime())) fail(`${path}: dates differ`);
    return;
  }
  if (a instanceof Uint8Array) {
    if (!Buffer.from(a).equals(Buffer.from(b as Uint8Array))) fail(`${path}: bytes differ`);
    return;
  }
  if (a instanceof Map) {
    const eb = [...(b as Map<unknown, unknown>)];
    const ea = [...a];
    if (ea.length !== eb.length) fail(`${path}: map sizes differ`);
    ea.forEach(([k, v], i) => {
      same(k, eb[i][0], `${path}.<key ${i}>`);
      same(v, eb[i][1], `${path}.<value ${i}>`);
    });
    return;
  }
  if (a instanceof Set) {
    const vb = [...(b as Set<unknown>)];
    [...a].forEach((v, i) => same(v, vb[i], `${path}.<entry ${i}>`));
    if (a.size !== vb.length) fail(`${path}: set sizes differ`);
    return;
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b as object);
  if (ka.join('\u0001') !== kb.join('\u0001')) fail(`${path}: keys ${ka} are not ${kb}`);
  for (const k of ka)
    same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`);
}

const exact = (restored: unknown, original: unknown) => same(restored, original);

/** The table of values every storage must return exactly. */
export const FIDELITY_CASES: readonly FidelityCase[] = [
  { name: 'empty string', make: () => '', check: exact },
  { name: 'unicode string', make: () => 'grüße 😀 \u2028 \uFFFF', check: exact },
  { name: 'string starting with NUL', make: () => '\u0000s tricky', check: exact },
  { name: 'lone surrogate', make: () => 'a\uD800b', check: exact },
  { name: 'NaN', make: () => NaN, check: exact },
  { name: 'Infinity', make: () => Infinity, check: exact },
  { name: '-Infinity', make: () => -Infinity, check: exact },
  { name: '-0', make: () => -0, check: exact },
  { name: 'max safe integer', make: () => Number.MAX_SAFE_INTEGER, check: exact },
  { name: 'smallest double', make: () => Number.MIN_VALUE, check: exact },
  { name: 'true', make: () => true, check: exact },
  { name: 'false', make: () => false, check: exact },
  { name: 'null', make: () => null, check: exact },
  { name: 'undefined', make: () => undefined, check: exact },
  { name: 'bigint', make: () => -(2n ** 130n) + 7n, check: exact },
  { name: 'Date', make: () => new Date(Date.UTC(2024, 1, 29, 12, 30, 15, 123)), check: exact },
  { name: 'invalid Date', make: () => new Date(NaN), check: exact },
  {
    name: 'Map with object keys',
    make: () =>
      new Map<unknown, unknown>([
        [1, 'one'],
        [{ k: 1 }, new Set([1])],
        ['x', undefined],
      ]),
    check: exact,
  },
  { name: 'Set', make: () => new Set([1, 'a', null, -0]), check: exact },
  { name: 'Uint8Array', make: () => new Uint8Array([0, 1, 2, 255]), check: exact },
  { name: 'Buffer', make: () => Buffer.from('hello bytes'), check: exact },
  { name: 'empty Uint8Array', make: () => new Uint8Array(0), check: exact },
  { name: 'Float64Array', make: () => new Float64Array([1.5, -0, NaN]), check: exact },
  {
    name: 'array with undefined and -0',
    make: () => [1, undefined, -0, 'x', [null]],
    check: exact,
  },
  {
    name: 'plain object with tricky keys',
    make: () => ({ '': 1, 'a.b': 2, '0': 3, 'with space': { nested: [true] }, undef: undefined }),
    check: exact,
  },
  {
    name: 'deep nesting (depth 500)',
    make: () => {
      let v: unknown = 'bottom';
      for (let i = 0; i < 500; i++) v = i % 2 ? { v } : [v];
      return v;
    },
    check: exact,
  },
  {
    name: 'shared reference',
    make: () => {
      const shared = { n: 1 };
      return { a: shared, b: shared, list: [shared] };
    },
    check: (restored, original) => {
      exact(restored, original);
      const r = restored as { a: object; b: object; list: object[] };
      if (r.a !== r.b || r.a !== r.list[0]) fail('the shared object came back as several objects');
    },
  },
  {
    name: 'cycle',
    make: () => {
      const node: Record<string, unknown> = { name: 'root' };
      node.self = node;
      node.children = [{ parent: node }];
      return node;
    },
    check: (restored) => {
      const r = restored as { name: string; self: unknown; children: { parent: unknown }[] };
      if (r.name !== 'root' || r.self !== r || r.children[0].parent !== r)
        fail('the cycle was not restored');
    },
  },
  {
    name: 'shared Date and Map',
    make: () => {
      const when = new Date(5);
      const map = new Map([['k', when]]);
      return { when, map, again: map };
    },
    check: (restored, original) => {
      exact(restored, original);
      const r = restored as { when: Date; map: Map<string, Date>; again: unknown };
      if (r.map.get('k') !== r.when || r.again !== r.map)
        fail('shared Date or Map came back as copies');
    },
  },
];
