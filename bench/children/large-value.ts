/**
 * Child process of the peak-RSS benchmark: puts one large Buffer into a durable
 * FileStorage, commits it, reads it back, checks it, and prints its resident-set figures
 * as JSON. A separate process, so the parent's own heap does not blur the peak.
 * Usage: `node -r @swc-node/register bench/children/large-value.ts <dir> <megabytes> [raw]`;
 * `raw` opens the storage without its GuardWrapper, to show what the wrapper layer costs.
 */
import { FileStorage } from 'checkpointable';

const MiB = 1024 * 1024;

async function main(): Promise<void> {
  const [dir, megabytesText, mode] = process.argv.slice(2);
  const size = Number(megabytesText) * MiB;
  const rssBefore = process.resourceUsage().maxRSS * 1024;
  const value = Buffer.alloc(size);
  for (let i = 0; i < size; i += 4096) value.writeUInt32LE(i, i); // touch every page
  const storage = mode === 'raw' ? await FileStorage.openRaw(dir) : await FileStorage.open(dir);
  const draft = await storage.createCheckpoint('large');
  await draft.put('value', value);
  await (await storage.commitCheckpoint(draft)).release();
  const afterCommit = process.resourceUsage().maxRSS * 1024;
  const loaded = await storage.loadCheckpoint('large');
  const back = await loaded.get<Buffer>('value');
  await loaded.release();
  await storage.close();
  if (!Buffer.isBuffer(back) || !back.equals(value)) throw new Error('the value did not come back');
  const peak = process.resourceUsage().maxRSS * 1024;
  process.stdout.write(JSON.stringify({ size, rssBefore, afterCommit, peak }) + '\n');
}

main().catch((error: unknown) => {
  process.stderr.write(String((error as Error)?.stack ?? error) + '\n');
  process.exit(1);
});
