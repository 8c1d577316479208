// The manager layer's public exports; src/index.ts re-exports everything here.
export {};
