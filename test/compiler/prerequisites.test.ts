import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { cloudPrerequisites, missingCloudPrerequisites, missingPrerequisitesError } from "../../src/compiler/backends/cloud/prerequisites";

test("plugin versions come from the installed SDKs", () => {
  expect(cloudPrerequisites("aws").plugin).toEqual({ name: "aws", version: require("@pulumi/aws/package.json").version });
  expect(cloudPrerequisites("gcp").plugin.name).toBe("gcp");
  expect(cloudPrerequisites("azure").plugin).toEqual({ name: "azure-native", version: require("@pulumi/azure-native/package.json").version });
});

test("missing plugin and credentials are named exactly", () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "dstack-prereq-"));
  const plugins = path.join(home, "plugins");
  const m = missingCloudPrerequisites("aws", { HOME: home }, plugins);
  expect(m.plugin).toEqual(expect.objectContaining({ name: "aws", install: expect.stringMatching(/^pulumi plugin install resource aws v\d+\.\d+\.\d+$/) }));
  expect(m.credentials).toContain("AWS_ACCESS_KEY_ID+AWS_SECRET_ACCESS_KEY");
  // Half a credential pair is still missing; the full pair is not.
  expect(missingCloudPrerequisites("aws", { HOME: home, AWS_ACCESS_KEY_ID: "x" }, plugins).credentials).not.toBeNull();
  expect(missingCloudPrerequisites("aws", { HOME: home, AWS_ACCESS_KEY_ID: "x", AWS_SECRET_ACCESS_KEY: "y" }, plugins).credentials).toBeNull();
  const v = cloudPrerequisites("gcp").plugin.version;
  fs.mkdirSync(path.join(plugins, `resource-gcp-v${v}`), { recursive: true });
  expect(missingCloudPrerequisites("gcp", { HOME: home, GOOGLE_CREDENTIALS: "{}" }, plugins)).toEqual({ plugin: null, credentials: null });
  fs.rmSync(home, { recursive: true, force: true });
});

test("the error names the plugin's install command and each credential alternative (exit code 5)", () => {
  const err = missingPrerequisitesError("azure", missingCloudPrerequisites("azure", { HOME: "/nonexistent" }, "/nonexistent/plugins"));
  expect(err?.exitCode).toBe(5);
  expect(err?.diagnostics.map((d) => d.code)).toEqual(["E3030", "E3031"]);
  expect(err?.diagnostics[0].hint).toMatch(/^pulumi plugin install resource azure-native v3\.\d+\.\d+/);
  expect(err?.diagnostics[1].message).toContain("ARM_CLIENT_ID and ARM_CLIENT_SECRET and ARM_TENANT_ID and ARM_SUBSCRIPTION_ID");
  expect(missingPrerequisitesError("aws", { plugin: null, credentials: null })).toBeNull();
});
