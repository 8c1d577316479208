import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { CheckpointError, decodeValue, encodeValue } from 'checkpointable';
import { describe, expect, it } from 'vitest';

/**
 * Stored bytes must never cost much more to read than their own size, and nothing is
 * written that could not be read back: blobs, bigints and nesting have limits, checked
 * before the expensive work.
 */

const ROOT = join(__dirname, '..', '..');
const T = '\u0000';

/** Codec bytes around a JSON text and blob table (layout in src/codec/format.ts). */
function craft(json: string, blobs: Uint8Array[] = []): Buffer {
  const text = Buffer.from(json, 'utf8');
  const parts = [Buffer.from('CPV\u0001', 'latin1'), u32(text.length), text, u32(blobs.length)];
  for (const b of blobs) parts.push(u32(b.length), Buffer.from(b));
  return Buffer.concat(parts);
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0, 0);
  return b;
}

function caught(work: () => unknown): CheckpointError {
  let error: unknown;
  try {
    work();
  } catch (e) {
    error = e;
  }
  expect(error, 'expected a CheckpointError').toBeInstanceOf(CheckpointError);
  return error as CheckpointError;
}

describe('codec limits: a blob is used once', () => {
  // Regression: every tag naming a blob copied it again, so 0.58 MiB of stored bytes
  // became 3 GiB when read.
  it('refuses bytes that name one blob many times instead of copying it each time', () => {
    const blob = new Uint8Array(64 * 1024).fill(7);
    for (const tag of ['x', 'B', 'TFloat64Array:', 'TArrayBuffer:']) {
      const json = JSON.stringify(Array.from({ length: 1000 }, () => `${T}${tag}0`));
      const bytes = craft(json, [blob]);
      const error = caught(() => decodeValue(bytes, { key: 'k' }));
      expect(error.kind).toBe('Deserialize');
      expect(error.message).toBe(
        'Cannot restore key "k": k[1]: binary blob 0 is used twice, which the codec never writes (a second use of the same object is a reference); the data is damaged.',
      );
    }
  });

  it('counts "0" and "00" as the same blob', () => {
    const error = caught(() =>
      decodeValue(craft(JSON.stringify([`${T}x0`, `${T}x00`]), [new Uint8Array(4)])),
    );
    expect(error.message).toContain('binary blob 0 is used twice');
  });

  it('still round-trips many binary values, shared ones as one object', () => {
    const shared = new Uint8Array([1, 2, 3]);
    const value = {
      a: shared,
      b: shared,
      c: Buffer.from('xyz'),
      d: new Float64Array([1.5, -2]),
      e: new Uint8Array(new ArrayBuffer(8), 2, 3),
    };
    const back = decodeValue(encodeValue(value)) as typeof value;
    expect(back).toEqual(value);
    expect(back.a).toBe(back.b);
  });

  it('decodes at a cost bounded by the input: stored bytes hold every byte they yield', () => {
    // The largest legal expansion: every blob is copied once, so the binary contents
    // returned never exceed the input size.
    const value = Array.from({ length: 50 }, (_, i) => new Uint8Array(1000).fill(i));
    const bytes = encodeValue(value);
    const back = decodeValue(bytes) as Uint8Array[];
    const returned = back.reduce((sum, b) => sum + b.byteLength, 0);
    expect(returned).toBeLessThanOrEqual(bytes.length);
    expect(back.map((b) => b[0])).toEqual(value.map((b) => b[0]));
  });
});

describe('codec limits: bigints', () => {
  const atLimit = 10n ** 999_999n; // 1,000,000 digits

  it('round-trips a bigint of 1,000,000 digits, positive and negative', () => {
    expect(decodeValue(encodeValue(atLimit))).toBe(atLimit);
    expect(decodeValue(encodeValue(-atLimit))).toBe(-atLimit);
  });

  it('refuses to save a bigint of more than 1,000,000 digits, naming the path', () => {
    const error = caught(() => encodeValue({ n: [atLimit * 10n] }, { key: 'big' }));
    expect(error.kind).toBe('Serialize');
    expect(error.message).toBe(
      'Cannot save big.n[0] (key "big"): it is a bigint of more than 1000000 digits, the largest the codec stores; store it as a Buffer (its bytes) instead.',
    );
    expect(caught(() => encodeValue(-(atLimit * 10n))).kind).toBe('Serialize');
    // Refused from its size alone, without the slow conversion to decimal text.
    expect(caught(() => encodeValue(1n << 40_000_000n)).kind).toBe('Serialize');
  });

  // Regression: 30 million stored digits reached BigInt() and blocked the event loop for 15 s.
  it('refuses stored digits past the limit before converting them', () => {
    for (const digits of ['1'.repeat(1_000_001), '-' + '1'.repeat(1_000_001), '9'.repeat(30e6)]) {
      const error = caught(() =>
        decodeValue(craft(JSON.stringify(`${T}b${digits}`)), { key: 'n' }),
      );
      expect(error.kind).toBe('Deserialize');
      expect(error.message).toBe(
        'Cannot restore key "n": n: a stored bigint has more than 1000000 digits, more than the codec ever writes; the data is damaged or was not written by checkpointable.',
      );
    }
  });
});

describe('codec limits: nesting', () => {
  // Regression: ten million levels were parsed in full (seconds, hundreds of megabytes)
  // before the depth limit refused them.
  it('refuses deep nesting in large text from a scan of the bytes, before parsing them', () => {
    const depth = 200_000; // 400 KB of text: above the size from which text is scanned
    const error = caught(() =>
      decodeValue(craft('['.repeat(depth) + ']'.repeat(depth)), { key: 'k' }),
    );
    expect(error.kind).toBe('Deserialize');
    // No path: the scan stops at level 2,002 of the text; nothing was built.
    expect(error.message).toBe(
      'Cannot restore key "k": k: the stored value is nested more than 1000 levels deep.',
    );
  });

  it('round-trips null-prototype objects and class-free values nested to the limit', () => {
    let value: unknown = 'bottom';
    for (let i = 0; i < 1000; i++) {
      const o = Object.create(null) as Record<string, unknown>;
      o.next = value;
      value = o;
    }
    const back = decodeValue(encodeValue(value));
    let depth = 0;
    for (let o = back as Record<string, unknown>; typeof o === 'object'; depth++) {
      expect(Object.getPrototypeOf(o)).toBeNull();
      o = o.next as Record<string, unknown>;
    }
    expect(depth).toBe(1000);
  });

  it('reads brackets inside strings, escaped quotes included, as text', () => {
    const text = '"\\\\' + '['.repeat(3000) + '\\"' + '{'.repeat(3000);
    const value = { s: text, t: ['\\"[', '\\', '"'] };
    expect(decodeValue(encodeValue(value))).toEqual(value);
  });

  it('refuses ten million levels within a 64 MB heap', () => {
    const result = spawnSync(
      process.execPath,
      [
        '--max-old-space-size=64',
        '-r',
        '@swc-node/register',
        join(ROOT, 'test/fixtures/codec/decode-deep-nesting.ts'),
        String(10_000_000),
      ],
      { cwd: ROOT, encoding: 'utf8' },
    );
    expect(result.status, result.stderr.slice(-2000)).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      kind: 'Deserialize',
      message:
        'Cannot restore the value: value: the stored value is nested more than 1000 levels deep.',
    });
  });
});
