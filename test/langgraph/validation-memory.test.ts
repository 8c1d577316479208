import { MemoryStorage } from 'checkpointable';
import { validateSaver } from '../fixtures/langgraph/validate-saver';

validateSaver('MemoryStorage', async () => MemoryStorage.create());
