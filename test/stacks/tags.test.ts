/** Stack tags with the file backend: Pulumi's `<stack>.pulumi-tags` read and written directly. */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseTagsFile, readStackTags, readTagsFromFile, setStackTags } from "../../src/stacks/tags";

let home: string;
let env: NodeJS.ProcessEnv;
beforeEach(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), "dstack-tags-"));
  env = { ...process.env, DSTACK_HOME: home };
  delete env.DSTACK_STATE_URL;
});
afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

const file = (run: string) => path.join(home, "state", ".pulumi", "stacks", "dstack", `${run}.pulumi-tags`);

test("tags are written in Pulumi's DIY layout, merged, and an empty value removes one", async () => {
  expect(readTagsFromFile("r1", env)).toEqual({});
  await setStackTags("r1", { "dstack:status": "running", "dstack:owner": "me" }, env);
  expect(JSON.parse(fs.readFileSync(file("r1"), "utf8"))).toEqual({ version: 1, tags: { "dstack:status": "running", "dstack:owner": "me", "pulumi:project": "dstack" } });
  await setStackTags("r1", { "dstack:status": "failed", "dstack:owner": "" }, env);
  expect(await readStackTags("r1", env)).toEqual({ "dstack:status": "failed", "pulumi:project": "dstack" });
  // other files in the folder are not stacks
  expect(fs.readdirSync(path.dirname(file("r1")))).toEqual(["r1.pulumi-tags"]);
});

test("an unknown layout is not guessed at", () => {
  expect(parseTagsFile('{"version": 2, "tags": {"a": "b"}}')).toBeNull();
  expect(parseTagsFile("not json")).toBeNull();
  expect(parseTagsFile('{"version": 1, "tags": {"a": "b", "n": 3}}')).toEqual({ a: "b" });
});
