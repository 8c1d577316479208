import { CheckpointError, decodeValue, encodeValue } from 'checkpointable';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { makeOrder } from '../../bench/workloads/codec';

/**
 * Stored bytes are untrusted: whatever they hold, decoding either returns a value or
 * throws a `Deserialize` CheckpointError (or `Version` for a class newer than the code),
 * never a TypeError, a crash, or a property written onto a prototype.
 */

/** Codec bytes around a hand-written JSON text and blob table (layout in format.ts). */
function craft(json: string, blobs: Uint8Array[] = [], blobCount = blobs.length): Buffer {
  const text = Buffer.from(json, 'utf8');
  const parts = [Buffer.from('CPV\u0001', 'latin1'), u32(text.length), text, u32(blobCount)];
  for (const b of blobs) parts.push(u32(b.length), Buffer.from(b));
  return Buffer.concat(parts);
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0, 0);
  return b;
}

function decodeError(bytes: Uint8Array): CheckpointError {
  let caught: unknown;
  try {
    decodeValue(bytes);
  } catch (error) {
    caught = error;
  }
  expect(caught, 'expected a CheckpointError').toBeInstanceOf(CheckpointError);
  return caught as CheckpointError;
}

function assertNoPollution(): void {
  const probe: Record<string, unknown> = {};
  expect(probe.polluted).toBeUndefined();
  expect(Object.prototype).not.toHaveProperty('polluted');
  expect(Array.prototype).not.toHaveProperty('polluted');
}

const T = '\\u0000';

const MALFORMED: [string, Buffer][] = [
  ['empty', Buffer.alloc(0)],
  ['only the magic', Buffer.from('CPV', 'latin1')],
  [
    'wrong magic',
    Buffer.from('XPV\u0001\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000', 'latin1'),
  ],
  [
    'unknown codec id',
    Buffer.concat([Buffer.from('CPV\u0009', 'latin1'), u32(4), Buffer.from('null'), u32(0)]),
  ],
  [
    'JSON length beyond the end',
    Buffer.concat([Buffer.from('CPV\u0001', 'latin1'), u32(1000), Buffer.from('null'), u32(0)]),
  ],
  [
    'JSON length 0xFFFFFFFF',
    Buffer.concat([
      Buffer.from('CPV\u0001', 'latin1'),
      u32(0xffffffff),
      Buffer.from('null'),
      u32(0),
    ]),
  ],
  ['blob count 0xFFFFFFFF', craft('null', [], 0xffffffff)],
  ['trailing bytes', Buffer.concat([craft('null'), Buffer.from([1])])],
  ['damaged JSON', craft('{"a":')],
  ['__proto__ key', craft('{"__proto__":{"polluted":1}}')],
  ['nested __proto__ key', craft('{"a":[{"__proto__":{"polluted":1}}]}')],
  ['constructor key', craft('{"constructor":{"prototype":{"polluted":1}}}')],
  ['prototype key', craft('{"prototype":{"polluted":1}}')],
  ['__proto__ in class fields', craft(`["${T}C","X",1,{"__proto__":{"polluted":1}}]`)],
  ['unknown tag', craft(`"${T}q"`)],
  ['unknown array tag', craft(`["${T}Q",1]`)],
  ['bigint with letters', craft(`"${T}b12x"`)],
  ['date with letters', craft(`"${T}d12x"`)],
  ['reference before any object', craft(`"${T}r0"`)],
  ['reference out of range', craft(`[1,"${T}r99"]`)],
  ['negative reference', craft(`[1,"${T}r-1"]`)],
  ['reference 1e3 written as float', craft(`[1,"${T}r0.5"]`)],
  ['missing blob', craft(`"${T}x0"`)],
  ['blob index not a number', craft(`"${T}xabc"`, [new Uint8Array(1)])],
  ['typed array of an unknown type', craft(`"${T}TFooArray:0"`, [new Uint8Array(8)])],
  ['typed array named __proto__', craft(`"${T}T__proto__:0"`, [new Uint8Array(8)])],
  ['typed array named constructor', craft(`"${T}Tconstructor:0"`, [new Uint8Array(8)])],
  ['typed array named toString', craft(`"${T}TtoString:0"`, [new Uint8Array(8)])],
  ['Map with a key and no value', craft(`["${T}M",1]`)],
  ['class instance of an unregistered class', craft(`["${T}C","NoSuchClass",1,{}]`)],
  ['class instance named __proto__', craft(`["${T}C","__proto__",1,{}]`)],
  ['class instance named toString', craft(`["${T}C","toString",1,{}]`)],
  ['class instance with fields as an array', craft(`["${T}C","X",1,[]]`)],
  ['class instance with a fractional version', craft(`["${T}C","X",1.5,{}]`)],
  ['nested 2,000 deep then a bad tag', craft('['.repeat(2000) + `"${T}q"` + ']'.repeat(2000))],
];

describe('codec: malformed or tampered bytes', () => {
  it.each(MALFORMED)('%s is a Deserialize error, never a crash or pollution', (_name, bytes) => {
    const error = decodeError(bytes);
    expect(error.kind).toBe('Deserialize');
    expect(error.message).toMatch(/^Cannot restore/);
    assertNoPollution();
  });

  it('a Float64Array blob of 3 bytes is a Deserialize error', () => {
    const error = decodeError(craft(`"${T}TFloat64Array:0"`, [new Uint8Array(3)]));
    expect(error.kind).toBe('Deserialize');
  });

  // Regression: a stack overflow was once recognised by matching the RangeError's message,
  // which itself overflowed with little stack left; an explicit depth limit stops first.
  it('bytes nested 100,000 deep are a Deserialize error', () => {
    const error = decodeError(craft('['.repeat(100_000) + ']'.repeat(100_000)));
    expect(error.kind).toBe('Deserialize');
  });

  it('refuses values and bytes nested past the depth limit, and round-trips them at the limit', () => {
    const nest = (depth: number) => {
      let v: unknown = 'bottom';
      for (let i = 0; i < depth; i++) v = i % 2 ? { v } : [v];
      return v;
    };
    const atLimit = nest(1000);
    expect(decodeValue(encodeValue(atLimit))).toEqual(atLimit);
    let caught: unknown;
    try {
      encodeValue(nest(1001), { key: 'deep' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(CheckpointError);
    expect((caught as CheckpointError).kind).toBe('Serialize');
    expect((caught as CheckpointError).message).toMatch(
      /^Cannot save deep\[0\]\.v\[0\].*….*\(key "deep"\): it is nested more than 1000 levels deep; flatten the structure or save it under several keys\.$/s,
    );
    const deepBytes = craft('['.repeat(1001) + ']'.repeat(1001));
    expect(decodeError(deepBytes).message).toContain(
      'the stored value is nested more than 1000 levels deep',
    );
  });

  it('every single-byte change of real codec bytes decodes or is a CheckpointError', () => {
    const bytes = encodeValue({ order: makeOrder(3), extra: new Map([[1, new Set([2n])]]) });
    let refused = 0;
    for (let i = 0; i < bytes.length; i++) {
      for (const flip of [0x01, 0x80, 0xff]) {
        const damaged = Buffer.from(bytes);
        damaged[i] ^= flip;
        try {
          decodeValue(damaged);
        } catch (error) {
          expect(error).toBeInstanceOf(CheckpointError);
          expect(['Deserialize', 'Version']).toContain((error as CheckpointError).kind);
          refused++;
        }
      }
    }
    assertNoPollution();
    // The header, lengths and tags are checked: a good share of changes must be refused.
    expect(refused).toBeGreaterThan(0);
  });

  it('random truncation, splicing and overwriting never escapes as another error', () => {
    const sample = encodeValue({ a: [1, -0, 'x'], d: new Date(5), b: Buffer.from('bytes') });
    fc.assert(
      fc.property(
        fc.nat(sample.length),
        fc.nat(sample.length),
        fc.uint8Array({ maxLength: 16 }),
        (start, end, insert) => {
          const [from, to] = start <= end ? [start, end] : [end, start];
          const damaged = Buffer.concat([sample.subarray(0, from), insert, sample.subarray(to)]);
          try {
            decodeValue(damaged);
          } catch (error) {
            expect(error).toBeInstanceOf(CheckpointError);
            expect(['Deserialize', 'Version']).toContain((error as CheckpointError).kind);
          }
        },
      ),
      { numRuns: 2000 },
    );
    assertNoPollution();
  });

  it('a JSON object key "__proto__" written by hand never becomes a prototype', () => {
    // JSON.parse makes "__proto__" an own property; the decoder must refuse, not assign it.
    const error = decodeError(craft('{"x":{"__proto__":{"isAdmin":true}}}'));
    expect(error.message).toContain("'__proto__'");
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
  });
});

describe('codec: large binary values and owned input', () => {
  it('copies blobs out of input it does not own, and may share them with input it owns', () => {
    const big = Buffer.alloc(128 * 1024, 3);
    const bytes = encodeValue({ big });
    const copied = decodeValue(bytes) as { big: Buffer };
    expect(copied.big.buffer).not.toBe(bytes.buffer);
    const shared = decodeValue(bytes, {}, { owned: true }) as { big: Buffer };
    expect(Buffer.isBuffer(shared.big)).toBe(true);
    expect(shared.big.buffer).toBe(bytes.buffer);
    expect(shared.big.equals(big)).toBe(true);
  });

  it('never shares a small blob, even from owned input', () => {
    const bytes = encodeValue({ small: Buffer.alloc(1024, 1) });
    const before = Buffer.from(bytes);
    const restored = decodeValue(bytes, {}, { owned: true }) as { small: Buffer };
    restored.small.fill(9);
    expect(bytes.equals(before)).toBe(true);
  });
});
