#!/usr/bin/env node
// `pnpm test` at the root: every package's tests through turbo and one summary line.
import "../run-tests.mjs";
