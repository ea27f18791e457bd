import { libraryConfig } from "@widget-todevice/tsup-config";

// The main entry never loads matrix-js-sdk; its transport is a separate entry, and so is the
// in-memory homeserver, which only tests need.
export default libraryConfig(["src/index.ts", "src/matrix-js-sdk.ts", "src/testing.ts"]);
