import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStorage, type FileDurability, type Storage } from 'checkpointable';
import { storageConformance } from 'checkpointable/testing';
import { afterAll } from 'vitest';
import { WRAPPER_SETUPS } from './chains';

const root = mkdtempSync(join(tmpdir(), 'cp-wrapper-conformance-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const dirOf = new WeakMap<object, string>();

for (const setup of WRAPPER_SETUPS) {
  // The full chains run durable, as users run them; single wrappers run 'atomic', which
  // commits the same way without fsync, to spare the shared machine.
  const durability: FileDurability = setup.guarded ? 'durable' : 'atomic';
  const open = async (dir: string): Promise<Storage> => {
    const storage = setup.wrap(await FileStorage.openRaw(dir, { durability }));
    dirOf.set(storage, dir);
    return storage;
  };
  storageConformance(`${setup.name} over FileStorage.openRaw() (${durability})`, {
    create: () => open(join(root, `w${n++}`)),
    reopen: (s) => open(dirOf.get(s)!),
    capabilities: { guarded: setup.guarded, labels: true },
  });
}
