#!/usr/bin/env node
// Runs every compiled benchmark (dist/bench/*.js, or the names given) one after the other.
// Each prints its own figures and its baseline, measured in the same run.
// keys (bench/keys.ts) checks 10,000 generated keys with `ssh-keygen -y`: a minute or more.
"use strict";
const { spawnSync } = require("child_process");
const fs = require("fs");
const path = require("path");
const dir = path.join(__dirname, "..", "dist", "bench");
const only = process.argv.slice(2);
const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith(".js")).sort() : [];
let failed = 0;
for (const f of files) {
  const name = f.replace(/\.js$/, "");
  if (only.length && !only.includes(name)) continue;
  process.stdout.write(`\n=== bench/${name} ===\n`);
  const r = spawnSync(process.execPath, [path.join(dir, f)], { stdio: "inherit" });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
