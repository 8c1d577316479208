import { MemoryStorage } from 'checkpointable';
import { storageConformance } from 'checkpointable/testing';
import { WRAPPER_SETUPS } from './chains';

for (const setup of WRAPPER_SETUPS) {
  storageConformance(`${setup.name} over MemoryStorage`, {
    create: async () => setup.wrap(new MemoryStorage()),
    capabilities: { guarded: setup.guarded, labels: true },
  });
}
