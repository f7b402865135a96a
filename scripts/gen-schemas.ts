/**
 * Writes the JSON Schemas (schemas/) and the precompiled validators
 * (src/config/schema/validators.generated.ts) from src/config/schema/definitions.ts.
 *   npm run schemas
 * test/config/schema.test.ts fails when the committed files differ from what this writes.
 */
import * as fs from "fs";
import * as path from "path";
import { schemaFiles, validatorsSource } from "../src/config/schema/generate";

function repoRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, "package.json"))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${__dirname}`);
    dir = parent;
  }
  return dir;
}

const repo = repoRoot();
for (const [name, text] of Object.entries(schemaFiles())) fs.writeFileSync(path.join(repo, "schemas", name), text);
fs.writeFileSync(path.join(repo, "src", "config", "schema", "validators.generated.ts"), validatorsSource());
process.stdout.write(`wrote schemas/ and src/config/schema/validators.generated.ts under ${repo}\n`);
