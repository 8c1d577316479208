// class-transformer ships its CommonJS build under cjs/ and its typings under types/;
// this deep import has no typings of its own. We read only the metadata maps.
declare module 'class-transformer/cjs/storage' {
  export const defaultMetadataStorage: unknown;
}
