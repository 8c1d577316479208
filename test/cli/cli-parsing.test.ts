import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/cli-error';
import { parseWrapperNames, redactUrl } from '../../src/cli/open-store';
import { quoteName, shownName } from '../../src/cli/output';
import { toJsonView } from '../../src/cli/render-value';
import { parseSeriesIdentifier } from 'checkpointable';
import { inSeries } from '../../src/cli/series-name';
import { parseCount, parseMoment } from '../../src/cli/time-spec';

describe('command-line parsing', () => {
  it('hides passwords in storage URLs', () => {
    expect(redactUrl('postgres://app:s3cret@db:5432/app')).toBe('postgres://app:***@db:5432/app');
    expect(redactUrl('redis://:s3cret@cache:6379/2')).toBe('redis://:***@cache:6379/2');
    expect(redactUrl('postgres://db/app?user=app&password=s3cret&sslmode=require')).toBe(
      'postgres://db/app?user=app&password=***&sslmode=require',
    );
    expect(redactUrl('file:./var/checkpoints')).toBe('file:./var/checkpoints');
  });

  it('reads wrapper lists, refusing unknown and repeated names', () => {
    expect(parseWrapperNames('checksum, hmac,encrypt,guard')).toEqual([
      'checksum',
      'hmac',
      'encrypt',
      'guard',
    ]);
    expect(parseWrapperNames('none')).toEqual([]);
    expect(parseWrapperNames('')).toEqual([]);
    expect(parseWrapperNames('checksum:crc32')).toEqual(['checksum:crc32']);
    expect(() => parseWrapperNames('checksum,checksum:crc32')).toThrow(
      new UsageError('--wrappers lists checksum twice; list each wrapper once.'),
    );
    expect(() => parseWrapperNames('gzip', '--to-wrappers')).toThrow(UsageError);
  });

  it('reads ages, dates and counts', () => {
    const now = Date.UTC(2026, 11, 2);
    expect(parseMoment('7d', '--older-than', now).getTime()).toBe(now - 7 * 86_400_000);
    expect(parseMoment('90s', '--before', now).getTime()).toBe(now - 90_000);
    expect(parseMoment('2w', '--before', now).getTime()).toBe(now - 14 * 86_400_000);
    expect(parseMoment('2026-11-30T12:00:00Z', '--before').toISOString()).toBe(
      '2026-11-30T12:00:00.000Z',
    );
    for (const bad of ['7', 'd7', '7 days', '2026-13-45', '-1d', '']) {
      expect(() => parseMoment(bad, '--before'), bad).toThrow(UsageError);
    }
    expect(parseCount('10', '--keep-last')).toBe(10);
    expect(() => parseCount('0', '--limit', 1)).toThrow(
      new UsageError('--limit "0" is not a whole number of at least 1.'),
    );
    expect(() => parseCount('1e3', '--limit')).toThrow(UsageError);
  });

  it('recognises series identifiers exactly', () => {
    expect(parseSeriesIdentifier('@series:orders:000000000042')).toEqual({
      series: 'orders',
      sequence: 42,
    });
    expect(parseSeriesIdentifier('@series:a:b:000000000001')).toBeUndefined(); // no ':' in names
    expect(parseSeriesIdentifier('@series:orders:42')).toBeUndefined();
    expect(parseSeriesIdentifier('series:orders:000000000042')).toBeUndefined();
    expect(inSeries('@series:orders:000000000001', 'orders')).toBe(true);
    expect(inSeries('@series:orders-eu:000000000001', 'orders')).toBe(false);
  });

  it('shows plain names as they are and quotes the others with every control escaped', () => {
    expect(shownName('order-42')).toBe('order-42');
    expect(shownName('a b')).toBe('"a b"');
    expect(quoteName('a\u2028b\u0085c\u007fd\u001be')).toBe('"a\\u2028b\\u0085c\\u007fd\\u001be"');
  });

  it('turns values into typed JSON, shared objects into references', () => {
    const shared = { n: 1 };
    expect(toJsonView({ a: shared, b: [shared], $x: undefined, big: 1n, nan: NaN })).toEqual({
      $object: {
        a: { n: 1 },
        b: [{ $ref: '$.a' }],
        $x: { $undefined: true },
        big: { $bigint: '1' },
        nan: { $number: 'NaN' },
      },
    });
    expect(toJsonView(new Uint8Array([1, 2]))).toEqual({
      $binary: 'Uint8Array',
      length: 2,
      base64: 'AQI=',
    });
    const big = toJsonView(Buffer.alloc(70_000)) as {
      length: number;
      truncated: boolean;
      base64: string;
    };
    expect(big).toMatchObject({ $binary: 'Buffer', length: 70_000, truncated: true });
    expect(Buffer.from(big.base64, 'base64')).toHaveLength(64 * 1024);
  });
});
