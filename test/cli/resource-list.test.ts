/**
 * The resource lists of up's and down's confirmations and the build's progress lines (pure):
 * from a preview's creates, from a state's resources, from Docker's classic-builder output.
 */
import { buildProgressLine } from "../../src/cli/build-progress";
import { keyProperties, renderPendingBuild, renderResourceList, resourcesToCreate, resourcesToDelete, shortType } from "../../src/cli/resource-list";
import { resourcesOfCheckpoint } from "../../src/stacks/checkpoint";
import type { ResourceChange } from "../../src/stacks/events";

const urn = (type: string, name: string) => `urn:pulumi:run::dstack::${type}::${name}`;

describe("up's list of a new run's resources", () => {
  const changes: ResourceChange[] = [
    { op: "create", urn: urn("pulumi-nodejs:dynamic:Resource", "image"), name: "image", type: "pulumi-nodejs:dynamic/dstack:LocalImage", replace_keys: [], properties: [], inputs: { kind: "base", ref: "dstack-base:abc", build: null, registry_auth: "[secret]" } },
    { op: "create", urn: urn("x", "volume-data"), name: "volume-data", type: "pulumi-nodejs:dynamic/dstack:LocalVolume", replace_keys: [], properties: [], inputs: { name: "data", retain: true } },
    { op: "create", urn: urn("x", "container"), name: "container", type: "pulumi-nodejs:dynamic/dstack:LocalContainer", replace_keys: [], properties: [], inputs: { name: "dstack-dev", image: "dstack-base:abc", repo_dir: "/src/proj", cpus: 2, env: { A: "b" }, gpus: 0 } },
    { op: "update", urn: urn("x", "other"), name: "other", type: "t", replace_keys: [], properties: [] },
  ];
  it("lists the creates with type, name and identifying properties", () => {
    expect(renderResourceList("dev is new; up will create", resourcesToCreate(changes))).toBe(
      [
        "dev is new; up will create (3 to create):",
        "  + LocalImage      image        ref=dstack-base:abc, kind=base",
        "  + LocalVolume     volume-data  name=data",
        "  + LocalContainer  container    name=dstack-dev, image=dstack-base:abc, repo_dir=/src/proj, cpus=2, gpus=0",
      ].join("\n"),
    );
  });
  it("cloud types: their own identifying properties, else name/region/zone/size", () => {
    expect(shortType("aws:ec2/instance:Instance")).toBe("Instance");
    expect(keyProperties("aws:ec2/instance:Instance", { instanceType: "g5.xlarge", ami: "ami-1", tags: { a: "b" } })).toEqual(["instanceType=g5.xlarge", "ami=ami-1"]);
    expect(keyProperties("gcp:compute/network:Network", { name: "net", region: "us-central1", autoCreateSubnetworks: false })).toEqual(["name=net", "region=us-central1"]);
  });
});

describe("down's list, from the state", () => {
  const checkpoint = {
    checkpoint: {
      latest: {
        resources: [
          { urn: urn("pulumi:pulumi:Stack", "dstack-dev"), type: "pulumi:pulumi:Stack" },
          { urn: urn("pulumi:providers:pulumi-nodejs", "default"), type: "pulumi:providers:pulumi-nodejs" },
          { urn: urn("d", "image"), type: "pulumi-nodejs:dynamic/dstack:LocalImage", inputs: { ref: "dstack-prebuilt:0123456789abcdef" }, outputs: { ref: "dstack-prebuilt:0123456789abcdef", kind: "prebuilt" }, retainOnDelete: true },
          { urn: urn("d", "volume-data"), type: "pulumi-nodejs:dynamic/dstack:LocalVolume", inputs: { name: "data" }, outputs: { name: "data" }, retainOnDelete: true },
          { urn: urn("d", "container"), type: "pulumi-nodejs:dynamic/dstack:LocalContainer", inputs: { name: "dstack-dev" }, outputs: { name: "dstack-dev", ssh_port: 21234, secret_env: { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", ciphertext: "x" } } },
        ],
      },
    },
  };
  it("deletes what is not retained, keeps the shared image and the volumes (unless --volumes)", () => {
    const resources = resourcesOfCheckpoint(checkpoint);
    expect(resources.map((r) => r.name)).toEqual(["image", "volume-data", "container"]);
    expect(resources[2]!.outputs.secret_env).toBe("[secret]");
    expect(renderResourceList("down will delete dev", resourcesToDelete(resources))).toBe(
      [
        "down will delete dev (1 to delete, 2 kept):",
        "    LocalImage      image        ref=dstack-prebuilt:0123456789abcdef, kind=prebuilt  [kept (shared)]",
        "    LocalVolume     volume-data  name=data  [kept (--volumes deletes it)]",
        "  - LocalContainer  container    name=dstack-dev, ssh_port=21234",
      ].join("\n"),
    );
    expect(resourcesToDelete(resources, { volumes: true }).map((r) => r.mark)).toEqual([" ", "-", "-"]);
    expect(renderResourceList("down will delete x", [])).toBe("down will delete x: none");
  });
});

describe("the build as progress", () => {
  it("steps indented, the commands' output below them, Docker's bookkeeping left out", () => {
    const raw = [
      "Step 1/5 : FROM dstack-base:abc",
      " ---> 1a2b3c4d5e6f",
      "Step 4/5 : RUN /bin/bash -e /tmp/dstack-build.sh",
      " ---> Running in 0123abcd",
      "Collecting numpy",
      "Removing intermediate container 0123abcd",
      " ---> 9f8e7d6c5b4a",
      "Successfully built 9f8e7d6c5b4a",
      "Successfully tagged dstack-prebuilt:0123456789abcdef",
      "   ",
    ];
    expect(raw.map(buildProgressLine).filter((l) => l !== null)).toEqual(["  step 1/5: FROM dstack-base:abc", "  step 4/5: RUN /bin/bash -e /tmp/dstack-build.sh", "      Collecting numpy"]);
  });
  it("the note of a build up makes after the confirmation", () => {
    const b = { from: "dstack-base:abc", commands: ["a", "b"], working_dir: "/workflow", hash: "h", ref: "dstack-prebuilt:h", context_dir: "/src" };
    expect(renderPendingBuild(b, false)).toBe("Image: dstack-prebuilt:h will be built (--build) before the run starts: 2 build: commands on dstack-base:abc, in /workflow with the repo's files.");
    expect(renderPendingBuild(b, true)).toMatch(/will be built again \(--force-build\)/);
  });
});
