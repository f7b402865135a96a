#!/usr/bin/env node
// dstack's provider plugin, pulumi-resource-dstack (src/compiler/backends/local/plugin.ts over
// tsc's output). The engine runs this entry bundled (dist/bundle/pulumi-resource-dstack.js,
// scripts/bundle.ts) when it is built; src/stacks/dstack-plugin.ts installs the wrapper.
"use strict";
// a literal path, so that esbuild bundles what it requires
require("../dist/src/compiler/backends/local/plugin.js")
  .serve(process.argv.slice(2))
  .catch((e) => {
    process.stderr.write(`pulumi-resource-dstack: ${(e && e.stack) || e}\n`);
    process.exit(1);
  });
