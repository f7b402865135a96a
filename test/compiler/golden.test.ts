/**
 * Golden snapshots of the resource graphs (test/compiler/golden/<backend>-<scenario>.json):
 * what `dstack compile --json` shows a reviewer. A change to a program or a template shows up
 * as a diff of these files; regenerate with `UPDATE_GOLDEN=1 npx jest test/compiler/golden`
 * and review the diff before committing.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { awsProgram } from "../../src/compiler/backends/aws";
import { azureProgram } from "../../src/compiler/backends/azure";
import { gcpProgram } from "../../src/compiler/backends/gcp";
import type { BackendProgram } from "../../src/compiler/backends/index";
import { runUnderMocks } from "../../src/compiler/mock-engine";
import { volumeRefs } from "./fixtures";
import { CloudName, SCENARIOS, scenarioPlan } from "./scenarios";

const PROGRAMS: Record<CloudName, BackendProgram> = { aws: awsProgram, gcp: gcpProgram, azure: azureProgram };
const DIR = path.join(__dirname, "golden");
const update = process.env.UPDATE_GOLDEN === "1";

let home: string;
const savedHome = process.env.DSTACK_HOME;
beforeAll(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), "dstack-golden-"));
  process.env.DSTACK_HOME = home;
});
afterAll(() => {
  fs.rmSync(home, { recursive: true, force: true });
  if (savedHome === undefined) delete process.env.DSTACK_HOME;
  else process.env.DSTACK_HOME = savedHome;
});

const cases = (Object.keys(SCENARIOS) as CloudName[]).flatMap((cloud) => SCENARIOS[cloud].map((s) => [cloud, s] as const));

test.each(cases)("%s %s", async (cloud, scenario) => {
  const plan = scenarioPlan(cloud, scenario);
  const graph = await runUnderMocks(PROGRAMS[cloud], plan, { settings: volumeRefs(plan) });
  const text = JSON.stringify(graph, null, 2).split(home).join("$DSTACK_HOME") + "\n";
  const file = path.join(DIR, `${cloud}-${scenario}.json`);
  if (update) {
    fs.mkdirSync(DIR, { recursive: true });
    fs.writeFileSync(file, text);
    return;
  }
  if (!fs.existsSync(file)) throw new Error(`missing golden file ${file}; run UPDATE_GOLDEN=1 npx jest test/compiler/golden`);
  expect(text).toBe(fs.readFileSync(file, "utf8"));
});
