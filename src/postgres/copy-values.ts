import type { PoolClient } from 'pg';

/**
 * Writes large values with `COPY ... FROM STDIN (FORMAT binary)`, streamed in slices.
 *
 * A value sent as a statement parameter is copied whole into pg's message buffer (and
 * that buffer grows by copying too), so a commit needed about three times the value in
 * memory. Through COPY, each value goes to the socket as slices of itself, waiting for
 * the socket to drain between slices: the commit holds the value once (the handle's
 * bytes) plus one slice. The rows land in the commit's transaction like any INSERT.
 *
 * Binary COPY layout (PostgreSQL manual, "COPY", Binary Format): the 11-byte signature
 * `PGCOPY\n\377\r\n\0`, a 32-bit flags word (0) and a 32-bit header extension length (0);
 * then per row a 16-bit field count and, per field, a 32-bit byte length and the bytes
 * (bigint: 8 bytes big-endian; text: UTF-8; bytea: raw); then a 16-bit -1.
 */

/** One row of the values table, ready for COPY. */
export interface CopyRow {
  /** The checkpoint row's id, as pg returns a bigint. */
  readonly checkpointId: string;
  /** The stored key. */
  readonly key: string;
  /** The value's bytes. */
  readonly value: Uint8Array;
}

/** What this module needs of pg's connection (not part of pg's typings). */
interface CopyConnection {
  query(text: string): void;
  endCopyFrom(): void;
  sendCopyFail(message: string): void;
  readonly stream: NodeJS.WritableStream & {
    writable: boolean;
    destroyed?: boolean;
    once(event: 'drain' | 'close', listener: () => void): unknown;
    removeListener(event: 'drain' | 'close', listener: () => void): unknown;
  };
}

/** How much of a value goes into one CopyData message. */
const SLICE_BYTES = 1024 * 1024;
const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

/**
 * Sends `rows` into `table` on `client` with one binary COPY, inside whatever
 * transaction the client is in.
 *
 * @param client a pooled connection, in the commit's transaction
 * @param table the quoted values table
 * @param rows the rows to write
 * @throws the driver's or the server's error, as a query would
 *
 * @example
 * ```ts
 * await copyValues(client, '"checkpointable_values"', [{ checkpointId: '1', key: 'k', value }]);
 * ```
 */
export function copyValues(client: PoolClient, table: string, rows: CopyRow[]): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const copy = new CopyIn(
      `COPY ${table} (checkpoint_id, key, value) FROM STDIN (FORMAT binary)`,
      rows,
      (error) => (error === undefined ? resolve() : reject(error)),
    );
    (client as unknown as { query(submittable: CopyIn): unknown }).query(copy);
  });
}

/** A pg "submittable": pg hands it the connection and the server's messages in turn. */
class CopyIn {
  /**
   * Set by pg when a query time-out applies (`queryTimeoutMs`): calling it clears the
   * timer. On time-out pg calls handleError instead, which ends the COPY with that error.
   */
  callback?: (error?: unknown) => void;
  private finished = false;
  private failure: unknown;

  constructor(
    private readonly text: string,
    private readonly rows: CopyRow[],
    private readonly done: (error?: unknown) => void,
  ) {}

  submit(connection: CopyConnection): void {
    connection.query(this.text);
  }

  handleCopyInResponse(connection: CopyConnection): void {
    this.send(connection).then(
      () => connection.endCopyFrom(),
      (error: unknown) => {
        // The server answers CopyFail with an error, which ends the query.
        this.failure ??= error;
        if (connection.stream.writable) connection.sendCopyFail(String(error));
      },
    );
  }

  handleError(error: unknown): void {
    this.finish(this.failure ?? error);
  }

  handleReadyForQuery(): void {
    this.finish(this.failure);
  }

  handleCommandComplete(): void {}
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
  handleCopyData(): void {}

  private finish(error: unknown): void {
    if (this.finished) return;
    this.finished = true;
    this.callback?.(error);
    this.done(error);
  }

  private async send(connection: CopyConnection): Promise<void> {
    const { stream } = connection;
    const message = async (...parts: Uint8Array[]): Promise<void> => {
      if (this.finished) throw new Error('the COPY ended before all rows were sent');
      if (!stream.writable) throw new Error('Connection terminated unexpectedly');
      let length = 4;
      for (const part of parts) length += part.length;
      const header = Buffer.allocUnsafe(5);
      header[0] = 0x64; // 'd', CopyData
      header.writeInt32BE(length, 1);
      let flowing = stream.write(header);
      for (const part of parts) flowing = stream.write(part);
      if (!flowing) await drained(stream);
    };
    const start = Buffer.alloc(SIGNATURE.length + 8);
    SIGNATURE.copy(start);
    await message(start);
    for (const { checkpointId, key, value } of this.rows) {
      const keyBytes = Buffer.from(key, 'utf8');
      const head = Buffer.allocUnsafe(2 + 4 + 8 + 4 + keyBytes.length + 4);
      let at = head.writeInt16BE(3, 0);
      at = head.writeInt32BE(8, at);
      at = head.writeBigInt64BE(BigInt(checkpointId), at);
      at = head.writeInt32BE(keyBytes.length, at);
      at += keyBytes.copy(head, at);
      head.writeInt32BE(value.length, at);
      await message(head);
      for (let from = 0; from < value.length; from += SLICE_BYTES)
        await message(value.subarray(from, from + SLICE_BYTES));
    }
    const end = Buffer.allocUnsafe(2);
    end.writeInt16BE(-1, 0);
    await message(end);
  }
}

/** Resolves when the socket drained; rejects when it closed first, so nothing waits for ever. */
function drained(stream: CopyConnection['stream']): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onDrain = () => {
      stream.removeListener('close', onClose);
      resolve();
    };
    const onClose = () => {
      stream.removeListener('drain', onDrain);
      reject(new Error('Connection terminated unexpectedly'));
    };
    stream.once('drain', onDrain);
    stream.once('close', onClose);
  });
}
