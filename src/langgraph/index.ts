// `checkpointable/langgraph`: the only module that loads @langchain/langgraph-checkpoint.
export { CheckpointableSaver } from './checkpointable-saver';
export { LANGGRAPH_PREFIX } from './langgraph-identifiers';
