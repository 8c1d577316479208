/**
 * Child process of the peak-RSS benchmark: puts one large Buffer into a durable
 * FileStorage, commits it, reads it back, checks it, and prints its resident-set figures
 * as JSON. A separate process, so the parent's own heap does not blur the peak. Plain
 * JavaScript, so that it can run on the compiled library exactly as a user's service does,
 * without a TypeScript loader in memory.
 *
 * Usage: `node bench/children/large-value.cjs <dir> <megabytes> <library>`, where
 * `<library>` is the compiled `index.js` (or, under `-r @swc-node/register`, `src/index.ts`).
 */
'use strict';

const MiB = 1024 * 1024;

/**
 * This process's peak resident set size, in bytes. Read from /proc (VmHWM, the high-water
 * mark of this process's own memory) where there is one: getrusage's maxRSS also counts
 * the parent's resident set at the fork, so a child of a large benchmark process would
 * report the parent's size as its own.
 */
function peakRss() {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const status = require('node:fs').readFileSync('/proc/self/status', 'utf8');
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(status);
    if (match) return Number(match[1]) * 1024;
  } catch {
    // not Linux: fall back to getrusage
  }
  return process.resourceUsage().maxRSS * 1024;
}

async function main() {
  const [dir, megabytesText, library] = process.argv.slice(2);
  const size = Number(megabytesText) * MiB;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { FileStorage } = require(library);
  const rssBefore = peakRss();
  const value = Buffer.alloc(size);
  for (let i = 0; i < size; i += 4096) value.writeUInt32LE(i, i); // touch every page
  const storage = await FileStorage.open(dir);
  const draft = await storage.createCheckpoint('large');
  await draft.put('value', value);
  await (await storage.commitCheckpoint(draft)).release();
  const afterCommit = peakRss();
  const loaded = await storage.loadCheckpoint('large');
  const back = await loaded.get('value');
  await loaded.release();
  await storage.close();
  if (!Buffer.isBuffer(back) || !back.equals(value)) throw new Error('the value did not come back');
  const peak = peakRss();
  process.stdout.write(JSON.stringify({ size, rssBefore, afterCommit, peak }) + '\n');
}

main().catch((error) => {
  process.stderr.write(String((error && error.stack) || error) + '\n');
  process.exit(1);
});
