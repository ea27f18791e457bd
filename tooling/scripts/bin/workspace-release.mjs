#!/usr/bin/env node
// `pnpm release` at the root.
import "../release.mjs";
