import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildWrapperChain, FileStorage } from 'checkpointable';
import { validateSaver } from '../fixtures/langgraph/validate-saver';
import { RECOMMENDED_CHAIN } from '../wrappers/chains';

const root = mkdtempSync(join(tmpdir(), 'cp-langgraph-'));
let made = 0;

validateSaver('durable FileStorage', () => FileStorage.open(join(root, `plain-${made++}`)));
validateSaver('FileStorage behind checksum, HMAC and encryption', async () =>
  buildWrapperChain(await FileStorage.openRaw(join(root, `chain-${made++}`)), RECOMMENDED_CHAIN),
);
