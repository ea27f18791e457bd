// The widget package's README quotes examples/matrix-js-sdk.ts as it is: the example lives here
// because it runs against both the widget package and the driver.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { expect, test } from "vitest";

test("the widget README quotes examples/matrix-js-sdk.ts as it is", () => {
  const widgetRoot = dirname(
    createRequire(import.meta.url).resolve("@widget-todevice/widget/package.json"),
  );
  const example = readFileSync(
    join(import.meta.dirname, "..", "examples", "matrix-js-sdk.ts"),
    "utf8",
  )
    .split("\n")
    .slice(1)
    .join("\n")
    .trim();
  expect(readFileSync(join(widgetRoot, "README.md"), "utf8")).toContain(example);
});
