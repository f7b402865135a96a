/**
 * Writes the JSON Schemas (schemas/) and the precompiled validators
 * (src/config/schema/validators.generated.ts) from src/config/schema/definitions.ts.
 *   npm run schemas
 * test/config/schema.test.ts fails when the committed files differ from what this writes.
 */
import * as fs from "fs";
import * as path from "path";
import { schemaFiles, validatorsSource } from "../src/config/schema/generate";
import { packageRoot } from "../src/paths";

const repo = packageRoot();
for (const [name, text] of Object.entries(schemaFiles())) fs.writeFileSync(path.join(repo, "schemas", name), text);
fs.writeFileSync(path.join(repo, "src", "config", "schema", "validators.generated.ts"), validatorsSource());
process.stdout.write(`wrote schemas/ and src/config/schema/validators.generated.ts under ${repo}\n`);
