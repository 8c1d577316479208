import 'reflect-metadata';
import { describe, expect, it } from 'vitest';
import {
  Checkpointable,
  CheckpointError,
  CheckpointField,
  decodeValue,
  encodeValue,
} from 'checkpointable';
import { rawBytes } from '../fixtures/manager/raw-bytes';

@Checkpointable({ name: 'CodecLine' })
class Line {
  @CheckpointField() sku!: string;
  @CheckpointField() qty!: number;
}

@Checkpointable({ name: 'CodecOrder' })
class Order {
  @CheckpointField() id!: string;
  @CheckpointField({ type: () => Line }) lines!: Line[];
}

const line = (sku: string, qty: number) => Object.assign(new Line(), { sku, qty });

function jsonOf(bytes: Buffer): unknown {
  return JSON.parse(bytes.toString('utf8', 8, 8 + bytes.readUInt32LE(4)));
}

function decodeError(bytes: Buffer): CheckpointError {
  try {
    decodeValue(bytes, { identifier: 'c', key: 'k' });
  } catch (error) {
    expect(error).toBeInstanceOf(CheckpointError);
    return error as CheckpointError;
  }
  throw new Error('expected decodeValue to fail');
}

describe('codec: registered class instances', () => {
  it('spells each class once: a definition first, then numbered instances', () => {
    const order = Object.assign(new Order(), { id: 'o1', lines: [line('a', 1), line('b', 2)] });
    expect(jsonOf(encodeValue(order))).toEqual([
      '\u0000K',
      'CodecOrder',
      1,
      ['id', 'lines'],
      'o1',
      [
        ['\u0000K', 'CodecLine', 1, ['sku', 'qty'], 'a', 1],
        ['\u0000O', 1, 'b', 2],
      ],
    ]);
    const restored = decodeValue(encodeValue(order)) as Order;
    expect(restored).toBeInstanceOf(Order);
    expect(restored.lines.map((l) => l instanceof Line && `${l.sku}${l.qty}`)).toEqual([
      'a1',
      'b2',
    ]);
  });

  it('still reads the self-describing form with field names', () => {
    const bytes = rawBytes(['\u0000C', 'CodecLine', 1, { sku: 'x', qty: 3 }]);
    expect(decodeValue(bytes)).toEqual(line('x', 3));
  });

  it('refuses an instance of a class number that was never defined', () => {
    const error = decodeError(rawBytes(['\u0000O', 0, 'x', 3]));
    expect(error.kind).toBe('Deserialize');
    expect(error.message).toBe(
      'Cannot restore key "k" of checkpoint "c": k: a stored class instance refers to a class that is not defined.',
    );
  });

  it('refuses a definition with a reserved field name or the wrong arity', () => {
    for (const tree of [
      ['\u0000K', 'CodecLine', 1, ['__proto__', 'qty'], {}, 3],
      ['\u0000K', 'CodecLine', 1, ['sku', 'qty'], 'only one value'],
      ['\u0000K', 'CodecLine', 1, 'sku', 'x'],
    ]) {
      const error = decodeError(rawBytes(tree));
      expect(error.kind).toBe('Deserialize');
      expect(error.message).toContain('a stored class definition is malformed');
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  // Regression: a negative stored version asked the user to "add migrations: { -5: ... }".
  it('says a stored version no code writes is damaged data, in both stored forms', () => {
    for (const version of [-5, 0, 1.5, '1', null, [1, 'Base'], [1, 'Base', -1], [1, 2, 1]]) {
      for (const tree of [
        ['\u0000K', 'CodecLine', version, ['sku', 'qty'], 'x', 3],
        ['\u0000C', 'CodecLine', version, { sku: 'x', qty: 3 }],
      ]) {
        const error = decodeError(rawBytes(tree));
        expect(error.kind).toBe('Deserialize');
        expect(error.message).toBe(
          `Cannot restore key "k" of checkpoint "c": k: the stored class "CodecLine" has the version ${JSON.stringify(version)}, which no code writes (versions are whole numbers from 1); the data is damaged.`,
        );
      }
    }
  });

  it('refuses a definition of a class this process does not know, naming it', () => {
    const error = decodeError(rawBytes(['\u0000K', 'Nobody', 1, []]));
    expect(error.message).toContain('the stored class "Nobody" is not registered in this process');
  });

  it('restores into an existing instance at the root only, and says what the root holds otherwise', () => {
    const target = new Line();
    const bytes = encodeValue(line('r', 9));
    expect(decodeValue(bytes, {}, { into: target })).toBe(target);
    expect(target).toEqual(line('r', 9));

    const nested = encodeValue({ inner: line('n', 1) });
    const error = decodeError2(() => decodeValue(nested, { key: 'k' }, { into: new Line() }));
    expect(error.message).toBe(
      'Cannot restore key "k" into the given Line: it holds a plain object.',
    );
    const other = encodeValue(Object.assign(new Order(), { id: 'o', lines: [] }));
    const custom = decodeError2(() =>
      decodeValue(other, {}, { into: new Line(), mismatch: (stored) => `holds ${stored}` }),
    );
    expect(custom.message).toBe('holds a CodecOrder');
  });
});

function decodeError2(run: () => unknown): CheckpointError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(CheckpointError);
    expect((error as CheckpointError).kind).toBe('Deserialize');
    return error as CheckpointError;
  }
  throw new Error('expected a Deserialize error');
}
