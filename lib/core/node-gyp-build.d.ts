/** Types for node-gyp-build, which ships none. */
declare module 'node-gyp-build' {
  function load(dir: string): unknown;
  export = load;
}
