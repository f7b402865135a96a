/**
 * Every real configuration of ../shared/dstack-configs that loads as a run compiles for each cloud
 * under the mock engine, and the graph keeps its invariants: one instance of the offer's type,
 * every taggable resource tagged with the run, no secret env value in clear, a boot text that
 * parses and carries the run's env. Skipped when the folder is absent.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse as parseYaml } from "yaml";
import { loadRunSpec } from "../../src/config/index";
import type { RunSpec } from "../../src/config/runspec";
import { awsProgram } from "../../src/compiler/backends/aws";
import { azureProgram } from "../../src/compiler/backends/azure";
import { gcpProgram } from "../../src/compiler/backends/gcp";
import type { BackendProgram } from "../../src/compiler/backends/index";
import { cloudInitFiles } from "../../src/compiler/backends/cloud/cloud-init";
import { runUnderMocks, SECRET } from "../../src/compiler/mock-engine";
import { describeWhen, sharedConfigs, sharedConfigsDir } from "../support/requirements";
import { OFFERS, planFor, volumeRefs } from "./fixtures";

const configs = sharedConfigsDir;
const present = sharedConfigs.missing() === null;

let home: string;
const savedHome = process.env.DSTACK_HOME;
const specs: RunSpec[] = [];
beforeAll(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), "dstack-real-"));
  process.env.DSTACK_HOME = home;
  if (!present) return;
  const repo = path.join(home, "repo");
  fs.mkdirSync(repo, { recursive: true });
  for (const f of fs.readdirSync(configs).filter((x) => /\.ya?ml$/.test(x)).sort()) {
    try {
      specs.push(loadRunSpec({ file: path.join(configs, f), dir: repo, env: { DSTACK_HOME: home, HF_TOKEN: "hf_real_secret_value", WANDB_API_KEY: "wandb_real_secret_value" }, profile: null }));
    } catch {
      // not a run configuration (volume, service, fleet…) or deliberately invalid: not this test's business
    }
  }
});
afterAll(() => {
  fs.rmSync(home, { recursive: true, force: true });
  if (savedHome === undefined) delete process.env.DSTACK_HOME;
  else process.env.DSTACK_HOME = savedHome;
});

// Every configuration on AWS; every 3rd on GCP and every 5th on Azure (its SDK is the slowest
// under mocks) keep the file's time reasonable on a shared machine.
const CASES: [string, BackendProgram, string, (typeof OFFERS)[keyof typeof OFFERS], number][] = [
  ["aws", awsProgram, "aws:ec2/instance:Instance", OFFERS.aws, 1],
  ["gcp", gcpProgram, "gcp:compute/instance:Instance", OFFERS.gcp, 3],
  ["azure", azureProgram, "azure-native:compute:VirtualMachine", OFFERS.azure, 5],
];

describeWhen(sharedConfigs, "real configurations on the clouds, under the mock engine", () => {
  test.each(CASES)(
    "%s: the real run configurations compile, tagged, secrets hidden, boot text with the env",
    async (cloud, program, instanceType, offer, stride) => {
      expect(specs.length).toBeGreaterThan(50);
      for (const spec of specs.filter((_, i) => i % stride === 0)) {
        const plan = planFor(spec, offer);
        const g = await runUnderMocks(program, plan, { settings: volumeRefs(plan) });
        const inst = g.resources.filter((r) => r.type === instanceType);
        expect(inst).toHaveLength(1);
        const text = JSON.stringify(g);
        for (const k of plan.container.secret_env) expect(text).not.toContain(plan.container.env[k]);
        const tagKey = cloud === "gcp" ? "labels" : "tags";
        const runTag = cloud === "gcp" ? "dstack_run" : "dstack:run";
        const tags = inst[0].inputs[tagKey] as Record<string, string>;
        expect(tags[runTag]).toBe(cloud === "gcp" ? plan.run_name.toLowerCase().replace(/[^a-z0-9_-]/g, "_") : plan.run_name);
        if (inst[0].secret_inputs.length === 0) {
          const raw = cloud === "aws" ? inst[0].inputs.userData : cloud === "gcp" ? (inst[0].inputs.metadata as Record<string, string>)["user-data"] : (inst[0].inputs.osProfile as Record<string, string>).customData;
          if (raw === undefined && cloud === "aws") continue; // gzipped into userDataBase64
          expect(raw).not.toBe(SECRET);
          const boot = cloud === "azure" ? Buffer.from(String(raw), "base64").toString("utf8") : String(raw);
          const env = cloudInitFiles(boot, parseYaml)["/opt/dstack/run.env"];
          expect(env).toContain(`DSTACK_RUN_NAME=${plan.run_name}\n`);
        } else {
          expect(plan.container.secret_env.length + (plan.image.registry_auth ? 1 : 0) + (plan.image.kind === "prebuilt" ? 1 : 0)).toBeGreaterThan(0);
        }
      }
    },
    180_000,
  );
});
