/**
 * The AWS program: one EC2 instance (spot or on-demand) in the offer's region, in an
 * availability zone that offers the instance type (or the zone of an existing volume), in the
 * default VPC; a security group opening only SSH (and the run's ports when exposed) from
 * `ssh_ingress_cidrs`; a key pair from the run's public key; the newest Deep Learning AMI; the
 * run's EBS volumes (their own volume stacks', read by id) attached; boot by cloud-init; `max_duration`
 * enforced by a timed `shutdown` with shutdown behaviour `terminate`. Prebuilt images go to the
 * project's ECR repository (created by `registryProgram`).
 */
import * as zlib from "zlib";
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws/provider";
import { getAvailabilityZones } from "@pulumi/aws/getAvailabilityZones";
import * as ec2 from "@pulumi/aws/ec2";
import * as ebs from "@pulumi/aws/ebs";
import * as ecr from "@pulumi/aws/ecr";
import * as iam from "@pulumi/aws/iam";
import type { Plan } from "../plan";
import { applyTagsPolicy } from "../tags";
import type { BackendProgram, EmitOptions, RunOutputs } from "./program";
import { acceleratorOf, cloudOutputs, RunImage, userData, userImage } from "./cloud/boot";
import { BootVolume, RegistryLogin, renderCloudInit } from "./cloud/cloud-init";
import { awsArchitecture, awsDlamiNamePattern, AWS_DLAMI_OWNER } from "./cloud/images";
import { PrebuiltImage } from "./cloud/prebuilt";
import { assertBackend, CloudSettings, cloudName, ingressPorts, parseCloudSettings } from "./cloud/settings";
import { distinctVolumeNames, volumeRef } from "./cloud/volume-refs";

/** Name of the project's ECR repository (shared per project, per region). */
export function awsRepositoryName(project: string): string {
  return cloudName(["dstack", project, "prebuilt"], 256);
}

/** EC2's limit on user-data, bytes. */
export const AWS_USER_DATA_LIMIT = 16384;

/**
 * Whether the user-data may pass EC2's limit: decided from the plan (the parts known only at
 * deployment, volume ids and the registry host, are bounded by the margin), so the program sets
 * exactly one of userData / userDataBase64.
 */
export function awsNeedsGzip(plan: Plan, settings: CloudSettings): boolean {
  const estimate = renderCloudInit({
    plan,
    backend: "aws",
    image: plan.image.ref,
    registry: null,
    accelerator: acceleratorOf(plan.offer),
    volumes: plan.volumes.map((v, i) => ({ devices: [`/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0123456789abcdef0`, deviceName(i), deviceName(i)], path: v.path })),
    settings,
  });
  return Buffer.byteLength(estimate) + 1024 > AWS_USER_DATA_LIMIT;
}

/** EBS device names for attachments: /dev/sdf, /dev/sdg, … */
function deviceName(i: number): string {
  return `/dev/sd${String.fromCharCode("f".charCodeAt(0) + i)}`;
}

/** Whether the project's repository holds the prebuilt tag already (a lookup; absent = build). */
async function prebuiltExists(plan: Plan, provider: aws.Provider): Promise<boolean> {
  const hash = plan.image.build?.hash;
  if (!hash) return false;
  try {
    await ecr.getImage({ repositoryName: awsRepositoryName(plan.project), imageTag: hash }, { provider });
    return true;
  } catch {
    return false;
  }
}

/**
 * The prebuilt image in the project's ECR repository. The deployer's ECR token serves only the
 * push (the build, on this machine); the instance logs in with its own instance profile
 * (`awsEcrPullProfile`), so no token is in the user data: a later `up` with a fresh token changes
 * nothing that replaces the instance.
 */
async function prebuiltImage(plan: Plan, provider: aws.Provider, settings: CloudSettings): Promise<RunImage & { repositoryArn: pulumi.Output<string> }> {
  const repo = ecr.getRepositoryOutput({ name: awsRepositoryName(plan.project) }, { provider });
  const host = repo.repositoryUrl.apply((u) => u.split("/")[0]);
  const login: pulumi.Output<RegistryLogin> = host.apply((server) => ({ server, username: "AWS", password: "", via: "aws" as const, region: plan.offer.region }));
  const out = { login, password: false, repositoryArn: repo.arn };
  // The tag is the content hash: when the project's repository has it, the run reuses it.
  if (!settings.force_build && (await prebuiltExists(plan, provider))) {
    return { ...out, image: pulumi.interpolate`${repo.repositoryUrl}:${plan.image.build?.hash ?? ""}` };
  }
  const token = ecr.getAuthorizationTokenOutput({ registryId: repo.registryId }, { provider });
  const push: pulumi.Output<RegistryLogin> = pulumi.secret(
    pulumi.all([token.proxyEndpoint, token.userName, token.password]).apply(([endpoint, username, password]) => ({
      server: endpoint.replace(/^https:\/\//, ""),
      username,
      password,
    })),
  );
  const image = new PrebuiltImage(
    `${cloudName([plan.run_name])}-prebuilt`,
    { plan, repository: repo.repositoryUrl, login: push, platform: plan.offer.cpu_arch === "arm" ? "linux/arm64" : "linux/amd64" },
    { providers: { aws: provider } },
  );
  return { ...out, image: image.imageName };
}

/**
 * The instance profile of a run whose image is in ECR: a role EC2 may assume, allowed to read
 * that one repository (and to get an ECR token, which has no narrower resource).
 */
function awsEcrPullProfile(base: string, repositoryArn: pulumi.Input<string>, opts: pulumi.CustomResourceOptions): iam.InstanceProfile {
  const name = cloudName([base, "ecr-pull"], 64);
  const role = new iam.Role(
    name,
    {
      name,
      description: "dstack run: pull the run's image from the project's ECR repository",
      assumeRolePolicy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }] }),
    },
    opts,
  );
  new iam.RolePolicy(
    name,
    {
      role: role.name,
      policy: pulumi.output(repositoryArn).apply((arn) =>
        JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            { Effect: "Allow", Action: ["ecr:GetAuthorizationToken"], Resource: "*" },
            { Effect: "Allow", Action: ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"], Resource: arn },
          ],
        }),
      ),
    },
    opts,
  );
  return new iam.InstanceProfile(name, { name, role: role.name }, opts);
}

export const awsProgram: BackendProgram = async (plan: Plan, opts: EmitOptions): Promise<RunOutputs> => {
  assertBackend("aws", plan.offer.backend);
  const settings = parseCloudSettings(opts.settings);
  applyTagsPolicy(plan.tags);
  const offer = plan.offer;
  const region = offer.region;
  const base = cloudName(["dstack", plan.run_name], 200);
  const provider = new aws.Provider("aws", { region: region as aws.ProviderArgs["region"] });
  const invoke = { provider };
  const res = { provider };

  // Volumes (dstack:volumes): each is its volume stack's, read by id (never created here); they pin the zone.
  const existing = distinctVolumeNames(plan.volumes).map((name) => ({ name, volume: ebs.Volume.get(cloudName([base, "vol", name]), volumeRef(settings, name), undefined, res) }));
  // Otherwise the first zone (sorted) that offers the instance type.
  let zone: pulumi.Output<string>;
  if (existing.length > 0) zone = existing[0].volume.availabilityZone;
  else {
    const offerings = ec2.getInstanceTypeOfferingsOutput(
      { locationType: "availability-zone", filters: [{ name: "instance-type", values: [offer.instance_type] }] },
      invoke,
    );
    zone = offerings.locations.apply((l) => awsFirstZone(region, offer.instance_type, l));
  }

  // Network: the default VPC and its default subnet in the zone, or the project's VPC (created by
  // the shared per-project stack, `awsProjectProgram`) and its subnet in the zone.
  const project = settings.network === "project";
  // A missing default VPC is a clear error (getVpc would fail with "no matching EC2 VPC found").
  const vpc = project
    ? ec2.getVpcOutput({ filters: [{ name: "tag:Name", values: [awsProjectNetworkName(plan.project)] }] }, invoke)
    : { id: ec2.getVpcsOutput({ filters: [{ name: "is-default", values: ["true"] }] }, invoke).ids.apply((ids) => awsDefaultVpc(region, ids)) };
  const subnets = ec2.getSubnetsOutput(
    {
      filters: [
        { name: "vpc-id", values: [vpc.id] },
        { name: "availability-zone", values: [zone] },
        ...(project ? [] : [{ name: "default-for-az", values: ["true"] }]),
      ],
    },
    invoke,
  );
  const subnetId = subnets.ids.apply((ids) => {
    if (ids.length === 0) throw new Error(`the ${project ? "project's" : "default"} VPC has no subnet in the chosen zone of ${region}`);
    return [...ids].sort()[0];
  });

  const v4 = settings.ssh_ingress_cidrs.filter((c) => !c.includes(":"));
  const v6 = settings.ssh_ingress_cidrs.filter((c) => c.includes(":"));
  const sg = new ec2.SecurityGroup(
    `${base}-sg`,
    {
      description: `dstack run ${plan.run_name}: SSH only (and exposed ports)`,
      vpcId: vpc.id,
      ingress: ingressPorts(settings, plan.container.ports).map((port) => ({
        protocol: "tcp",
        fromPort: port,
        toPort: port,
        cidrBlocks: v4.length ? v4 : undefined,
        ipv6CidrBlocks: v6.length ? v6 : undefined,
        description: port === 22 ? "host sshd" : port === settings.container_ssh_port ? "run container sshd" : `run port ${port}`,
      })),
      egress: [{ protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"], ipv6CidrBlocks: ["::/0"] }],
      tags: { Name: `${base}-sg` },
    },
    res,
  );

  const key = new ec2.KeyPair(`${base}-key`, { keyName: `${base}-key`, publicKey: plan.ssh.public_key.trim() }, res);

  // The AMI: the newest DLAMI, or os_image; its root snapshot's size is the root disk's floor.
  const amiLookup = ec2.getAmiOutput(
    settings.os_image
      ? { filters: [{ name: "image-id", values: [settings.os_image] }] }
      : {
          mostRecent: true,
          owners: [AWS_DLAMI_OWNER],
          filters: [
            { name: "name", values: [awsDlamiNamePattern(offer.cpu_arch)] },
            { name: "architecture", values: [awsArchitecture(offer.cpu_arch)] },
            { name: "state", values: ["available"] },
          ],
        },
    invoke,
  );
  const ami = amiLookup.id;
  const rootSize = amiLookup.apply((a) => Math.max(plan.disk_size, awsAmiRootSize(a.rootDeviceName, a.blockDeviceMappings)));

  const byName = new Map(existing.map((x) => [x.name, x.volume]));
  const volumes = plan.volumes.map((v, i) => ({ plan: v, volume: byName.get(v.name) as ebs.Volume, device: deviceName(i) }));
  const bootVolumes: pulumi.Output<BootVolume[]> = pulumi.all(volumes.map((v) => v.volume.id)).apply((ids) =>
    ids.map((id, i) => ({
      devices: [`/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${id.replace("-", "")}`, volumes[i].device, volumes[i].device.replace("/dev/sd", "/dev/xvd")],
      path: volumes[i].plan.path,
    })),
  );

  const prebuilt = plan.image.kind === "prebuilt" ? await prebuiltImage(plan, provider, settings) : null;
  const image: RunImage = prebuilt ?? userImage(plan);
  // only a run pulling from ECR gets an identity (the others need none)
  const profile = prebuilt ? awsEcrPullProfile(base, prebuilt.repositoryArn, res) : null;

  const boot = userData({ plan, backend: "aws", settings, image, volumes: bootVolumes });
  const gzip = awsNeedsGzip(plan, settings);
  const instance = new ec2.Instance(
    `${base}-instance`,
    {
      ami,
      instanceType: offer.instance_type,
      availabilityZone: zone,
      subnetId,
      associatePublicIpAddress: true,
      vpcSecurityGroupIds: [sg.id],
      keyName: key.keyName,
      iamInstanceProfile: profile?.name,
      // Never below the image's own root snapshot (EC2 refuses a smaller root volume).
      rootBlockDevice: { volumeSize: rootSize, volumeType: "gp3", deleteOnTermination: true },
      // A shutdown from inside (the max_duration timer, or `poweroff`) ends the run for good.
      instanceInitiatedShutdownBehavior: "terminate",
      instanceMarketOptions: plan.spot
        ? {
            marketType: "spot",
            spotOptions: {
              spotInstanceType: "one-time",
              instanceInterruptionBehavior: "terminate",
              maxPrice: plan.max_price != null ? String(plan.max_price) : undefined,
            },
          }
        : undefined,
      metadataOptions: { httpTokens: "required", httpEndpoint: "enabled" },
      // EC2 takes 16 KB of user-data: beyond that, gzip it (cloud-init detects gzip).
      userData: gzip ? undefined : boot,
      userDataBase64: gzip ? boot.apply((t) => zlib.gzipSync(t).toString("base64")) : undefined,
      // The user data holds nothing that changes from one `up` to the next (no registry token:
      // the instance profile logs in), so a changed boot text means a changed run: a new instance.
      userDataReplaceOnChange: true,
      tags: { Name: base },
    },
    // A newer DLAMI published since the run started must not replace its instance on the next `up`.
    { ...res, ignoreChanges: ["ami"] },
  );

  for (const v of volumes) {
    new ec2.VolumeAttachment(
      cloudName([base, "attach", v.plan.name]),
      // No detach on destroy: terminating the instance detaches it. (Stopping first, which
      // stopInstanceBeforeDetaching does, is refused for a one-time spot instance.)
      { deviceName: v.device, volumeId: v.volume.id, instanceId: instance.id, skipDestroy: true },
      res,
    );
  }

  return {
    ...cloudOutputs(plan, settings),
    ssh_host: instance.publicIp,
    instance_id: instance.id,
    backend: "aws",
    region,
    zone,
    instance_type: offer.instance_type,
    spot: plan.spot,
    image: image.image,
    volume_ids: pulumi.all(volumes.map((v) => v.volume.id)),
  };
};

export default awsProgram;

/**
 * The first availability zone (sorted) of the region that offers the type: a standard zone
 * (`us-east-1a`), never a Local Zone or Wavelength Zone (`us-east-1-bos-1a`, which sorts first
 * and has no default subnet).
 */
export function awsFirstZone(region: string, instanceType: string, locations: string[]): string {
  const standard = locations.filter((z) => new RegExp(`^${region.replace(/[-]/g, "\\-")}[a-z]$`).test(z)).sort();
  if (standard.length === 0) throw new Error(`${instanceType} is offered in no availability zone of ${region}`);
  return standard[0];
}

/** The region's default VPC, or a clear error when it has none. */
export function awsDefaultVpc(region: string, ids: string[]): string {
  if (ids.length === 0)
    throw new Error(`${region} has no default VPC: create one (\`aws ec2 create-default-vpc --region ${region}\`) or set \`network: project\` in the aws backend's config.yml entry`);
  return [...ids].sort()[0];
}

/** The size (GB) of an AMI's root snapshot, from getAmi's block device mappings (0 when unknown). */
export function awsAmiRootSize(rootDeviceName: string, mappings: { deviceName: string; ebs: Record<string, string> }[] | undefined): number {
  const root = (mappings ?? []).find((m) => m.deviceName === rootDeviceName) ?? (mappings ?? [])[0];
  const n = Number(root?.ebs?.volume_size ?? 0);
  return Number.isFinite(n) ? n : 0;
}

/** Name (and Name tag) of the project's VPC with `network: project`. */
export function awsProjectNetworkName(project: string): string {
  return cloudName(["dstack", project], 200);
}

export interface ProjectProgramArgs {
  project: string;
  region: string;
  tags: Record<string, string>;
  /** Create the registry for prebuilt images (default true). */
  registry?: boolean;
  /** Create the project's network (for `network: project`; default false). */
  network?: boolean;
}

/**
 * The shared per-project stack on AWS (e.g. stack `project-aws-<region>`): the ECR repository
 * prebuilt images are pushed to and, with `network`, the project's VPC (an internet gateway, a
 * public subnet per availability zone). Run it before the first run that needs them; its
 * resources are protected.
 */
export async function awsProjectProgram(args: ProjectProgramArgs): Promise<Record<string, unknown>> {
  applyTagsPolicy(args.tags);
  const provider = new aws.Provider("aws", { region: args.region as aws.ProviderArgs["region"] });
  const out: Record<string, unknown> = {};
  if (args.registry !== false) {
    const repo = new ecr.Repository(
      awsRepositoryName(args.project),
      { name: awsRepositoryName(args.project), imageTagMutability: "MUTABLE", imageScanningConfiguration: { scanOnPush: true }, forceDelete: false },
      { provider, protect: true },
    );
    out.repository_url = repo.repositoryUrl;
    out.registry_id = repo.registryId;
  }
  if (args.network) {
    const name = awsProjectNetworkName(args.project);
    const opts = { provider, protect: true };
    const vpc = new ec2.Vpc(name, { cidrBlock: "10.100.0.0/16", enableDnsHostnames: true, enableDnsSupport: true, tags: { Name: name } }, opts);
    const igw = new ec2.InternetGateway(`${name}-igw`, { vpcId: vpc.id, tags: { Name: `${name}-igw` } }, opts);
    const routes = new ec2.RouteTable(`${name}-public`, { vpcId: vpc.id, routes: [{ cidrBlock: "0.0.0.0/0", gatewayId: igw.id }], tags: { Name: `${name}-public` } }, opts);
    const zones = await getAvailabilityZones({ state: "available" }, { provider });
    const subnets = [...zones.names].sort().slice(0, 16).map((az, i) => {
      const subnet = new ec2.Subnet(
        `${name}-${az}`,
        { vpcId: vpc.id, availabilityZone: az, cidrBlock: `10.100.${i * 16}.0/20`, mapPublicIpOnLaunch: true, tags: { Name: `${name}-${az}` } },
        opts,
      );
      new ec2.RouteTableAssociation(`${name}-${az}`, { subnetId: subnet.id, routeTableId: routes.id }, opts);
      return subnet.id;
    });
    out.vpc_id = vpc.id;
    out.subnet_ids = pulumi.all(subnets);
  }
  return out;
}

/** The registry part of the shared per-project stack (see `awsProjectProgram`). */
export function awsRegistryProgram(args: Omit<ProjectProgramArgs, "registry" | "network">): Promise<Record<string, unknown>> {
  return awsProjectProgram({ ...args, registry: true, network: false });
}
