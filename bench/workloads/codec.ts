import { deserialize, serialize } from 'node:v8';
import { decodeValue, encodeValue } from 'checkpointable';
import { nestsDeeperThan } from '../../src/codec/nesting-scan';
import { compare, timeTogether, type Budget } from '../harness';
import { ratioRow, type Row } from '../report';

/** The codec's header length (format.ts): magic, codec id, JSON length. */
const CODEC_HEADER = 8;

/** The shape of {@link makeOrder}'s result. */
export interface Order {
  id: string;
  placedAt: Date;
  status: string;
  customer: Record<string, unknown>;
  items: {
    sku: string;
    name: string;
    quantity: number;
    unitPrice: number;
    addedAt: Date;
    tags: string[];
  }[];
  notes: string;
}

/**
 * A ~120 KB order: 1,000 line items, each with a Date, as a service would checkpoint it.
 * Deterministic, so every run measures the same bytes.
 *
 * @example
 * ```ts
 * const order = makeOrder(1000);
 * ```
 */
export function makeOrder(items: number): Order {
  const start = Date.UTC(2025, 0, 1);
  return {
    id: 'order-000042',
    placedAt: new Date(start),
    status: 'confirmed',
    customer: {
      id: 'customer-17',
      name: 'Ada Lovelace',
      email: 'ada@example.com',
      address: { street: '12 Analytical Row', city: 'London', postcode: 'N1 9GU' },
    },
    items: Array.from({ length: items }, (_, i) => ({
      sku: `SKU-${String(i).padStart(6, '0')}`,
      name: `Item number ${i}`,
      quantity: 1 + (i % 7),
      unitPrice: Math.round(((i * 37) % 10_000) + 99) / 100,
      addedAt: new Date(start + i * 60_000),
      tags: i % 3 === 0 ? ['gift', 'fragile'] : ['standard'],
    })),
    notes: 'Leave at the front desk.',
  };
}

/**
 * Codec round trip against JSON and v8 serialization, plus a breakdown of where the
 * codec's time goes (for the lead engineer, who owns the codec).
 */
export async function codecBenchmarks(budget: Budget): Promise<Row[]> {
  const order = makeOrder(1000);
  const jsonText = JSON.stringify(order);
  const size = `${Math.round(Buffer.byteLength(jsonText) / 1000)} KB`;

  // JSON.stringify spends much of its time turning the 1,001 Dates into ISO strings; the
  // same order with epoch numbers instead shows the codec against JSON's fastest case.
  const numeric = {
    ...order,
    placedAt: order.placedAt.getTime(),
    items: order.items.map((i) => ({ ...i, addedAt: i.addedAt.getTime() })),
  };
  const roundTrip = await compare(
    () => decodeValue(encodeValue(order)),
    {
      json: () => JSON.parse(JSON.stringify(order)),
      v8: () => deserialize(serialize(order)),
      jsonNumericDates: () => JSON.parse(JSON.stringify(numeric)),
    },
    budget,
  );

  // Breakdown: the codec is "walk the value into a tagged tree, JSON.stringify the tree,
  // copy the text into a Buffer" and the reverse. The tree and its text are recovered
  // from the codec's own output, so each part is timed on exactly what the codec handles.
  const encoded = encodeValue(order);
  const treeLength = encoded.readUInt32LE(4);
  const treeText = encoded.toString('utf8', CODEC_HEADER, CODEC_HEADER + treeLength);
  const tree: unknown = JSON.parse(treeText);
  const parts = await timeTogether(
    {
      encodeValue: () => encodeValue(order),
      'JSON.stringify(order)': () => JSON.stringify(order),
      'JSON.stringify(tagged tree)': () => JSON.stringify(tree),
      'Buffer.from(tree text)': () => Buffer.from(treeText, 'utf8'),
      decodeValue: () => decodeValue(encoded),
      'JSON.parse(order text)': () => JSON.parse(jsonText),
      'buffer.toString(tree text)': () =>
        encoded.toString('utf8', CODEC_HEADER, CODEC_HEADER + treeLength),
      'JSON.parse(tree text)': () => JSON.parse(treeText),
      'depth scan(tree text)': () =>
        nestsDeeperThan(encoded, CODEC_HEADER, CODEC_HEADER + treeLength, 2001),
    },
    budget,
  );
  const walk =
    parts.encodeValue - parts['JSON.stringify(tagged tree)'] - parts['Buffer.from(tree text)'];
  const revive =
    parts.decodeValue - parts['buffer.toString(tree text)'] - parts['JSON.parse(tree text)'];
  const info = (
    name: string,
    value: number,
    baselineName: string,
    baseline: number,
    note: string,
  ): Row =>
    ratioRow({
      name,
      value,
      unit: 'ms',
      baselineName,
      baseline,
      ratio: value / baseline,
      maxRatio: null,
      note,
    });

  return [
    ratioRow({
      name: `codec round trip, ${size} order (1,000 items with Dates)`,
      value: roundTrip.subjectMs,
      unit: 'ms',
      baselineName: 'JSON.stringify + JSON.parse',
      baseline: roundTrip.baselineMs.json,
      ratio: roundTrip.ratio.json,
      maxRatio: 1.5,
    }),
    ratioRow({
      name: `codec round trip, ${size} order, vs v8`,
      value: roundTrip.subjectMs,
      unit: 'ms',
      baselineName: 'v8.serialize + v8.deserialize',
      baseline: roundTrip.baselineMs.v8,
      ratio: roundTrip.ratio.v8,
      maxRatio: null,
    }),
    info(
      'codec encode (encodeValue)',
      parts.encodeValue,
      'JSON.stringify(order)',
      parts['JSON.stringify(order)'],
      'breakdown below',
    ),
    info(
      'encode part: walk into tagged tree',
      walk,
      'JSON.stringify(order)',
      parts['JSON.stringify(order)'],
      'encodeValue minus stringify of the tree minus Buffer copy',
    ),
    info(
      'encode part: JSON.stringify(tagged tree)',
      parts['JSON.stringify(tagged tree)'],
      'JSON.stringify(order)',
      parts['JSON.stringify(order)'],
      'tags make the text longer than plain JSON',
    ),
    info(
      'encode part: Buffer.from(tree text)',
      parts['Buffer.from(tree text)'],
      'JSON.stringify(order)',
      parts['JSON.stringify(order)'],
      'UTF-8 copy of the JSON text',
    ),
    info(
      'codec decode (decodeValue)',
      parts.decodeValue,
      'JSON.parse(order text)',
      parts['JSON.parse(order text)'],
      'breakdown below',
    ),
    info(
      'decode part: buffer.toString(utf8)',
      parts['buffer.toString(tree text)'],
      'JSON.parse(order text)',
      parts['JSON.parse(order text)'],
      'UTF-8 decode of the JSON text',
    ),
    info(
      'decode part: JSON.parse(tree text)',
      parts['JSON.parse(tree text)'],
      'JSON.parse(order text)',
      parts['JSON.parse(order text)'],
      'parse of the tagged text',
    ),
    info(
      'decode part (text of 256 KiB or more only): depth scan',
      parts['depth scan(tree text)'],
      'JSON.parse(tree text)',
      parts['JSON.parse(tree text)'],
      'refuses deep nesting before JSON.parse; measured on this text, which is below the size it runs for',
    ),
    info(
      'decode part: revive tags in place',
      revive,
      'JSON.parse(order text)',
      parts['JSON.parse(order text)'],
      'decodeValue minus toString minus JSON.parse',
    ),
  ];
}
