import { cloudPrerequisites, dockerPluginPrerequisite, isCloudBackend } from "../../src/compiler/backends/cloud/prerequisites";

test("plugin versions come from the installed SDKs (the version each SDK asks the engine for)", () => {
  expect(cloudPrerequisites("aws").plugin).toEqual({ name: "aws", version: require("@pulumi/aws/package.json").pulumi.version });
  expect(cloudPrerequisites("gcp").plugin.name).toBe("gcp");
  expect(cloudPrerequisites("azure").plugin).toEqual({ name: "azure-native", version: require("@pulumi/azure-native/package.json").pulumi.version });
  expect(dockerPluginPrerequisite().name).toBe("docker");
  expect(["aws", "gcp", "azure", "local", "lambda"].map(isCloudBackend)).toEqual([true, true, true, false, false]);
});
