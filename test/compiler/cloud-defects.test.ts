/**
 * The cloud programs' defects found by reading them against the providers' documented
 * behaviour (issue 11), each with the mock-engine check that would have caught it.
 */
import { awsAmiRootSize, awsDefaultVpc, awsFirstZone, awsProgram } from "../../src/compiler/backends/aws";
import { azureProgram } from "../../src/compiler/backends/azure";
import { gcpNeedsHyperdisk, gcpProgram } from "../../src/compiler/backends/gcp";
import type { BackendProgram } from "../../src/compiler/backends/index";
import { bootFiles, renderCloudInit } from "../../src/compiler/backends/cloud/cloud-init";
import { DEFAULT_CLOUD_SETTINGS } from "../../src/compiler/backends/cloud/settings";
import { GraphResource, ResourceGraph, runUnderMocks } from "../../src/compiler/mock-engine";
import type { Plan } from "../../src/compiler/plan";
import { CONTEXT, OFFERS, planFor, runSpec, SSH_HOST_KEY, volumeRefs } from "./fixtures";
import { CloudName, scenarioPlan } from "./scenarios";

const PROGRAMS: Record<CloudName, BackendProgram> = { aws: awsProgram, gcp: gcpProgram, azure: azureProgram };
const of = (g: ResourceGraph, type: string): GraphResource[] => g.resources.filter((r) => r.type === type);
type Obj = Record<string, unknown>;

describe("root disk: at least the image's size (examples/task asks disk: 1GB..)", () => {
  test.each([
    ["aws", "aws:ec2/instance:Instance", (r: GraphResource) => (r.inputs.rootBlockDevice as Obj).volumeSize, 75],
    ["gcp", "gcp:compute/instance:Instance", (r: GraphResource) => ((r.inputs.bootDisk as Obj).initializeParams as Obj).size, 50],
    ["azure", "azure-native:compute:VirtualMachine", (r: GraphResource) => ((r.inputs.storageProfile as Obj).osDisk as Obj).diskSizeGB, 64],
  ] as const)("%s", async (cloud, type, size, floor) => {
    const small: Plan = { ...scenarioPlan(cloud, "on-demand"), disk_size: 1 };
    expect(size(of(await runUnderMocks(PROGRAMS[cloud], small), type)[0])).toBe(floor);
    const big: Plan = { ...scenarioPlan(cloud, "on-demand"), disk_size: 500 };
    expect(size(of(await runUnderMocks(PROGRAMS[cloud], big), type)[0])).toBe(500);
  });
  test("the AMI's root snapshot size, from getAmi's block device mappings", () => {
    expect(awsAmiRootSize("/dev/sda1", [{ deviceName: "/dev/sdb", ebs: { volume_size: "8" } }, { deviceName: "/dev/sda1", ebs: { volume_size: "75" } }])).toBe(75);
    expect(awsAmiRootSize("/dev/xvda", undefined)).toBe(0);
  });
});

test("aws spot with a volume: no stop before detaching (EC2 refuses to stop a one-time spot instance); termination detaches", async () => {
  const spec = runSpec({ spot_policy: "spot", volumes: [{ kind: "volume", name: ["my-data"], path: "/data" }] });
  const plan = planFor(spec, OFFERS.awsSpot);
  const g = await runUnderMocks(awsProgram, plan, { settings: volumeRefs(plan) });
  const att = of(g, "aws:ec2/volumeAttachment:VolumeAttachment")[0];
  expect(att.inputs.stopInstanceBeforeDetaching).toBeUndefined();
  expect(att.inputs.skipDestroy).toBe(true);
});

test("aws tags: the root volume through rootBlockDevice.tags, never volumeTags (which cycles with the ebs.Volume's tags)", async () => {
  const plan = scenarioPlan("aws", "volume");
  const g = await runUnderMocks(awsProgram, plan, { settings: volumeRefs(plan) });
  const inst = of(g, "aws:ec2/instance:Instance")[0];
  expect(inst.inputs.volumeTags).toBeUndefined();
  expect(((inst.inputs.rootBlockDevice as Obj).tags as Obj)["dstack:run"]).toBe("train-llm");
  // the EBS volume is its volume stack's (tagged there): the run reads it by id
  expect(of(g, "aws:ebs/volume:Volume")[0].options?.read_id).toMatch(/^vol-/);
});

describe("IPv4 and IPv6 ingress: one rule per family", () => {
  const cidrs = ["198.51.100.0/24", "2001:db8::/32"];
  test("gcp: an allow rule per family, and a deny from anywhere that overrides default-allow-ssh", async () => {
    const g = await runUnderMocks(gcpProgram, scenarioPlan("gcp", "on-demand"), { settings: { ssh_ingress_cidrs: cidrs } });
    const fws = of(g, "gcp:compute/firewall:Firewall").map((r) => r.inputs);
    const allows = fws.filter((f) => f.allows);
    expect(allows.map((f) => f.sourceRanges)).toEqual([["198.51.100.0/24"], ["2001:db8::/32"]]);
    expect(allows.every((f) => f.priority === 900)).toBe(true);
    const denies = fws.filter((f) => f.denies);
    expect(denies.map((f) => f.sourceRanges)).toEqual([["0.0.0.0/0"], ["::/0"]]);
    // default-allow-ssh is priority 65534: the run's deny (1000) wins over it, the run's allow (900) over the deny
    expect(denies.every((f) => f.priority === 1000 && JSON.stringify(f.targetTags) === JSON.stringify(allows[0].targetTags))).toBe(true);
    expect((denies[0].denies as Obj[])[0].ports).toEqual(["22", "10022"]);
    // open to anywhere: no deny rule at all
    const open = await runUnderMocks(gcpProgram, scenarioPlan("gcp", "on-demand"));
    expect(of(open, "gcp:compute/firewall:Firewall").map((r) => Boolean(r.inputs.denies))).toEqual([false]);
  });
  test("azure: each NSG rule holds one family", async () => {
    const g = await runUnderMocks(azureProgram, scenarioPlan("azure", "on-demand"), { settings: { ssh_ingress_cidrs: cidrs } });
    const rules = of(g, "azure-native:network:NetworkSecurityGroup")[0].inputs.securityRules as Obj[];
    expect(rules.map((r) => [r.name, r.destinationPortRange, r.sourceAddressPrefixes])).toEqual([
      ["host-ssh", "22", ["198.51.100.0/24"]],
      ["host-ssh-v6", "22", ["2001:db8::/32"]],
      ["run-ssh", "10022", ["198.51.100.0/24"]],
      ["run-ssh-v6", "10022", ["2001:db8::/32"]],
    ]);
    expect(new Set(rules.map((r) => r.priority)).size).toBe(rules.length);
  });
});

test("aws zone: never a Local Zone (which sorts first and has no default subnet)", () => {
  expect(awsFirstZone("us-east-1", "g5.xlarge", ["us-east-1-bos-1a", "us-east-1c", "us-east-1-wl1-nyc-wlz-1", "us-east-1b"])).toBe("us-east-1b");
  expect(() => awsFirstZone("us-east-1", "g5.xlarge", ["us-east-1-bos-1a"])).toThrow("g5.xlarge is offered in no availability zone of us-east-1");
});

test("aws: a region without a default VPC is a clear error, not a raw provider error", () => {
  expect(() => awsDefaultVpc("eu-west-3", [])).toThrow(/eu-west-3 has no default VPC: create one \(`aws ec2 create-default-vpc --region eu-west-3`\) or set `network: project`/);
  expect(awsDefaultVpc("eu-west-3", ["vpc-2", "vpc-1"])).toBe("vpc-1");
});

test("gcp Hyperdisk-only series (c4, n4, a3-ultragpu, a4): hyperdisk-balanced disks and gVNIC", async () => {
  expect(["c4-standard-8", "n4-standard-4", "a3-ultragpu-8g", "a4-highgpu-8g", "g2-standard-4", "a3-highgpu-8g"].map(gcpNeedsHyperdisk)).toEqual([true, true, true, true, false, false]);
  const spec = runSpec({ volumes: [{ kind: "volume", name: ["my-data"], path: "/data" }] });
  const plan = planFor(spec, { ...OFFERS.gcp, instance_type: "c4-standard-8", gpu_count: 0, gpu_name: null, gpu_vendor: null });
  const g = await runUnderMocks(gcpProgram, plan, { settings: volumeRefs(plan) });
  const inst = of(g, "gcp:compute/instance:Instance")[0].inputs;
  expect(((inst.bootDisk as Obj).initializeParams as Obj).type).toBe("hyperdisk-balanced");
  expect((inst.networkInterfaces as Obj[])[0].nicType).toBe("GVNIC");
  // a volume made for such a run is hyperdisk-balanced too (its volume stack: test/compiler/volume-programs.test.ts)
});

test("gcp TPU data disks: the boot script waits for google-persistent-disk-N (they get no device name)", async () => {
  const spec = runSpec({ spot_policy: "spot", image: "us-docker.pkg.dev/cloud-tpu-images/jax:latest", volumes: [{ kind: "volume", name: ["my-data"], path: "/data" }] });
  const plan = planFor(spec, OFFERS.gcpTpu);
  const g = await runUnderMocks(gcpProgram, plan, { settings: volumeRefs(plan) });
  const script = ((of(g, "gcp:tpu/v2Vm:V2Vm")[0].inputs.metadata as Obj)["startup-script"] as string).split("\n");
  const i = script.findIndex((l) => l.includes("> '/opt/dstack/volumes'"));
  const volumes = Buffer.from(/^echo (\S+) \| base64 -d/.exec(script[i])?.[1] ?? "", "base64").toString();
  expect(volumes).toBe("/dev/disk/by-id/google-persistent-disk-1|/data\n");
});

describe("the instance's host key: generated by dstack, in the user data as a secret, pinned", () => {
  const hostKeyPlan = (cloud: CloudName) => planFor(runSpec({ type: "dev-environment", name: "dev-box" }), cloud === "aws" ? OFFERS.aws : cloud === "gcp" ? OFFERS.gcp : OFFERS.azure, { ...CONTEXT, sshHostKey: SSH_HOST_KEY });
  test.each(["aws", "gcp", "azure"] as CloudName[])("%s: the user data is secret and the host_key output is the public key", async (cloud) => {
    const g = await runUnderMocks(PROGRAMS[cloud], hostKeyPlan(cloud));
    expect(g.outputs.host_key).toBe(SSH_HOST_KEY.publicKey);
    const inst = g.resources.find((r) => /Instance$|VirtualMachine$/.test(r.type)) as GraphResource;
    expect(JSON.stringify(inst.secret_inputs)).toMatch(/userData|metadata|osProfile/);
    expect(JSON.stringify(g)).not.toContain("BEGIN OPENSSH PRIVATE KEY");
  });
  test("cloud-init gives the VM's sshd the key (ssh_keys); the run container's sshd reads it from a 0600 file", () => {
    const plan = hostKeyPlan("aws");
    const spec = { plan, backend: "aws" as const, image: "x", registry: null, accelerator: "none" as const, volumes: [], settings: DEFAULT_CLOUD_SETTINGS };
    const file = bootFiles(spec).find((f) => f.path === "/opt/dstack/container/ssh_host_ed25519_key");
    expect(file).toEqual({ path: "/opt/dstack/container/ssh_host_ed25519_key", mode: "0600", content: SSH_HOST_KEY.privateKey });
    const text = renderCloudInit(spec);
    expect(text).toContain("ssh_deletekeys: true\nssh_keys:\n  ed25519_private: |2\n    -----BEGIN OPENSSH PRIVATE KEY-----");
    expect(text).toContain(`  ed25519_public: "${SSH_HOST_KEY.publicKey}"`);
    expect(bootFiles({ ...spec, plan: { ...plan, ssh: { ...plan.ssh, host_key: null } } }).some((f) => f.path.endsWith("ssh_host_ed25519_key"))).toBe(false);
  });
});
