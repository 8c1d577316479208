import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStorage } from 'checkpointable';
import { storageConformance } from 'checkpointable/testing';

const root = mkdtempSync(join(tmpdir(), 'cp-file-conformance-'));
let n = 0;
const dirOf = new WeakMap<object, string>();

async function open(dir: string, raw: boolean) {
  const storage = raw ? await FileStorage.openRaw(dir) : await FileStorage.open(dir);
  dirOf.set(storage, dir);
  return storage;
}

storageConformance('FileStorage.open() (durable, guarded)', {
  create: () => open(join(root, `g${n++}`), false),
  reopen: (s) => open(dirOf.get(s)!, false),
  capabilities: { guarded: true, labels: true },
});

storageConformance('FileStorage.openRaw() (durable, bare)', {
  create: () => open(join(root, `r${n++}`), true),
  reopen: (s) => open(dirOf.get(s)!, true),
  capabilities: { guarded: false, labels: true },
});

storageConformance('FileStorage atomic durability', {
  create: async () => {
    const dir = join(root, `a${n++}`);
    const s = await FileStorage.open(dir, { durability: 'atomic' });
    dirOf.set(s, dir);
    return s;
  },
  reopen: async (s) => FileStorage.open(dirOf.get(s)!, { durability: 'atomic' }),
  capabilities: { guarded: true, labels: true },
});
