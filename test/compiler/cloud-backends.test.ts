/**
 * Mock-engine tests of the AWS, GCP and Azure programs: each backend × (on-demand, spot, spot
 * auto, volume, build, registry_auth, max_duration, multi-GPU, TPU on GCP), against the real
 * @pulumi/aws, @pulumi/gcp, @pulumi/azure-native and @pulumi/docker SDKs.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse as parseYaml } from "yaml";
import { awsProgram } from "../../src/compiler/backends/aws";
import { azureProgram } from "../../src/compiler/backends/azure";
import { gcpProgram } from "../../src/compiler/backends/gcp";
import type { BackendProgram } from "../../src/compiler/backends/index";
import { cloudInitFiles } from "../../src/compiler/backends/cloud/cloud-init";
import { GraphResource, ResourceGraph, runUnderMocks, SECRET } from "../../src/compiler/mock-engine";
import { volumeRefs } from "./fixtures";
import { CloudName, REGISTRY_PASSWORD, SCENARIOS, ScenarioName, SECRET_TOKEN, scenarioPlan } from "./scenarios";

const PROGRAMS: Record<CloudName, BackendProgram> = { aws: awsProgram, gcp: gcpProgram, azure: azureProgram };

let home: string;
const savedHome = process.env.DSTACK_HOME;
beforeAll(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), "dstack-compile-"));
  process.env.DSTACK_HOME = home;
});
afterAll(() => {
  fs.rmSync(home, { recursive: true, force: true });
  if (savedHome === undefined) delete process.env.DSTACK_HOME;
  else process.env.DSTACK_HOME = savedHome;
});

const graphs = new Map<string, ResourceGraph>();
async function graph(cloud: CloudName, name: ScenarioName, settings?: Record<string, unknown>): Promise<ResourceGraph> {
  const key = `${cloud}/${name}/${JSON.stringify(settings ?? {})}`;
  let g = graphs.get(key);
  if (!g) {
    const plan = scenarioPlan(cloud, name);
    // a run's volumes are read by the ids of their volume stacks (runs never create volumes)
    g = await runUnderMocks(PROGRAMS[cloud], plan, { settings: volumeRefs(plan, settings) });
    graphs.set(key, g);
  }
  return g;
}

const INSTANCE: Record<CloudName, string> = {
  aws: "aws:ec2/instance:Instance",
  gcp: "gcp:compute/instance:Instance",
  azure: "azure-native:compute:VirtualMachine",
};

function one(g: ResourceGraph, type: string): GraphResource {
  const rs = g.resources.filter((r) => r.type === type);
  if (rs.length !== 1) throw new Error(`expected one ${type}, got ${rs.length}: ${g.resources.map((r) => r.type).join(", ")}`);
  return rs[0];
}
function instanceOf(g: ResourceGraph, cloud: CloudName): GraphResource {
  const tpu = g.resources.find((r) => r.type === "gcp:tpu/v2Vm:V2Vm");
  return tpu ?? one(g, INSTANCE[cloud]);
}
type Obj = Record<string, unknown>;
const get = (o: unknown, p: string): unknown => p.split(".").reduce<unknown>((v, k) => (v == null ? undefined : (v as Obj)[k]), o);

/** The user-data text of the instance (non-secret only). */
function bootText(g: ResourceGraph, cloud: CloudName): string {
  const i = instanceOf(g, cloud);
  const v = cloud === "aws" ? i.inputs.userData : cloud === "gcp" ? get(i.inputs, "metadata.user-data") ?? get(i.inputs, "metadata.startup-script") : get(i.inputs, "osProfile.customData");
  if (typeof v !== "string" || v === SECRET) throw new Error(`user-data of ${cloud} is ${String(v)}`);
  return cloud === "azure" ? Buffer.from(v, "base64").toString("utf8") : v;
}
function bootFilesOf(g: ResourceGraph, cloud: CloudName): Record<string, string> {
  return cloudInitFiles(bootText(g, cloud), parseYaml);
}

const TAG_KEYS: Record<CloudName, { key: "tags" | "labels"; run: string; project: string; owner: string; expires: string }> = {
  aws: { key: "tags", run: "dstack:run", project: "dstack:project", owner: "dstack:owner", expires: "dstack:expires-at" },
  azure: { key: "tags", run: "dstack:run", project: "dstack:project", owner: "dstack:owner", expires: "dstack:expires-at" },
  gcp: { key: "labels", run: "dstack_run", project: "dstack_project", owner: "dstack_owner", expires: "dstack_expires-at" },
};

describe.each(["aws", "gcp", "azure"] as CloudName[])("%s program under the mock engine", (cloud) => {
  test.each(SCENARIOS[cloud])("%s: instance type, region, zone, tags, secrets", async (name) => {
    const plan = scenarioPlan(cloud, name);
    const g = await graph(cloud, name);
    expect(g.backend).toBe(cloud);
    expect(g.offer).toEqual(expect.objectContaining({ backend: cloud, instance_type: plan.offer.instance_type, region: plan.offer.region }));
    expect(g.offer).not.toHaveProperty("provider_data");
    const inst = instanceOf(g, cloud);
    // Instance type and location.
    if (cloud === "aws") {
      expect(inst.inputs.instanceType).toBe(plan.offer.instance_type);
      expect(one(g, "pulumi:providers:aws").inputs.region).toBe("us-east-1");
      expect(inst.inputs.availabilityZone).toMatch(/^us-east-1[a-f]$/);
      expect(get(inst.inputs, "rootBlockDevice.volumeSize")).toBe(plan.disk_size);
    } else if (cloud === "gcp") {
      expect(inst.inputs.zone).toBe(plan.offer.zone ?? "us-central1-a");
      expect(one(g, "pulumi:providers:gcp").inputs.region).toBe("us-central1");
      if (inst.type === INSTANCE.gcp) {
        expect(inst.inputs.machineType).toBe(plan.offer.instance_type);
        expect(get(inst.inputs, "bootDisk.initializeParams.size")).toBe(plan.disk_size);
      } else expect(inst.inputs.acceleratorType).toBe(plan.offer.instance_type);
    } else {
      expect(get(inst.inputs, "hardwareProfile.vmSize")).toBe(plan.offer.instance_type);
      expect(inst.inputs.location).toBe("eastus");
      expect(get(inst.inputs, "storageProfile.osDisk.diskSizeGB")).toBe(plan.disk_size);
      // With secrets in the boot text, Pulumi makes the whole osProfile secret.
      if (!inst.secret_inputs.includes("osProfile")) expect(get(inst.inputs, "osProfile.linuxConfiguration.disablePasswordAuthentication")).toBe(true);
    }
    // Every taggable resource carries the four dstack tags (sanitized labels on GCP).
    const t = TAG_KEYS[cloud];
    const tagged = g.resources.filter((r) => r.custom && !r.type.startsWith("pulumi:") && r.inputs[t.key] && !Array.isArray(r.inputs[t.key]));
    expect(tagged.map((r) => r.type)).toContain(inst.type);
    for (const r of tagged) {
      const tags = r.inputs[t.key] as Record<string, string>;
      expect(tags[t.run]).toBe(cloud === "gcp" ? plan.run_name.toLowerCase() : plan.run_name);
      expect(tags[t.project]).toBe("main");
      expect(tags[t.owner]).toBe("alice");
      expect(tags[t.expires]).toBeDefined();
      if (cloud === "gcp") for (const [k, v] of Object.entries(tags)) expect(`${k}=${v}`).toMatch(/^[a-z][a-z0-9_-]{0,62}=[a-z0-9_-]{0,63}$/);
    }
    // Nothing secret ever appears in clear.
    const text = JSON.stringify(g);
    expect(text).not.toContain(REGISTRY_PASSWORD);
    expect(text).not.toContain(SECRET_TOKEN);
    expect(text).not.toMatch(/mock-(ecr|acr)-password|mock-gcp-access-token/);
    // ssh_host is the public IP.
    expect(g.outputs.ssh_host).toMatch(/^203\.0\.113\.\d+$/);
    expect(g.outputs.ssh_port).toBe(10022);
  });

  test("SSH only, from ssh_ingress_cidrs; ports only when exposed", async () => {
    const cidrs = ["198.51.100.0/24"];
    const closed = await graph(cloud, "on-demand", { ssh_ingress_cidrs: cidrs });
    const open = await graph(cloud, "on-demand", { ssh_ingress_cidrs: cidrs, expose_ports: true });
    const rules = (g: ResourceGraph): { ports: number[]; sources: unknown } => {
      if (cloud === "aws") {
        const ing = one(g, "aws:ec2/securityGroup:SecurityGroup").inputs.ingress as Obj[];
        return { ports: ing.map((r) => r.fromPort as number), sources: [...new Set(ing.map((r) => JSON.stringify(r.cidrBlocks)))] };
      }
      if (cloud === "gcp") {
        const allow = g.resources.filter((r) => r.type === "gcp:compute/firewall:Firewall" && r.inputs.allows);
        expect(allow).toHaveLength(1);
        const fw = allow[0].inputs;
        return { ports: (get(fw, "allows") as Obj[])[0].ports as number[], sources: fw.sourceRanges };
      }
      const rs = one(g, "azure-native:network:NetworkSecurityGroup").inputs.securityRules as Obj[];
      return { ports: rs.map((r) => Number(r.destinationPortRange)), sources: [...new Set(rs.map((r) => JSON.stringify(r.sourceAddressPrefixes)))] };
    };
    const c = rules(closed);
    const o = rules(open);
    expect(c.ports.map(Number)).toEqual([22, 10022]);
    expect(o.ports.map(Number)).toEqual([22, 8888, 10022]);
    expect(c.sources).toEqual(cloud === "gcp" ? cidrs : [JSON.stringify(cidrs)]);
  });

  test("key pair from the run's public key", async () => {
    const g = await graph(cloud, "on-demand");
    const key = scenarioPlan(cloud, "on-demand").ssh.public_key;
    if (cloud === "aws") expect(one(g, "aws:ec2/keyPair:KeyPair").inputs.publicKey).toBe(key);
    else if (cloud === "gcp") expect(get(instanceOf(g, cloud).inputs, "metadata.ssh-keys")).toContain(`root:${key}`);
    else expect(get(instanceOf(g, cloud).inputs, "osProfile.linuxConfiguration.ssh.publicKeys")).toEqual([{ keyData: key, path: "/home/dstack/.ssh/authorized_keys" }]);
    const files = bootFilesOf(g, cloud);
    expect(files["/opt/dstack/container/authorized_keys"]).toBe(`${key}\n`);
  });

  test("GPU-ready OS image by lookup", async () => {
    const g = await graph(cloud, "on-demand");
    const inst = instanceOf(g, cloud);
    if (cloud === "aws") {
      const l = g.lookups.find((x) => x.token === "aws:ec2/getAmi:getAmi");
      expect(l?.args).toEqual(expect.objectContaining({ mostRecent: true, owners: ["amazon"] }));
      expect(JSON.stringify(l?.args)).toContain("Deep Learning Base OSS Nvidia Driver GPU AMI (Ubuntu 22.04) *");
      expect(inst.inputs.ami).toMatch(/^ami-0[0-9a-f]{16}$/);
    } else if (cloud === "gcp") {
      const l = g.lookups.find((x) => x.token === "gcp:compute/getImage:getImage");
      expect(l?.args).toEqual({ family: "common-cu128-ubuntu-2204-nvidia-570", project: "deeplearning-platform-release" });
      expect(get(inst.inputs, "bootDisk.initializeParams.image")).toMatch(/deeplearning-platform-release\/global\/images\/common-cu128/);
    } else {
      expect(get(inst.inputs, "storageProfile.imageReference")).toEqual({ publisher: "nvidia", offer: "ngc_azure_17_11", sku: "ngc-base-version-24_03_4_gen2", version: "latest" });
      expect(inst.inputs.plan).toEqual({ name: "ngc-base-version-24_03_4_gen2", product: "ngc_azure_17_11", publisher: "nvidia" });
    }
  });

  test("on-demand: no spot settings", async () => {
    const inst = instanceOf(await graph(cloud, "on-demand"), cloud);
    if (cloud === "aws") expect(inst.inputs.instanceMarketOptions).toBeUndefined();
    if (cloud === "gcp") expect(get(inst.inputs, "scheduling.provisioningModel")).toBe("STANDARD");
    if (cloud === "azure") {
      expect(inst.inputs.priority).toBe("Regular");
      expect(inst.inputs.evictionPolicy).toBeUndefined();
    }
  });

  test.each(["spot", "spot-auto"] as ScenarioName[])("%s: spot settings", async (name) => {
    const inst = instanceOf(await graph(cloud, name), cloud);
    const maxPrice = name === "spot" ? 0.5 : null;
    if (cloud === "aws") {
      expect(inst.inputs.instanceMarketOptions).toEqual({
        marketType: "spot",
        spotOptions: { instanceInterruptionBehavior: "terminate", spotInstanceType: "one-time", ...(maxPrice ? { maxPrice: "0.5" } : {}) },
      });
    } else if (cloud === "gcp") {
      expect(inst.inputs.scheduling).toEqual(
        expect.objectContaining({ provisioningModel: "SPOT", preemptible: true, automaticRestart: false, instanceTerminationAction: "DELETE", onHostMaintenance: "TERMINATE" }),
      );
    } else {
      expect(inst.inputs.priority).toBe("Spot");
      expect(inst.inputs.evictionPolicy).toBe("Delete");
      expect(inst.inputs.billingProfile).toEqual({ maxPrice: maxPrice ?? -1 });
    }
  });

  test("volume: its volume stack's, read by id (never created by the run), attached in its zone, mounted by cloud-init", async () => {
    const g = await graph(cloud, "volume");
    const inst = instanceOf(g, cloud);
    const files = bootFilesOf(g, cloud);
    const plan = scenarioPlan(cloud, "volume");
    const id = (volumeRefs(plan).volumes as Record<string, { id: string }>)["my-data"].id;
    const type = cloud === "aws" ? "aws:ebs/volume:Volume" : cloud === "gcp" ? "gcp:compute/disk:Disk" : "azure-native:compute:Disk";
    const vol = one(g, type);
    expect(vol.options).toEqual({ read_id: id });
    expect(g.resources.filter((r) => r.options?.retain_on_delete && r.type === type)).toEqual([]);
    if (cloud === "aws") {
      // the zone is the volume's (the mock answers the read with the region's first zone)
      expect(inst.inputs.availabilityZone).toBe(`${plan.offer.region}a`);
      const att = one(g, "aws:ec2/volumeAttachment:VolumeAttachment");
      expect(att.inputs).toEqual(expect.objectContaining({ deviceName: "/dev/sdf", volumeId: id, instanceId: expect.stringMatching(/^i-/) }));
      expect(files["/opt/dstack/volumes"]).toBe(`/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${id.replace("-", "")},/dev/sdf,/dev/xvdf|/data\n`);
    } else if (cloud === "gcp") {
      expect(inst.inputs.attachedDisks).toEqual([expect.objectContaining({ deviceName: "dstack-vol-0", mode: "READ_WRITE" })]);
      expect(files["/opt/dstack/volumes"]).toBe("/dev/disk/by-id/google-dstack-vol-0|/data\n");
    } else {
      expect(get(inst.inputs, "storageProfile.dataDisks")).toEqual([expect.objectContaining({ lun: 0, createOption: "Attach", deleteOption: "Detach", managedDisk: { id } })]);
      expect(files["/opt/dstack/volumes"]).toBe("/dev/disk/azure/scsi1/lun0|/data\n");
    }
    expect(files["/opt/dstack/instance-mounts"]).toBe("/mnt/cache|/cache|true\n");
  });

  test("volume: a run's program without the volume's id is E6403 (it never creates one)", async () => {
    await expect(runUnderMocks(PROGRAMS[cloud], scenarioPlan(cloud, "volume"), { settings: {} })).rejects.toMatchObject({ diagnostics: [expect.objectContaining({ code: "E6403" })] });
  });

  test("boot: cloud-init starts the image with host networking and the run's env", async () => {
    const g = await graph(cloud, "on-demand");
    const text = bootText(g, cloud);
    expect(text.startsWith("#cloud-config\n")).toBe(true);
    const files = bootFilesOf(g, cloud);
    const env = files["/opt/dstack/run.env"];
    expect(env).toContain("DSTACK_RUN_NAME=dev-box\n");
    expect(env).toContain("DSTACK_REPO_ID=3f2a9c1d\n");
    expect(env).toContain("DSTACK_GPUS_NUM=1\n");
    expect(env).toContain("HF_HOME=/workflow/.hf\n");
    const conf = files["/opt/dstack/run.conf"];
    expect(conf).toContain("IMAGE='dstackai/base:py3.12-0.7-cuda-12.1'");
    expect(conf).toContain("ACCELERATOR='nvidia'");
    const boot = files["/opt/dstack/boot.sh"];
    expect(boot).toContain('--network host --env-file "$R/opt/dstack/run.env"');
    expect(boot).toContain('docker run "${args[@]}" "$IMAGE" /dstack/entry.sh');
    expect(boot).toContain("--entrypoint /bin/sh");
    expect(boot).toMatch(/nvidia-ctk/);
    expect(files["/opt/dstack/container/entry.sh"]).toContain("PasswordAuthentication=no");
    expect(files["/opt/dstack/container/container.conf"]).toContain("RUN_TYPE='dev-environment'");
  });

  test("registry_auth and secret env: the user-data becomes a secret", async () => {
    const g = await graph(cloud, "registry-auth");
    const inst = instanceOf(g, cloud);
    // Pulumi marks the whole top-level input holding a secret as secret.
    const path = cloud === "aws" ? "userData" : cloud === "gcp" ? "metadata" : "osProfile";
    expect(inst.secret_inputs).toEqual([path]);
    expect(inst.inputs[path]).toBe(SECRET);
    // Without secrets, the user-data is reviewable in clear.
    expect(instanceOf(await graph(cloud, "on-demand"), cloud).secret_inputs).toEqual([]);
  });

  test("build: a prebuilt image pushed to the project's registry, tagged by content hash", async () => {
    const plan = scenarioPlan(cloud, "build");
    const g = await graph(cloud, "build");
    const comp = one(g, "dstack:cloud:PrebuiltImage");
    expect(comp.custom).toBe(false);
    const img = one(g, "docker:index/image:Image");
    expect(img.parent).toBe(comp.name);
    expect(img.options).toEqual({ retain_on_delete: true });
    const hash = plan.image.build?.hash as string;
    const expected: Record<CloudName, string> = {
      aws: `123456789012.dkr.ecr.us-east-1.amazonaws.com/dstack-main-prebuilt:${hash}`,
      gcp: `us-central1-docker.pkg.dev/mock-project/dstack-main-prebuilt/prebuilt:${hash}`,
      azure: `dstackmaineastus.azurecr.io/dstack-prebuilt:${hash}`,
    };
    expect(img.inputs.imageName).toBe(expected[cloud]);
    expect(img.secret_inputs).toEqual(["registry"]);
    const ctx = get(img.inputs, "build.context") as string;
    const dockerfile = fs.readFileSync(path.join(ctx, "Dockerfile"), "utf8");
    expect(dockerfile).toContain("FROM dstackai/base:py3.12-0.7-cuda-12.1\n");
    expect(dockerfile).toContain('RUN ["/bin/sh","-c","pip install -r requirements.txt"]');
    expect(ctx.startsWith(home)).toBe(true);
    // AWS and GCP: the instance logs in with its own identity (no password in the user data, which
    // stays reviewable); Azure: the registry's admin credentials, so the user-data is a secret.
    expect(instanceOf(g, cloud).secret_inputs.length).toBe(cloud === "azure" ? 1 : 0);
    if (cloud !== "azure") {
      const conf = bootFilesOf(g, cloud)["/opt/dstack/run.conf"];
      expect(conf).toContain(`REGISTRY_VIA='${cloud}'`);
      expect(conf).toContain("REGISTRY_PASSWORD=''");
    }
    expect(g.outputs.image).toBe(expected[cloud]);
  });

  test("max_duration: enforced on the instance itself", async () => {
    const plan = scenarioPlan(cloud, "max-duration");
    const g = await graph(cloud, "max-duration");
    const inst = instanceOf(g, cloud);
    const conf = bootFilesOf(g, cloud)["/opt/dstack/run.conf"];
    // the absolute deadline (created_at + max_duration), re-armed from run.conf at every boot
    expect(conf).toContain(`DEADLINE='${Math.ceil(Date.parse(plan.expires_at as string) / 1000)}'`);
    expect(bootFilesOf(g, cloud)["/opt/dstack/boot.sh"]).toContain('shutdown -h "+${minutes}"');
    expect(bootFilesOf(g, cloud)["/var/lib/cloud/scripts/per-boot/dstack-reboot.sh"]).toContain("exec /bin/bash /opt/dstack/boot.sh reboot");
    if (cloud === "aws") expect(inst.inputs.instanceInitiatedShutdownBehavior).toBe("terminate");
    if (cloud === "gcp") {
      expect(get(inst.inputs, "scheduling.maxRunDuration")).toEqual({ seconds: 7230 });
      expect(get(inst.inputs, "scheduling.instanceTerminationAction")).toBe("DELETE");
    }
    if (cloud === "azure") {
      const s = one(g, "azure-native:devtestlab:GlobalSchedule");
      // 09:00:00 + 2h00m30s → 11:00:30, rounded up to 11:01 UTC.
      expect(s.inputs).toEqual(expect.objectContaining({ taskType: "ComputeVmShutdownTask", dailyRecurrence: { time: "1101" }, timeZoneId: "UTC", name: "shutdown-computevm-dstack-train-llm" }));
    }
    expect(plan.expires_at).toBe("2026-12-01T11:00:30.000Z");
    const t = TAG_KEYS[cloud];
    expect((inst.inputs[t.key] as Record<string, string>)[t.expires]).toBe(cloud === "gcp" ? "2026-12-01t11_00_30_000z" : "2026-12-01T11:00:30.000Z");
  });

  test("multi-GPU: the offer's GPUs reach the container", async () => {
    const g = await graph(cloud, "multi-gpu");
    const files = bootFilesOf(g, cloud);
    expect(files["/opt/dstack/run.env"]).toContain("DSTACK_GPUS_NUM=4\n");
    expect(files["/opt/dstack/run.conf"]).toContain("GPUS='4'");
    expect(files["/opt/dstack/run.conf"]).toContain("SHM_SIZE='16'");
    if (cloud === "gcp") expect(instanceOf(g, cloud).inputs.guestAccelerators).toEqual([{ count: 4, type: "nvidia-tesla-t4" }]);
  });
});

describe("gcp TPU", () => {
  test("a TPU VM with the runtime version, spot, a startup script and no maxRunDuration", async () => {
    const g = await graph("gcp", "tpu");
    const vm = one(g, "gcp:tpu/v2Vm:V2Vm");
    expect(g.resources.some((r) => r.type === "gcp:compute/instance:Instance")).toBe(false);
    expect(vm.inputs).toEqual(
      expect.objectContaining({ acceleratorType: "v5litepod-1", runtimeVersion: "v2-alpha-tpuv5-lite", zone: "us-central1-a", schedulingConfig: { spot: true } }),
    );
    expect(get(vm.inputs, "networkConfig.enableExternalIps")).toBe(true);
    const script = get(vm.inputs, "metadata.startup-script") as string;
    expect(script.startsWith("#!/bin/bash\n")).toBe(true);
    const conf = /echo (\S+) \| base64 -d > '\/opt\/dstack\/run.conf'/.exec(script)?.[1] as string;
    const text = Buffer.from(conf, "base64").toString("utf8");
    expect(text).toContain("ACCELERATOR='tpu'");
    expect(text).toContain("IMAGE='us-docker.pkg.dev/cloud-tpu-images/jax:latest'");
    expect(g.outputs.ssh_host).toMatch(/^203\.0\.113\./);
  });
});

test("bad settings are E3xxx diagnostics", async () => {
  await expect(runUnderMocks(awsProgram, scenarioPlan("aws", "on-demand"), { settings: { ssh_ingress_cidrs: ["10.0.0.0/33"] } })).rejects.toMatchObject({
    diagnostics: [expect.objectContaining({ code: "E3001" })],
  });
});

test("aws: user-data over EC2's 16 KB is gzipped into userDataBase64", async () => {
  const zlib = await import("zlib");
  const { runSpec, planFor, OFFERS } = await import("./fixtures");
  const big = runSpec({ commands: Array.from({ length: 300 }, (_, i) => `python step_${i}.py --with-a-long-argument-list ${"x".repeat(20)}`) });
  const g = await runUnderMocks(awsProgram, planFor(big, OFFERS.aws));
  const inst = one(g, "aws:ec2/instance:Instance");
  expect(inst.inputs.userData).toBeUndefined();
  const text = zlib.gunzipSync(Buffer.from(inst.inputs.userDataBase64 as string, "base64")).toString("utf8");
  expect(text.startsWith("#cloud-config\n")).toBe(true);
  expect(cloudInitFiles(text, parseYaml)["/opt/dstack/container/commands.sh"]).toContain("python step_299.py");
});

describe("network: project", () => {
  test("aws: the project's VPC by its Name tag, any subnet of it in the zone", async () => {
    const g = await graph("aws", "on-demand", { network: "project" });
    const vpc = g.lookups.find((l) => l.token === "aws:ec2/getVpc:getVpc");
    expect(vpc?.args).toEqual({ filters: [{ name: "tag:Name", values: ["dstack-main"] }] });
    const subnets = g.lookups.find((l) => l.token === "aws:ec2/getSubnets:getSubnets");
    expect(JSON.stringify(subnets?.args)).not.toContain("default-for-az");
  });
  test("gcp: the project's network", async () => {
    const g = await graph("gcp", "on-demand", { network: "project" });
    expect(g.lookups.find((l) => l.token === "gcp:compute/getNetwork:getNetwork")?.args).toEqual({ name: "dstack-main" });
    expect(JSON.stringify(instanceOf(g, "gcp").inputs.networkInterfaces)).toContain("/networks/dstack-main");
  });
  test("azure: the project's subnet instead of a VNet per run", async () => {
    const g = await graph("azure", "on-demand", { network: "project" });
    expect(g.resources.some((r) => r.type === "azure-native:network:VirtualNetwork")).toBe(false);
    const nic = one(g, "azure-native:network:NetworkInterface");
    expect(JSON.stringify(nic.inputs.ipConfigurations)).toContain("/resourceGroups/dstack-main-eastus/providers/Microsoft.Network/virtualNetworks/dstack-main-vnet/subnets/runs");
  });
});

describe("shared per-project stacks", () => {
  const tags = { "dstack:project": "main", "dstack:owner": "alice" };
  const asProgram = (f: () => Promise<Record<string, unknown>>): BackendProgram => async (p) => ({ ...(await f()), ssh_host: "", ssh_port: 0, ssh_user: "", instance_id: "", backend: p.backend, region: p.offer.region });
  test("aws: ECR repository and the project's VPC, protected", async () => {
    const { awsProjectProgram } = await import("../../src/compiler/backends/aws");
    const g = await runUnderMocks(asProgram(() => awsProjectProgram({ project: "main", region: "us-east-1", tags, network: true })), scenarioPlan("aws", "on-demand"));
    const types = g.resources.map((r) => r.type);
    expect(types).toEqual(expect.arrayContaining(["aws:ecr/repository:Repository", "aws:ec2/vpc:Vpc", "aws:ec2/internetGateway:InternetGateway", "aws:ec2/routeTable:RouteTable"]));
    expect(types.filter((t) => t === "aws:ec2/subnet:Subnet")).toHaveLength(3);
    for (const r of g.resources.filter((x) => !x.type.startsWith("pulumi:"))) expect(r.options?.protect).toBe(true);
    expect(one(g, "aws:ec2/vpc:Vpc").inputs.tags).toEqual(expect.objectContaining({ Name: "dstack-main", "dstack:project": "main" }));
    expect(one(g, "aws:ecr/repository:Repository").inputs.name).toBe("dstack-main-prebuilt");
  });
  test("gcp: Artifact Registry repository and network", async () => {
    const { gcpProjectProgram } = await import("../../src/compiler/backends/gcp");
    const g = await runUnderMocks(asProgram(() => gcpProjectProgram({ project: "main", region: "us-central1", tags, network: true })), scenarioPlan("gcp", "on-demand"));
    expect(one(g, "gcp:artifactregistry/repository:Repository").inputs).toEqual(expect.objectContaining({ repositoryId: "dstack-main-prebuilt", format: "DOCKER", location: "us-central1" }));
    expect(one(g, "gcp:compute/network:Network").inputs).toEqual(expect.objectContaining({ name: "dstack-main", autoCreateSubnetworks: true }));
  });
  test("azure: resource group, ACR and VNet", async () => {
    const { azureProjectProgram } = await import("../../src/compiler/backends/azure");
    const g = await runUnderMocks(asProgram(() => azureProjectProgram({ project: "main", region: "eastus", tags, network: true })), scenarioPlan("azure", "on-demand"));
    expect(one(g, "azure-native:resources:ResourceGroup").inputs.resourceGroupName).toBe("dstack-main-eastus");
    expect(one(g, "azure-native:containerregistry:Registry").inputs).toEqual(expect.objectContaining({ registryName: "dstackmaineastus", adminUserEnabled: true }));
    expect(one(g, "azure-native:network:Subnet").inputs.subnetName).toBe("runs");
  });
});

test("a program refuses another backend's offer (E3007)", async () => {
  await expect(runUnderMocks(gcpProgram, scenarioPlan("aws", "on-demand"))).rejects.toMatchObject({ diagnostics: [expect.objectContaining({ code: "E3007" })] });
});

describe("build: reuse of a prebuilt tag the project's registry holds", () => {
  test.each(["aws", "gcp"] as CloudName[])("%s: an existing tag is reused (no docker build); force_build builds anyway", async (cloud) => {
    const plan = scenarioPlan(cloud, "build");
    const hash = plan.image.build?.hash as string;
    const reused = await runUnderMocks(PROGRAMS[cloud], plan, {}, { existingImageTags: [hash] });
    expect(reused.resources.some((r) => r.type === "docker:index/image:Image")).toBe(false);
    expect(String(reused.outputs.image).endsWith(`:${hash}`)).toBe(true);
    expect(instanceOf(reused, cloud).secret_inputs.length).toBe(0);
    const forced = await runUnderMocks(PROGRAMS[cloud], plan, { settings: { force_build: true } }, { existingImageTags: [hash] });
    expect(forced.resources.some((r) => r.type === "docker:index/image:Image")).toBe(true);
    expect(forced.outputs.image).toBe(reused.outputs.image);
  });
});
