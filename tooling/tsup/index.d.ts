import type { Options } from "tsup";

export declare function libraryConfig(entry: string[]): Options | Options[];
