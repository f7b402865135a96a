/**
 * The GCP program: a Compute Engine instance (or, for TPU offers, a TPU VM) in the offer's zone,
 * on the default network; a firewall rule opening only SSH (and the run's ports when exposed)
 * from `ssh_ingress_cidrs` to the run's network tag; the run's key in `ssh-keys` metadata; the
 * newest Deep Learning VM image of its family; the run's persistent disks (their own volume
 * stacks', read by id) attached; boot by cloud-init (`user-data` metadata; TPU VMs a `startup-script`); spot
 * via `provisioningModel: SPOT`; `max_duration` via `scheduling.maxRunDuration` with
 * `instanceTerminationAction: DELETE`. Prebuilt images go to the project's Artifact Registry.
 */
import * as pulumi from "@pulumi/pulumi";
import * as gcp from "@pulumi/gcp/provider";
import * as compute from "@pulumi/gcp/compute";
import * as tpu from "@pulumi/gcp/tpu";
import * as artifactregistry from "@pulumi/gcp/artifactregistry";
import * as organizations from "@pulumi/gcp/organizations";
import * as serviceaccount from "@pulumi/gcp/serviceaccount";
import { createHash } from "crypto";
import type { Plan } from "../plan";
import { applyTagsPolicy } from "../tags";
import type { BackendProgram, EmitOptions, RunOutputs } from "./program";
import { acceleratorOf, cloudOutputs, RunImage, userData, userImage } from "./cloud/boot";
import type { BootVolume, RegistryLogin } from "./cloud/cloud-init";
import { GCP_DLVM_FAMILY, GCP_DLVM_PROJECT, GCP_MIN_BOOT_DISK_GB, gcpN1AcceleratorType, gcpTpuRuntimeVersion, gcpTpuZone } from "./cloud/images";
import { PrebuiltImage } from "./cloud/prebuilt";
import { assertBackend, CloudSettings, cloudName, ingressPorts, parseCloudSettings } from "./cloud/settings";
import { distinctVolumeNames, volumeRef } from "./cloud/volume-refs";

/** Name of the project's Artifact Registry repository (shared per project, per region). */
export function gcpRepositoryName(project: string): string {
  return cloudName(["dstack", project, "prebuilt"], 63);
}

/** The zone the run goes to: the offer's (GCP rows are per zone), TPU rows mapped to a zone of the region. */
export function gcpZone(plan: Plan): string {
  if (plan.offer.zone) return plan.offer.zone;
  if (acceleratorOf(plan.offer) === "tpu") return gcpTpuZone(plan.offer.region, plan.offer.instance_type);
  return `${plan.offer.region}-a`;
}

/** Whether the project's repository holds the prebuilt tag already (a lookup; absent = build). */
async function prebuiltExists(plan: Plan, provider: gcp.Provider, region: string): Promise<boolean> {
  const hash = plan.image.build?.hash;
  if (!hash) return false;
  try {
    await artifactregistry.getDockerImage({ location: region, repositoryId: gcpRepositoryName(plan.project), imageName: `prebuilt:${hash}` }, { provider });
    return true;
  } catch {
    return false;
  }
}

/**
 * The prebuilt image in the project's Artifact Registry. The deployer's access token serves only
 * the push (the build, on this machine); the VM pulls as its own service account
 * (`gcpPullServiceAccount`), with a token from the metadata server: none in the metadata.
 */
async function prebuiltImage(plan: Plan, provider: gcp.Provider, region: string, settings: CloudSettings): Promise<RunImage> {
  const repo = artifactregistry.getRepositoryOutput({ location: region, repositoryId: gcpRepositoryName(plan.project) }, { provider });
  const login: pulumi.Output<RegistryLogin> = pulumi.output({ server: `${region}-docker.pkg.dev`, username: "oauth2accesstoken", password: "", via: "gcp" as const });
  // The tag is the content hash: when the project's repository has it, the run reuses it.
  if (!settings.force_build && (await prebuiltExists(plan, provider, region))) {
    return { image: pulumi.interpolate`${repo.registryUri}/prebuilt:${plan.image.build?.hash ?? ""}`, login, password: false };
  }
  const client = organizations.getClientConfigOutput({ provider });
  const push: pulumi.Output<RegistryLogin> = pulumi.secret(
    client.accessToken.apply((token) => ({ server: `${region}-docker.pkg.dev`, username: "oauth2accesstoken", password: token })),
  );
  const image = new PrebuiltImage(
    `${cloudName([plan.run_name])}-prebuilt`,
    { plan, repository: pulumi.interpolate`${repo.registryUri}/prebuilt`, login: push, platform: plan.offer.cpu_arch === "arm" ? "linux/arm64" : "linux/amd64" },
    { providers: { gcp: provider } },
  );
  return { image: image.imageName, login, password: false };
}

/** A service account id (6–30 chars, `[a-z][a-z0-9-]*[a-z0-9]`) for the run: its name, and a hash that keeps it unique. */
export function gcpServiceAccountId(project: string, run: string): string {
  const h = createHash("sha256").update(`${project}/${run}`).digest("hex").slice(0, 6);
  const stem = run.toLowerCase().replace(/[^a-z0-9-]/g, "-").replace(/^[^a-z]+/, "").slice(0, 20).replace(/-+$/, "");
  return `ds-${stem ? `${stem}-` : ""}${h}`;
}

/**
 * The VM's own service account: with `reader`, reader of the project's Artifact Registry
 * repository only (no project roles: the VM logs nothing through the API); without, no role at
 * all (a TPU VM without one would run as the default compute account).
 */
function gcpRunServiceAccount(plan: Plan, region: string, provider: gcp.Provider, reader: boolean): serviceaccount.Account {
  const accountId = gcpServiceAccountId(plan.project, plan.run_name);
  const account = new serviceaccount.Account(
    `${cloudName(["dstack", plan.run_name], 50)}-sa`,
    { accountId, displayName: `dstack run ${plan.run_name}`.slice(0, 100), description: reader ? "pulls the run's image from the project's Artifact Registry" : "the run's VM (no roles)" },
    { provider },
  );
  if (!reader) return account;
  new artifactregistry.RepositoryIamMember(
    `${cloudName(["dstack", plan.run_name], 50)}-sa-reader`,
    { location: region, repository: gcpRepositoryName(plan.project), role: "roles/artifactregistry.reader", member: account.member },
    { provider },
  );
  return account;
}

function sshKeys(plan: Plan): string {
  const key = plan.ssh.public_key.trim();
  return `root:${key}\ndstack:${key}`;
}

/**
 * The run's firewall: one allow rule per IP family (GCP refuses IPv4 and IPv6 ranges in one
 * rule), at priority 900; when `ssh_ingress_cidrs` is narrower than "anywhere", a deny of the
 * same ports from anywhere at priority 1000 for the run's tag, so that the default network's
 * `default-allow-ssh` (0.0.0.0/0 on port 22, priority 65534) does not open SSH to everyone.
 */
function firewalls(base: string, plan: Plan, settings: CloudSettings, network: pulumi.Input<string>, provider: gcp.Provider): compute.Firewall[] {
  const ports = ingressPorts(settings, plan.container.ports).map(String);
  const v4 = settings.ssh_ingress_cidrs.filter((c) => !c.includes(":"));
  const v6 = settings.ssh_ingress_cidrs.filter((c) => c.includes(":"));
  const rule = (name: string, sourceRanges: string[], access: "allow" | "deny", priority: number) =>
    new compute.Firewall(
      name,
      {
        name,
        description: `dstack run ${plan.run_name}: ${access === "allow" ? "SSH only (and exposed ports)" : "no SSH from elsewhere (overrides default-allow-ssh)"}`,
        network,
        direction: "INGRESS",
        priority,
        ...(access === "allow" ? { allows: [{ protocol: "tcp", ports }] } : { denies: [{ protocol: "tcp", ports }] }),
        sourceRanges,
        targetTags: [base],
      },
      { provider },
    );
  const out: compute.Firewall[] = [];
  if (v4.length) out.push(rule(`${base}-ssh`, v4, "allow", 900));
  if (v6.length) out.push(rule(`${base}-ssh-v6`, v6, "allow", 900));
  const anywhere = v4.includes("0.0.0.0/0") && (v6.length === 0 || v6.includes("::/0"));
  if (!anywhere) {
    out.push(rule(`${base}-deny-v4`, ["0.0.0.0/0"], "deny", 1000));
    if (v6.length) out.push(rule(`${base}-deny-v6`, ["::/0"], "deny", 1000));
  }
  return out;
}

/** Machine series that boot only from Hyperdisk and need gVNIC (c4, n4, a3-ultragpu, a4 …). */
export function gcpNeedsHyperdisk(machineType: string): boolean {
  return /^(c4|c4a|c4d|n4|a3-ultragpu|a4|a4x|x4|m4)-/.test(machineType);
}

export const gcpProgram: BackendProgram = async (plan: Plan, opts: EmitOptions): Promise<RunOutputs> => {
  assertBackend("gcp", plan.offer.backend);
  const settings = parseCloudSettings(opts.settings);
  applyTagsPolicy(plan.tags);
  const offer = plan.offer;
  const region = offer.region;
  const zone = gcpZone(plan);
  const base = cloudName(["dstack", plan.run_name], 50);
  const provider = new gcp.Provider("gcp", { project: settings.gcp_project ?? undefined, region, zone });
  const res = { provider };

  // The default network, or the project's (created by the shared per-project stack, `gcpProjectProgram`).
  const network = compute.getNetworkOutput({ name: settings.network === "project" ? gcpProjectNetworkName(plan.project) : "default" }, res);
  const fws = firewalls(base, plan, settings, network.selfLink, provider);
  const hyperdisk = gcpNeedsHyperdisk(offer.instance_type);
  const diskType = hyperdisk ? "hyperdisk-balanced" : "pd-balanced";

  // Volumes (dstack:volumes): each is its volume stack's persistent disk in the offer's zone, read by id (never created here).
  const read = new Map(distinctVolumeNames(plan.volumes).map((name) => [name, compute.Disk.get(cloudName([base, "vol", name], 63), volumeRef(settings, name), undefined, res)]));
  const disks = plan.volumes.map((v, i) => ({ plan: v, disk: read.get(v.name) as compute.Disk, deviceName: `dstack-vol-${i}` }));
  // A TPU VM's data disks get no device name: they appear as google-persistent-disk-1, -2, … in order.
  const tpuVm = acceleratorOf(offer) === "tpu";
  const bootVolumes: BootVolume[] = disks.map((d, i) => ({
    devices: tpuVm ? [`/dev/disk/by-id/google-persistent-disk-${i + 1}`] : [`/dev/disk/by-id/google-${d.deviceName}`],
    path: d.plan.path,
  }));

  const image = plan.image.kind === "prebuilt" ? await prebuiltImage(plan, provider, region, settings) : userImage(plan);
  // least privilege: a VM that pulls from the registry runs as its own reader account; a TPU VM
  // (whose default is the compute account) as its own account without roles; any other as none
  const prebuilt = plan.image.kind === "prebuilt";
  const account = prebuilt || acceleratorOf(offer) === "tpu" ? gcpRunServiceAccount(plan, region, provider, prebuilt) : null;
  const serviceAccount = account ? { email: account.email, scopes: ["https://www.googleapis.com/auth/cloud-platform"] } : undefined;
  const common = {
    ...cloudOutputs(plan, settings),
    backend: "gcp",
    region,
    zone,
    instance_type: offer.instance_type,
    spot: plan.spot,
    image: image.image,
    firewall: fws[0].name,
  };

  if (acceleratorOf(offer) === "tpu") {
    // TPU VMs: no cloud-init in the runtime images (a startup script instead), no maxRunDuration
    // (the boot script's timed shutdown enforces max_duration).
    const vm = new tpu.V2Vm(
      `${base}-tpu`,
      {
        name: base,
        zone,
        acceleratorType: offer.instance_type,
        runtimeVersion: settings.os_image ?? gcpTpuRuntimeVersion(offer.instance_type),
        networkConfig: { network: network.id, enableExternalIps: true, canIpForward: false },
        schedulingConfig: plan.spot ? { spot: true } : undefined,
        metadata: {
          "ssh-keys": sshKeys(plan),
          "startup-script": userData({ plan, backend: "gcp", settings, image, volumes: bootVolumes, format: "startup-script" }),
        },
        tags: [base],
        dataDisks: disks.map((d) => ({ sourceDisk: d.disk.id, mode: "READ_WRITE" })),
        serviceAccount,
        labels: {},
      },
      { ...res, dependsOn: fws },
    );
    return {
      ...common,
      ssh_host: vm.networkEndpoints.apply((eps) => eps?.[0]?.accessConfigs?.[0]?.externalIp ?? ""),
      instance_id: vm.id,
    };
  }

  // The image's own disk size is the boot disk's floor (GCP refuses a smaller boot disk).
  const lookup = settings.os_image ? null : compute.getImageOutput({ family: GCP_DLVM_FAMILY, project: GCP_DLVM_PROJECT }, res);
  const osImage = lookup ? lookup.selfLink : pulumi.output(settings.os_image as string);
  const bootSize = lookup ? lookup.diskSizeGb.apply((s) => Math.max(plan.disk_size, s ?? 0)) : pulumi.output(Math.max(plan.disk_size, GCP_MIN_BOOT_DISK_GB));
  const gpu = offer.gpu_count > 0 && offer.gpu_name && offer.instance_type.startsWith("n1-") ? gcpN1AcceleratorType(offer.gpu_name) : null;
  const hasGpu = offer.gpu_count > 0;
  const scheduling: compute.InstanceArgs["scheduling"] = {
    provisioningModel: plan.spot ? "SPOT" : "STANDARD",
    preemptible: plan.spot,
    automaticRestart: !plan.spot && plan.max_duration == null,
    // GPU machines cannot live-migrate.
    onHostMaintenance: hasGpu || plan.spot ? "TERMINATE" : "MIGRATE",
    instanceTerminationAction: plan.spot || plan.max_duration != null ? "DELETE" : undefined,
    maxRunDuration: plan.max_duration != null ? { seconds: plan.max_duration } : undefined,
  };

  const instance = new compute.Instance(
    `${base}-instance`,
    {
      name: base,
      zone,
      machineType: offer.instance_type,
      bootDisk: { autoDelete: true, initializeParams: { image: osImage, size: bootSize, type: diskType } },
      networkInterfaces: [{ network: network.selfLink, accessConfigs: [{ networkTier: "PREMIUM" }], nicType: hyperdisk ? "GVNIC" : undefined }],
      tags: [base],
      guestAccelerators: gpu ? [{ type: gpu, count: offer.gpu_count }] : undefined,
      scheduling,
      metadata: {
        "ssh-keys": sshKeys(plan),
        "user-data": userData({ plan, backend: "gcp", settings, image, volumes: bootVolumes }),
        "install-nvidia-driver": hasGpu ? "True" : "False",
      },
      attachedDisks: disks.map((d) => ({ source: d.disk.selfLink, deviceName: d.deviceName, mode: "READ_WRITE" })),
      // its own reader account (the scope is the broad one Google recommends with a narrow account), or none
      serviceAccount,
      allowStoppingForUpdate: true,
      labels: {},
    },
    // A newer image in the family must not replace the run's instance on the next `up`.
    { ...res, dependsOn: fws, ignoreChanges: ["bootDisk.initializeParams.image"] },
  );
  return {
    ...common,
    ssh_host: instance.networkInterfaces.apply((nis) => nis?.[0]?.accessConfigs?.[0]?.natIp ?? ""),
    instance_id: instance.instanceId,
    volume_ids: pulumi.all(disks.map((d) => d.disk.id)),
  };
};

export default gcpProgram;

/** Name of the project's VPC network with `network: project`. */
export function gcpProjectNetworkName(project: string): string {
  return cloudName(["dstack", project], 63);
}

/**
 * The shared per-project stack on GCP: the Artifact Registry Docker repository of prebuilt
 * images and, with `network`, the project's VPC network (auto-mode subnets). Protected.
 */
export async function gcpProjectProgram(args: { project: string; region: string; tags: Record<string, string>; gcpProject?: string; registry?: boolean; network?: boolean }): Promise<Record<string, unknown>> {
  applyTagsPolicy(args.tags);
  const provider = new gcp.Provider("gcp", { project: args.gcpProject, region: args.region });
  const out: Record<string, unknown> = {};
  if (args.registry !== false) {
    const repo = new artifactregistry.Repository(
      gcpRepositoryName(args.project),
      { repositoryId: gcpRepositoryName(args.project), location: args.region, format: "DOCKER", description: `dstack prebuilt images of project ${args.project}`, labels: {} },
      { provider, protect: true },
    );
    out.registry_uri = repo.registryUri;
    out.repository = repo.name;
  }
  if (args.network) {
    const net = new compute.Network(
      gcpProjectNetworkName(args.project),
      { name: gcpProjectNetworkName(args.project), autoCreateSubnetworks: true, description: `dstack runs of project ${args.project}` },
      { provider, protect: true },
    );
    out.network = net.selfLink;
  }
  return out;
}

/** The registry part of the shared per-project stack (see `gcpProjectProgram`). */
export function gcpRegistryProgram(args: { project: string; region: string; tags: Record<string, string>; gcpProject?: string }): Promise<Record<string, unknown>> {
  return gcpProjectProgram({ ...args, registry: true, network: false });
}
