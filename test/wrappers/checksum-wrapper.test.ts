import { CheckpointError, ChecksumWrapper, MemoryStorage } from 'checkpointable';
import { EnvelopeTap, wrapperSuite } from 'checkpointable/testing';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { caught } from './test-keys';

wrapperSuite('ChecksumWrapper (SHA-256)', {
  wrap: (inner) => ChecksumWrapper.wrap(inner),
  bindsLocation: false,
});

wrapperSuite('ChecksumWrapper (CRC-32)', {
  wrap: (inner) => ChecksumWrapper.wrap(inner, { algorithm: 'crc32' }),
  bindsLocation: false,
});

describe('ChecksumWrapper', () => {
  it('writes the documented envelope: CPCK, version 1, algorithm 1, SHA-256 of header + payload', async () => {
    const tap = new EnvelopeTap(new MemoryStorage());
    const storage = ChecksumWrapper.wrap(tap);
    const draft = await storage.createCheckpoint('layout');
    await draft.putBytes('v', new Uint8Array([1, 2, 3]));
    const envelope = Buffer.from(tap.envelope('layout', 'v'));
    expect(envelope.subarray(0, 6)).toEqual(Buffer.from([0x43, 0x50, 0x43, 0x4b, 1, 1]));
    const digest = createHash('sha256')
      .update(envelope.subarray(0, 6))
      .update(Buffer.from([1, 2, 3]))
      .digest();
    expect(envelope.subarray(6, 38)).toEqual(digest);
    expect([...envelope.subarray(38)]).toEqual([1, 2, 3]);
    await draft.discard();
  });

  it('writes CRC-32 (algorithm 2, 4 bytes) when asked, and reads either whatever it writes', async () => {
    const tap = new EnvelopeTap(new MemoryStorage());
    const crc = ChecksumWrapper.wrap(tap, { algorithm: 'crc32' });
    const draft = await crc.createCheckpoint('crc');
    await draft.putBytes('v', new Uint8Array([9]));
    await (await crc.commitCheckpoint(draft)).release();
    const envelope = Buffer.from(tap.envelope('crc', 'v'));
    expect(envelope[5]).toBe(2);
    expect(envelope.length).toBe(6 + 4 + 1);
    const sha = ChecksumWrapper.wrap(tap);
    const loaded = await sha.loadCheckpoint('crc');
    expect([...(await loaded.getBytes('v'))]).toEqual([9]);
    await loaded.release();
  });

  it('refuses an unknown algorithm with Initialization, listing the known ones', async () => {
    const error = await caught(() =>
      ChecksumWrapper.wrap(new MemoryStorage(), { algorithm: 'md5' as 'sha256' }),
    );
    expect(error).toBeInstanceOf(CheckpointError);
    expect((error as CheckpointError).kind).toBe('Initialization');
    expect((error as CheckpointError).message).toBe(
      'ChecksumWrapper: the algorithm "md5" is unknown; use one of "sha256", "crc32".',
    );
  });

  it('says a damaged value was damaged, naming checkpoint, key and fix', async () => {
    const tap = new EnvelopeTap(new MemoryStorage());
    const storage = ChecksumWrapper.wrap(tap);
    const draft = await storage.createCheckpoint('orders');
    await draft.put('order-7', { total: 12 });
    await (await storage.commitCheckpoint(draft)).release();
    tap.onRead = (_i, _k, bytes) => {
      const damaged = bytes.slice();
      damaged[damaged.length - 1] ^= 1;
      return damaged;
    };
    const loaded = await storage.loadCheckpoint('orders');
    const error = (await caught(loaded.get('order-7'))) as CheckpointError;
    expect(error.kind).toBe('Integrity');
    expect(error.message).toBe(
      'Value "order-7" of checkpoint "orders" failed the ChecksumWrapper check: its SHA-256 checksum does not match the stored bytes. The stored bytes were damaged or changed after they were written; restore the checkpoint from a backup or write it again. The value is not returned because it cannot be trusted.',
    );
    await loaded.release();
  });
});
