import { libraryConfig } from "@widget-todevice/tsup-config";

// The main entry never loads matrix-js-sdk; its transport is a separate entry.
export default libraryConfig(["src/index.ts", "src/matrix-js-sdk.ts"]);
