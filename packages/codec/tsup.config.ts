import { libraryConfig } from "@widget-todevice/tsup-config";

export default libraryConfig(["src/index.ts"]);
