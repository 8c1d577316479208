/**
 * The quick start, after the Rust `checkpoint` crate's example. A Person goes into a
 * checksum-wrapped memory storage, is committed and read back; then the same into a
 * FileStorage under ./.checkpoints, which is reopened (as after a restart) and read again.
 *
 * Run it with `npm start`.
 */
import 'reflect-metadata';
import { rm } from 'node:fs/promises';
import { ChecksumWrapper, FileStorage, GuardWrapper, MemoryStorage } from 'checkpointable';

interface Person {
  name: string;
  age: number;
}

async function main(): Promise<void> {
  const person: Person = { name: 'John Smith', age: 50 };

  // 1. In memory, with integrity checks added by a ChecksumWrapper.
  const memory = GuardWrapper.wrap(ChecksumWrapper.wrap(new MemoryStorage()));
  const draft = await memory.createCheckpoint('Checkpoint');
  await draft.put('Person', person);
  const committed = await memory.commitCheckpoint(draft);
  const stored = await committed.get<Person>('Person');
  console.log(`memory: ${stored.name}, ${stored.age}`);
  await committed.release();
  await memory.close();

  // 2. On disk: commit, close, reopen (as a restarted process would), read back.
  const dir = './.checkpoints';
  await rm(dir, { recursive: true, force: true }); // the sample starts fresh each run
  const files = await FileStorage.open(dir);
  const onDisk = await files.createCheckpoint('Checkpoint');
  await onDisk.put('Person', person);
  await (await files.commitCheckpoint(onDisk)).release();
  await files.close();

  const reopened = await FileStorage.open(dir);
  await using loaded = await reopened.loadCheckpoint('Checkpoint');
  const fromDisk = await loaded.get<Person>('Person');
  console.log(
    `file:   ${fromDisk.name}, ${fromDisk.age} (checkpoints: ${(await reopened.checkpointIdentifiers()).join(', ')})`,
  );
  if (fromDisk.age !== person.age || fromDisk.name !== person.name)
    throw new Error('round trip changed the data');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
