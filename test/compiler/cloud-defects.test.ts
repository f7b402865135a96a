/**
 * The cloud programs' defects found by reading them against the providers' documented
 * behaviour (issue 11), each with the mock-engine check that would have caught it.
 */
import { awsAmiRootSize, awsDefaultVpc, awsFirstZone, awsProgram } from "../../src/compiler/backends/aws";
import { azureProgram } from "../../src/compiler/backends/azure";
import { gcpNeedsHyperdisk, gcpProgram } from "../../src/compiler/backends/gcp";
import type { BackendProgram } from "../../src/compiler/backends/index";
import { bootFiles, cloudInitFiles, renderCloudInit } from "../../src/compiler/backends/cloud/cloud-init";
import { azureNeedsGridDriver } from "../../src/compiler/backends/cloud/images";
import { accountSetupError } from "../../src/runs/provider-errors";
import { baseImageFor } from "../../src/runs/inputs";
import type { Offer } from "../../src/offers/offer";
import { parse as parseYaml } from "yaml";
import { DEFAULT_CLOUD_SETTINGS } from "../../src/compiler/backends/cloud/settings";
import { GraphResource, ResourceGraph, runUnderMocks } from "../../src/compiler/mock-engine";
import type { Plan } from "../../src/compiler/plan";
import { CONTEXT, OFFERS, planFor, runSpec, SSH_HOST_KEY, volumeRefs } from "./fixtures";
import { CloudName, scenarioPlan } from "./scenarios";

const PROGRAMS: Record<CloudName, BackendProgram> = { aws: awsProgram, gcp: gcpProgram, azure: azureProgram };
const of = (g: ResourceGraph, type: string): GraphResource[] => g.resources.filter((r) => r.type === type);
type Obj = Record<string, unknown>;
const get = (o: unknown, p: string): unknown => p.split(".").reduce<unknown>((v, k) => (v == null ? undefined : (v as Obj)[k]), o);

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

// ---------------------------------------------------------------------------------------------
// The "not fixed yet" list of docs/cloud-backends.md, fixed.

/** Each resource's inputs in clear (secrets too) from one run of a program under the mock engine. */
async function clearInputs(program: BackendProgram, plan: Plan, mock: { tokenSeed?: string; existingImageTags?: string[] } = {}, settings: Obj = {}): Promise<Map<string, Obj>> {
  const out = new Map<string, Obj>();
  await runUnderMocks(program, plan, { settings }, { ...mock, onInputs: (type, name, inputs) => out.set(`${type}::${name}`, inputs) });
  return out;
}
const instanceKey = (m: Map<string, Obj>, type: string): Obj => [...m.entries()].find(([k]) => k.startsWith(`${type}::`))?.[1] as Obj;

describe("a prebuilt image: the instance pulls with its own identity, no deployer token in the user data", () => {
  test("aws: an instance profile that reads the one repository; a later `up` (a fresh ECR token) changes nothing on the instance", async () => {
    const plan = scenarioPlan("aws", "build");
    const hash = plan.image.build?.hash as string;
    for (const existing of [[], [hash]]) {
      const first = await clearInputs(awsProgram, plan, { tokenSeed: "first-up", existingImageTags: existing });
      const second = await clearInputs(awsProgram, plan, { tokenSeed: "second-up", existingImageTags: existing });
      const a = instanceKey(first, "aws:ec2/instance:Instance");
      // userDataReplaceOnChange: any difference in the user data would replace the instance
      expect(a.userDataReplaceOnChange).toBe(true);
      expect(instanceKey(second, "aws:ec2/instance:Instance")).toEqual(a);
      expect(JSON.stringify(a)).not.toContain("mock-ecr-password");
      expect(a.iamInstanceProfile).toBe("dstack-train-llm-ecr-pull");
    }
    const g = await runUnderMocks(awsProgram, plan);
    const policy = JSON.parse(String(of(g, "aws:iam/rolePolicy:RolePolicy")[0].inputs.policy)) as { Statement: { Action: string[]; Resource: string }[] };
    expect(policy.Statement).toEqual([
      { Effect: "Allow", Action: ["ecr:GetAuthorizationToken"], Resource: "*" },
      { Effect: "Allow", Action: ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"], Resource: "arn:aws:ecr:us-east-1:123456789012:repository/dstack-main-prebuilt" },
    ]);
    expect(JSON.parse(String(of(g, "aws:iam/role:Role")[0].inputs.assumeRolePolicy)).Statement[0].Principal).toEqual({ Service: "ec2.amazonaws.com" });
    // a run that pulls nothing from ECR gets no identity at all
    const plain = await runUnderMocks(awsProgram, scenarioPlan("aws", "on-demand"));
    expect(plain.resources.some((r) => r.type.startsWith("aws:iam/"))).toBe(false);
    expect(of(plain, "aws:ec2/instance:Instance")[0].inputs.iamInstanceProfile).toBeUndefined();
  });

  test("gcp: the VM runs as its own Artifact Registry reader (not the default account), its metadata holds no token", async () => {
    const plan = scenarioPlan("gcp", "build");
    const first = await clearInputs(gcpProgram, plan, { tokenSeed: "first-up" });
    const second = await clearInputs(gcpProgram, plan, { tokenSeed: "second-up" });
    const inst = instanceKey(first, "gcp:compute/instance:Instance");
    expect(instanceKey(second, "gcp:compute/instance:Instance")).toEqual(inst);
    expect(JSON.stringify(inst.metadata)).not.toContain("mock-gcp-access-token");
    const g = await runUnderMocks(gcpProgram, plan);
    const account = of(g, "gcp:serviceaccount/account:Account")[0].inputs;
    expect(account.accountId).toMatch(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/);
    expect(of(g, "gcp:compute/instance:Instance")[0].inputs.serviceAccount).toEqual({ email: `${String(account.accountId)}@mock-project.iam.gserviceaccount.com`, scopes: ["https://www.googleapis.com/auth/cloud-platform"] });
    // one binding, on the repository only (no project-wide role)
    expect(of(g, "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember").map((r) => r.inputs)).toEqual([
      expect.objectContaining({ repository: "dstack-main-prebuilt", location: "us-central1", role: "roles/artifactregistry.reader", member: `serviceAccount:${String(account.accountId)}@mock-project.iam.gserviceaccount.com` }),
    ]);
    expect(g.resources.some((r) => /projectIam|ProjectIam/.test(r.type))).toBe(false);
    // a VM that pulls nothing from the registry runs as no account (never the default one with cloud-platform)
    const plain = await runUnderMocks(gcpProgram, scenarioPlan("gcp", "on-demand"));
    expect(of(plain, "gcp:compute/instance:Instance")[0].inputs.serviceAccount).toBeUndefined();
    expect(of(plain, "gcp:serviceaccount/account:Account")).toEqual([]);
    // a TPU VM (whose default would be the compute account) runs as its own account without roles
    const tpu = await runUnderMocks(gcpProgram, planFor(runSpec({ spot_policy: "spot", image: "us-docker.pkg.dev/cloud-tpu-images/jax:latest" }), OFFERS.gcpTpu));
    expect(of(tpu, "gcp:serviceaccount/account:Account")).toHaveLength(1);
    expect(of(tpu, "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember")).toEqual([]);
    expect((of(tpu, "gcp:tpu/v2Vm:V2Vm")[0].inputs.serviceAccount as Obj).email).toMatch(/@mock-project\.iam\.gserviceaccount\.com$/);
  });
});

describe("azure past 24 h: the VM deallocates itself at its deadline", () => {
  const long = () => planFor(runSpec({ max_duration: 3 * 24 * 3600 }), OFFERS.azure);
  test("a system-assigned identity with Virtual Machine Contributor on the VM only; the boot script deallocates through ARM", async () => {
    const g = await runUnderMocks(azureProgram, long());
    const vm = of(g, "azure-native:compute:VirtualMachine")[0];
    expect(vm.inputs.identity).toEqual({ type: "SystemAssigned" });
    const ra = of(g, "azure-native:authorization:RoleAssignment").map((r) => r.inputs);
    expect(ra).toHaveLength(1);
    expect(ra[0].scope).toMatch(/\/providers\/Microsoft\.Compute\/virtualMachines\/dstack-train-llm$/);
    expect(ra[0].roleDefinitionId).toBe("/subscriptions/00000000-0000-0000-0000-000000000000/providers/Microsoft.Authorization/roleDefinitions/9980e02c-c2be-4d73-94e8-173b1dc7cf3c");
    expect(ra[0]).toEqual(expect.objectContaining({ principalType: "ServicePrincipal", principalId: expect.stringMatching(/^[0-9a-f-]{36}$/) }));
    // no daily schedule (it would fire on the first day)
    expect(of(g, "azure-native:devtestlab:GlobalSchedule")).toEqual([]);
    const custom = (instanceKey(await clearInputs(azureProgram, long()), "azure-native:compute:VirtualMachine").osProfile as Obj).customData;
    const files = cloudInitFiles(Buffer.from(String(custom), "base64").toString(), parseYaml);
    expect(files["/opt/dstack/run.conf"]).toContain("AZURE_DEALLOCATE='true'");
    expect(files["/opt/dstack/boot.sh"]).toContain("/deallocate?api-version=");
    // up to 24 h: the schedule deallocates, no identity, no role
    const day = await runUnderMocks(azureProgram, scenarioPlan("azure", "max-duration"));
    expect(of(day, "azure-native:devtestlab:GlobalSchedule")).toHaveLength(1);
    expect(of(day, "azure-native:compute:VirtualMachine")[0].inputs.identity).toBeUndefined();
    expect(of(day, "azure-native:authorization:RoleAssignment")).toEqual([]);
  });
  test("the account setup it needs is a coded error with the fix (provider registration E6450, role assignment E6451)", () => {
    const reg = accountSetupError("azure", "error: creating GlobalSchedule: Code=\"MissingSubscriptionRegistration\" Message=\"The subscription is not registered to use namespace 'Microsoft.DevTestLab'. See https://aka.ms/rps-not-found\"");
    expect(reg).toEqual(expect.objectContaining({ code: "E6450", hint: expect.stringContaining("az provider register --namespace Microsoft.DevTestLab") }));
    const role = accountSetupError("azure", "Code=\"AuthorizationFailed\" Message=\"The client 'x' does not have authorization to perform action 'Microsoft.Authorization/roleAssignments/write' over scope '/subscriptions/…'\"");
    expect(role?.code).toBe("E6451");
    expect(accountSetupError("azure", "SkuNotAvailable")).toBeNull();
    expect(accountSetupError("aws", "MissingSubscriptionRegistration")).toBeNull();
  });
});

describe("GPU vendors on Azure: the NVadsA10 v5 GRID driver, AMD MI300X's ROCm image and devices", () => {
  // Standard_NV36ads_A10_v5,eastus,3.2,36,440.0,1,A10,24.0,False,,nvidia
  const a10: Offer = { ...OFFERS.azure, instance_type: "Standard_NV36ads_A10_v5", price: 3.2, cpu: 36, memory: 440, gpu_name: "A10", gpu_memory: 24 };
  // Standard_ND96isr_MI300X_v5,eastus2,48.0,96,1850.0,8,MI300X,192.0,False,,amd
  const mi300x: Offer = { ...OFFERS.azure, region: "eastus2", instance_type: "Standard_ND96isr_MI300X_v5", price: 48, cpu: 96, memory: 1850, gpu_count: 8, gpu_name: "MI300X", gpu_memory: 192, gpu_vendor: "amd" };
  const bootConf = async (offer: Offer) => {
    const vm = instanceKey(await clearInputs(azureProgram, planFor(runSpec({}), offer)), "azure-native:compute:VirtualMachine");
    return cloudInitFiles(Buffer.from(String((vm.osProfile as Obj).customData), "base64").toString(), parseYaml)["/opt/dstack/run.conf"];
  };
  test("NVadsA10 v5: plain Ubuntu and the NVIDIA GPU driver extension (GRID); boot waits for the driver", async () => {
    expect(["Standard_NV6ads_A10_v5", "Standard_NV36adms_A10_v5", "Standard_NC4as_T4_v3"].map(azureNeedsGridDriver)).toEqual([true, true, false]);
    const g = await runUnderMocks(azureProgram, planFor(runSpec({}), a10));
    const vm = of(g, "azure-native:compute:VirtualMachine")[0].inputs;
    expect(get(vm, "storageProfile.imageReference")).toEqual({ publisher: "Canonical", offer: "0001-com-ubuntu-server-jammy", sku: "22_04-lts-gen2", version: "latest" });
    expect(vm.plan).toBeUndefined();
    expect(of(g, "azure-native:compute:VirtualMachineExtension").map((r) => r.inputs)).toEqual([
      expect.objectContaining({ publisher: "Microsoft.HpcCompute", type: "NvidiaGpuDriverLinux", vmName: "dstack-train-llm", autoUpgradeMinorVersion: true }),
    ]);
    const conf = await bootConf(a10);
    expect(conf).toContain("WAIT_GPU_DRIVER='true'");
    expect(conf).toContain("ACCELERATOR='nvidia'");
    // the other NVIDIA sizes keep NVIDIA's VMI and no extension
    const t4 = await runUnderMocks(azureProgram, scenarioPlan("azure", "on-demand"));
    expect(get(of(t4, "azure-native:compute:VirtualMachine")[0].inputs, "storageProfile.imageReference.publisher")).toBe("nvidia");
    expect(of(t4, "azure-native:compute:VirtualMachineExtension")).toEqual([]);
  });
  test("MI300X: the ROCm image, accelerator amd (devices, not --gpus)", async () => {
    const g = await runUnderMocks(azureProgram, planFor(runSpec({}), mi300x));
    expect(get(of(g, "azure-native:compute:VirtualMachine")[0].inputs, "storageProfile.imageReference")).toEqual({ publisher: "microsoft-dsvm", offer: "ubuntu-hpc", sku: "2204-rocm", version: "latest" });
    const conf = await bootConf(mi300x);
    expect(conf).toContain("ACCELERATOR='amd'");
    expect(conf).toContain("GPUS='8'");
  });
});

test("docker: true on clouds: dstack's DinD image, privileged, its daemon started before the commands", async () => {
  const spec = runSpec({ docker: true, python: null, privileged: true });
  expect(baseImageFor("aws", spec)).toBe("dstackai/dind");
  expect(baseImageFor("gcp", runSpec({}))).toBe("dstackai/base:py3.12-0.7-cuda-12.1");
  const plan = planFor(spec, OFFERS.aws, { ...CONTEXT, baseImage: baseImageFor("aws", spec) });
  expect(plan.container.docker).toBe(true);
  expect(planFor(runSpec({}), OFFERS.aws).container.docker).toBeUndefined();
  const files = cloudInitFiles(String(instanceKey(await clearInputs(awsProgram, plan), "aws:ec2/instance:Instance").userData), parseYaml);
  expect(files["/opt/dstack/run.conf"]).toContain("IMAGE='dstackai/dind'");
  expect(files["/opt/dstack/run.conf"]).toContain("PRIVILEGED='true'");
  expect(files["/opt/dstack/container/container.conf"]).toContain("DOCKER_IN_DOCKER='true'");
  expect(files["/opt/dstack/container/entry.sh"]).toContain("start-dockerd");
});

test("reboots: every cloud's boot re-arms max_duration and restarts the run (per-boot script; TPU VMs: the startup script)", async () => {
  for (const cloud of ["aws", "gcp", "azure"] as CloudName[]) {
    const m = await clearInputs(PROGRAMS[cloud], scenarioPlan(cloud, "max-duration"));
    const inst = [...m.entries()].find(([k]) => /Instance::|VirtualMachine::/.test(k))?.[1] as Obj;
    const text = cloud === "aws" ? String(inst.userData) : cloud === "gcp" ? String((inst.metadata as Obj)["user-data"]) : Buffer.from(String((inst.osProfile as Obj).customData), "base64").toString();
    const files = cloudInitFiles(text, parseYaml);
    expect(files["/var/lib/cloud/scripts/per-boot/dstack-reboot.sh"]).toContain("exec /bin/bash /opt/dstack/boot.sh reboot");
    expect(files["/opt/dstack/boot.sh"]).toContain("--restart on-failure");
    expect(files["/opt/dstack/run.conf"]).toMatch(/^DEADLINE='\d+'$/m);
  }
  const tpu = await clearInputs(gcpProgram, planFor(runSpec({ spot_policy: "spot", image: "us-docker.pkg.dev/cloud-tpu-images/jax:latest", max_duration: 3600 }), OFFERS.gcpTpu));
  expect(String((instanceKey(tpu, "gcp:tpu/v2Vm:V2Vm").metadata as Obj)["startup-script"])).toContain("exec bash /opt/dstack/boot.sh reboot");
});
