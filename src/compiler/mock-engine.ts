/**
 * Runs any backend program under Pulumi's mock engine (`pulumi.runtime.setMocks`) and returns
 * the resource graph: what infra teams review before anything is provisioned. No provider
 * plugin, no credentials and no network: every lookup the cloud programs use is answered with
 * a plausible canned value (an unknown lookup is an error, so a new lookup cannot slip past
 * the mocks), and secret inputs are shown as "[secret]", never in clear.
 *
 * The mock engine is process-global state: calls are serialized here, one program at a time.
 */
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import { DstackError } from "../diagnostics";
import { offerJson, type OfferJson } from "../offers/offer";
import type { BackendProgram, EmitOptions } from "./backends/index";
import type { Plan } from "./plan";

export const SECRET = "[secret]";
/** A stack output that only a real provider computes (e.g. a dynamic resource's outputs). */
export const UNKNOWN = "[unknown under mocks]";

/** One resource as registered with the engine (after transformations such as the tags policy). */
export interface GraphResource {
  /** Pulumi type token, e.g. `aws:ec2/instance:Instance`. */
  type: string;
  name: string;
  /** Name of the parent resource, or null for resources at the top of the stack. */
  parent: string | null;
  /** False for component resources. */
  custom: boolean;
  /** Inputs as sent to the engine; secret values are "[secret]". */
  inputs: Record<string, unknown>;
  /** Dotted paths (`metadata.user-data`, `registry.password`) of secret inputs. */
  secret_inputs: string[];
  /** Resource options that matter for review: protect, retainOnDelete, an existing resource read by id. */
  options?: { protect?: boolean; retain_on_delete?: boolean; read_id?: string };
}

export interface GraphLookup {
  /** Invoke token, e.g. `aws:ec2/getAmi:getAmi`. */
  token: string;
  args: Record<string, unknown>;
}

export interface ResourceGraph {
  backend: string;
  offer: OfferJson;
  resources: GraphResource[];
  lookups: GraphLookup[];
  /** Stack outputs; secret ones are "[secret]". */
  outputs: Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------------
// Secrets in mock inputs: the mock monitor keeps them as {[sigKey]: secretSig, value}.

function isSecretWrapper(v: unknown): v is { value: unknown } {
  return (
    typeof v === "object" &&
    v !== null &&
    (v as Record<string, unknown>)[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig
  );
}

/** Replaces secret values by "[secret]" and lists their paths. Exported for tests. */
export function redactSecrets(value: unknown, path: string, secrets: string[]): unknown {
  if (isSecretWrapper(value)) {
    secrets.push(path || "(root)");
    return SECRET;
  }
  if (Array.isArray(value)) return value.map((v, i) => redactSecrets(v, path ? `${path}[${i}]` : `[${i}]`, secrets));
  if (pulumi.Resource.isInstance(value)) return "[resource]";
  if (pulumi.asset.Asset.isInstance(value) || pulumi.asset.Archive.isInstance(value)) return "[asset]";
  if (typeof value === "object" && value !== null) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[k];
      if (v === undefined) continue;
      const p = path ? `${path}.${k}` : k;
      // Dynamic providers carry their serialized code: not for review, and huge.
      if (k === "__provider" && typeof v === "string") out[k] = "[dynamic provider]";
      else out[k] = redactSecrets(v, p, secrets);
    }
    return out;
  }
  return value;
}

function unwrapSecrets(value: unknown): unknown {
  if (isSecretWrapper(value)) return unwrapSecrets(value.value);
  if (Array.isArray(value)) return value.map(unwrapSecrets);
  if (typeof value === "object" && value !== null && !pulumi.Resource.isInstance(value) && !pulumi.asset.Asset.isInstance(value) && !pulumi.asset.Archive.isInstance(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = unwrapSecrets(v);
    return out;
  }
  return value;
}

// ---------------------------------------------------------------------------------------------
// Canned answers: plausible, deterministic (derived from names), never real.

function hex(seed: string, n: number): string {
  return createHash("sha256").update(seed).digest("hex").slice(0, n);
}

function ipv4(seed: string): string {
  // 203.0.113.0/24 is TEST-NET-3 (RFC 5737): never a real host.
  return `203.0.113.${(parseInt(hex(seed, 2), 16) % 250) + 2}`;
}

export interface MockContext {
  region: string;
  zone: string | null;
  /** Image tags the mocked registries hold (default none: a lookup of a prebuilt tag finds nothing). */
  existingImageTags?: string[];
}

/** A lookup that finds nothing: the mock answers with the provider's "not found" error. */
export const NOT_FOUND = Symbol("not found");

const AWS_ACCOUNT = "123456789012";

/** The canned answer of a lookup (invoke), or undefined when it has none. Exported for tests. */
export function mockCall(token: string, args: Record<string, unknown>, ctx: MockContext): Record<string, unknown> | typeof NOT_FOUND | undefined {
  const a = args as Record<string, never>;
  const filters = (a.filters ?? []) as { name: string; values: string[] }[];
  const filter = (name: string) => filters.find((f) => f.name === name)?.values ?? [];
  switch (token) {
    // ---- AWS
    case "aws:ec2/getAmi:getAmi": {
      const arch = filter("architecture")[0] ?? "x86_64";
      const pattern = filter("name")[0] ?? "image *";
      return {
        id: `ami-0${hex(pattern + arch, 16)}`,
        imageId: `ami-0${hex(pattern + arch, 16)}`,
        name: pattern.replace("*", "20261006"),
        architecture: arch,
        ownerId: "898082745236",
        rootDeviceName: "/dev/sda1",
        state: "available",
        virtualizationType: "hvm",
      };
    }
    case "aws:ec2/getVpc:getVpc":
      return { id: `vpc-0${hex(ctx.region, 16)}`, cidrBlock: "172.31.0.0/16", default: true, arn: `arn:aws:ec2:${ctx.region}:${AWS_ACCOUNT}:vpc/vpc-0${hex(ctx.region, 16)}` };
    case "aws:ec2/getSubnets:getSubnets": {
      const az = filter("availability-zone")[0] ?? `${ctx.region}a`;
      return { id: ctx.region, ids: [`subnet-0${hex(az, 16)}`] };
    }
    case "aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings": {
      const type = filter("instance-type")[0] ?? "t3.micro";
      const locations = ["b", "a", "c"].map((s) => `${ctx.region}${s}`);
      return { id: ctx.region, instanceTypes: locations.map(() => type), locations, locationTypes: locations.map(() => "availability-zone"), region: ctx.region };
    }
    case "aws:index/getAvailabilityZones:getAvailabilityZones": {
      const names = ["a", "b", "c"].map((z) => `${ctx.region}${z}`);
      return { id: ctx.region, names, zoneIds: names.map((_, i) => `use1-az${i + 1}`), groupNames: names.map(() => ctx.region), state: "available", region: ctx.region };
    }
    case "aws:ecr/getRepository:getRepository":
      return {
        id: String(a.name),
        name: a.name,
        registryId: AWS_ACCOUNT,
        repositoryUrl: `${AWS_ACCOUNT}.dkr.ecr.${ctx.region}.amazonaws.com/${String(a.name)}`,
        arn: `arn:aws:ecr:${ctx.region}:${AWS_ACCOUNT}:repository/${String(a.name)}`,
      };
    case "aws:ecr/getImage:getImage": {
      const tag = String(a.imageTag);
      if (!(ctx.existingImageTags ?? []).includes(tag)) return NOT_FOUND;
      const uri = `${AWS_ACCOUNT}.dkr.ecr.${ctx.region}.amazonaws.com/${String(a.repositoryName)}:${tag}`;
      return { id: `sha256:${hex(uri, 64)}`, imageDigest: `sha256:${hex(uri, 64)}`, imageTag: tag, imageTags: [tag], imageUri: uri, imagePushedAt: 1764579600, imageSizeInBytes: 4200000000, region: ctx.region, registryId: AWS_ACCOUNT, repositoryName: a.repositoryName };
    }
    case "aws:ecr/getAuthorizationToken:getAuthorizationToken":
      return {
        id: ctx.region,
        userName: "AWS",
        password: "mock-ecr-password",
        authorizationToken: Buffer.from("AWS:mock-ecr-password").toString("base64"),
        proxyEndpoint: `https://${AWS_ACCOUNT}.dkr.ecr.${ctx.region}.amazonaws.com`,
        expiresAt: "2030-01-01T00:00:00Z",
        region: ctx.region,
      };
    // ---- GCP
    case "gcp:compute/getImage:getImage": {
      const project = String(a.project ?? "mock-project");
      const name = `${String(a.family ?? a.name)}-v20261001`;
      return { id: `projects/${project}/global/images/${name}`, name, family: a.family, selfLink: `https://www.googleapis.com/compute/v1/projects/${project}/global/images/${name}`, project };
    }
    case "gcp:compute/getNetwork:getNetwork": {
      const name = String(a.name);
      return { id: `projects/mock-project/global/networks/${name}`, name, selfLink: `https://www.googleapis.com/compute/v1/projects/mock-project/global/networks/${name}`, project: "mock-project" };
    }
    case "gcp:organizations/getClientConfig:getClientConfig":
      return { id: "mock-project", project: "mock-project", region: ctx.region, zone: ctx.zone ?? "", accessToken: "mock-gcp-access-token", defaultLabels: {} };
    case "gcp:artifactregistry/getRepository:getRepository": {
      const id = String(a.repositoryId);
      const loc = String(a.location);
      return { id: `projects/mock-project/locations/${loc}/repositories/${id}`, name: id, repositoryId: id, location: loc, format: "DOCKER", registryUri: `${loc}-docker.pkg.dev/mock-project/${id}` };
    }
    case "gcp:artifactregistry/getDockerImage:getDockerImage": {
      const [, tag] = String(a.imageName).split(":");
      if (!(ctx.existingImageTags ?? []).includes(tag)) return NOT_FOUND;
      const uri = `${String(a.location)}-docker.pkg.dev/mock-project/${String(a.repositoryId)}/${String(a.imageName)}`;
      return { id: uri, name: uri, imageName: a.imageName, location: a.location, repositoryId: a.repositoryId, selfLink: uri, tags: [tag], buildTime: "2026-12-01T09:00:00Z", uploadTime: "2026-12-01T09:00:00Z", updateTime: "2026-12-01T09:00:00Z", mediaType: "application/vnd.docker.distribution.manifest.v2+json", imageSizeBytes: "4200000000" };
    }
    // ---- Azure
    case "azure-native:resources:getResourceGroup": {
      const name = String(a.resourceGroupName);
      return { id: `/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/${name}`, name, location: ctx.region, type: "Microsoft.Resources/resourceGroups" };
    }
    case "azure-native:network:getSubnet": {
      const id = `/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/${String(a.resourceGroupName)}/providers/Microsoft.Network/virtualNetworks/${String(a.virtualNetworkName)}/subnets/${String(a.subnetName)}`;
      return { id, name: a.subnetName, addressPrefix: "10.100.0.0/18", provisioningState: "Succeeded" };
    }
    case "azure-native:containerregistry:getRegistry":
      return { id: `/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/${String(a.resourceGroupName)}/providers/Microsoft.ContainerRegistry/registries/${String(a.registryName)}`, name: a.registryName, loginServer: `${String(a.registryName)}.azurecr.io`, location: ctx.region };
    case "azure-native:containerregistry:listRegistryCredentials":
      return { username: a.registryName, passwords: [{ name: "password", value: "mock-acr-password" }, { name: "password2", value: "mock-acr-password-2" }] };
    default:
      return undefined;
  }
}

/** Canned state of a new resource: its inputs plus the outputs a provider would compute. Exported for tests. */
export function mockState(type: string, name: string, inputs: Record<string, unknown>, ctx: MockContext): { id: string; state: Record<string, unknown> } {
  const i = inputs;
  const h = (n: number) => hex(type + name, n);
  const sub = "/subscriptions/00000000-0000-0000-0000-000000000000";
  switch (type) {
    case "aws:ec2/instance:Instance":
      return { id: `i-0${h(16)}`, state: { ...i, publicIp: ipv4(name), privateIp: `172.31.${parseInt(h(2), 16)}.10`, arn: `arn:aws:ec2:${ctx.region}:${AWS_ACCOUNT}:instance/i-0${h(16)}` } };
    case "aws:ebs/volume:Volume":
      return { id: `vol-0${h(16)}`, state: { availabilityZone: `${ctx.region}a`, ...i, arn: `arn:aws:ec2:${ctx.region}:${AWS_ACCOUNT}:volume/vol-0${h(16)}` } };
    case "aws:ec2/securityGroup:SecurityGroup":
      return { id: `sg-0${h(16)}`, state: i };
    case "aws:ec2/keyPair:KeyPair":
      return { id: String(i.keyName ?? name), state: { ...i, keyPairId: `key-0${h(16)}` } };
    case "aws:ecr/repository:Repository":
      return { id: String(i.name ?? name), state: { ...i, registryId: AWS_ACCOUNT, repositoryUrl: `${AWS_ACCOUNT}.dkr.ecr.${ctx.region}.amazonaws.com/${String(i.name ?? name)}` } };
    case "gcp:compute/instance:Instance": {
      const nis = (i.networkInterfaces as Record<string, unknown>[] | undefined) ?? [];
      return {
        id: `projects/mock-project/zones/${String(i.zone)}/instances/${String(i.name ?? name)}`,
        state: {
          ...i,
          instanceId: String(BigInt(`0x${h(12)}`)),
          selfLink: `https://www.googleapis.com/compute/v1/projects/mock-project/zones/${String(i.zone)}/instances/${String(i.name ?? name)}`,
          networkInterfaces: nis.map((ni) => ({ ...ni, networkIp: "10.128.0.2", accessConfigs: ((ni.accessConfigs as Record<string, unknown>[]) ?? []).map((ac) => ({ ...ac, natIp: ipv4(name) })) })),
        },
      };
    }
    case "gcp:compute/disk:Disk": {
      const zone = String(i.zone ?? ctx.zone);
      const n = String(i.name ?? name);
      return { id: `projects/mock-project/zones/${zone}/disks/${n}`, state: { zone, ...i, name: n, selfLink: `https://www.googleapis.com/compute/v1/projects/mock-project/zones/${zone}/disks/${n}` } };
    }
    case "gcp:tpu/v2Vm:V2Vm":
      return { id: `projects/mock-project/locations/${String(i.zone)}/nodes/${String(i.name ?? name)}`, state: { ...i, networkEndpoints: [{ ipAddress: "10.128.0.3", port: 8470, accessConfigs: [{ externalIp: ipv4(name) }] }] } };
    case "gcp:compute/network:Network": {
      const n = String(i.name ?? name);
      return { id: `projects/mock-project/global/networks/${n}`, state: { ...i, name: n, selfLink: `https://www.googleapis.com/compute/v1/projects/mock-project/global/networks/${n}` } };
    }
    case "gcp:compute/firewall:Firewall":
      return { id: `projects/mock-project/global/firewalls/${String(i.name ?? name)}`, state: i };
    case "gcp:artifactregistry/repository:Repository":
      return { id: String(i.repositoryId), state: { ...i, name: String(i.repositoryId), registryUri: `${String(i.location)}-docker.pkg.dev/mock-project/${String(i.repositoryId)}` } };
    case "azure-native:network:PublicIPAddress":
      return { id: `${sub}/resourceGroups/rg/providers/Microsoft.Network/publicIPAddresses/${name}`, state: { ...i, name: i.publicIpAddressName ?? name, ipAddress: ipv4(name) } };
    case "azure-native:compute:VirtualMachine":
      return { id: `${sub}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/${String(i.vmName ?? name)}`, state: { ...i, name: i.vmName ?? name, vmId: `${h(8)}-${h(4)}-4${h(3)}-8${h(3)}-${h(12)}` } };
    case "azure-native:containerregistry:Registry":
      return { id: `${sub}/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/${String(i.registryName)}`, state: { ...i, loginServer: `${String(i.registryName)}.azurecr.io` } };
    case "docker:index/image:Image":
      return { id: `${String(i.imageName)}`, state: { ...i, repoDigest: `${String(i.imageName).split(":")[0]}@sha256:${hex(String(i.imageName), 64)}` } };
    default: {
      if (type.startsWith("azure-native:")) {
        const nameKey = Object.keys(i).find((k) => k.endsWith("Name") && k !== "resourceGroupName" && typeof i[k] === "string");
        const n = String(nameKey ? i[nameKey] : name);
        return { id: `${sub}/resourceGroups/${String(i.resourceGroupName ?? n)}/providers/${type.split(":")[1]}/${n}`, state: { ...i, name: n } };
      }
      if (type.startsWith("pulumi:providers:")) return { id: `${name}-provider-id`, state: i };
      return { id: `${name}-${h(8)}`, state: { ...i, name: i.name ?? name } };
    }
  }
}

// ---------------------------------------------------------------------------------------------

interface Constructed {
  resource: pulumi.Resource;
  type: string;
  name: string;
  parent: pulumi.Resource | undefined;
  opts: pulumi.CustomResourceOptions;
}

function whenKnown<T>(o: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => {
    o.apply((v) => {
      resolve(v);
      return v;
    });
  });
}

async function resolveOutputs(value: unknown): Promise<unknown> {
  if (pulumi.Output.isInstance(value)) {
    const secret = await pulumi.isSecret(value);
    const v = await whenKnown(value);
    return secret ? SECRET : resolveOutputs(v);
  }
  if (value instanceof Promise) return resolveOutputs(await value);
  if (Array.isArray(value)) return Promise.all(value.map(resolveOutputs));
  if (pulumi.Resource.isInstance(value)) return "[resource]";
  if (typeof value === "object" && value !== null) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) out[k] = await resolveOutputs((value as Record<string, unknown>)[k]);
    return out;
  }
  return value;
}

let queue: Promise<unknown> = Promise.resolve();

/**
 * The Pulumi SDK captures `new Error().stack` for every promise it makes (to report leaks):
 * most of a mock run's time at the default depth. A shallow stack while the program runs under
 * mocks (the full one with DSTACK_DEBUG=1) keeps a compile fast; restored afterwards.
 */
async function withShallowStacks<T>(fn: () => Promise<T>): Promise<T> {
  if (process.env.DSTACK_DEBUG === "1") return fn();
  const saved = Error.stackTraceLimit;
  Error.stackTraceLimit = 1;
  try {
    return await fn();
  } finally {
    Error.stackTraceLimit = saved;
  }
}

/** Runs `program(plan, opts)` under mocks and returns its resource graph. */
export function runUnderMocks(program: BackendProgram, plan: Plan, opts: EmitOptions = {}, mock: { existingImageTags?: string[] } = {}): Promise<ResourceGraph> {
  const run = queue.then(() => withShallowStacks(() => runOnce(program, plan, opts, mock)));
  queue = run.catch(() => undefined);
  return run;
}

async function runOnce(program: BackendProgram, plan: Plan, opts: EmitOptions, mock: { existingImageTags?: string[] }): Promise<ResourceGraph> {
  const ctx: MockContext = { region: plan.offer.region, zone: plan.offer.zone, existingImageTags: mock.existingImageTags };
  const registered = new Map<string, { custom: boolean; inputs: Record<string, unknown>; secret_inputs: string[]; read_id?: string }>();
  const lookups: GraphLookup[] = [];
  const missing: string[] = [];
  const record = (type: string, name: string, inputs: Record<string, unknown>, custom: boolean, id?: string) => {
    const secrets: string[] = [];
    const redacted = redactSecrets(inputs, "", secrets) as Record<string, unknown>;
    registered.set(`${type}::${name}`, { custom, inputs: redacted, secret_inputs: secrets.sort(), read_id: id || undefined });
  };
  await pulumi.runtime.setMocks(
    {
      newResource(args: pulumi.runtime.MockResourceArgs): pulumi.runtime.MockResourceResult {
        record(args.type, args.name, args.inputs as Record<string, unknown>, args.custom ?? true, args.id);
        const plain = unwrapSecrets(args.inputs) as Record<string, unknown>;
        const { id, state } = mockState(args.type, args.name, plain, ctx);
        // A read (`Resource.get`) returns the existing resource's id.
        return { id: args.id || id, state };
      },
      call(args: pulumi.runtime.MockCallArgs): pulumi.runtime.MockCallResult {
        const plain = unwrapSecrets(args.inputs) as Record<string, unknown>;
        const secrets: string[] = [];
        lookups.push({ token: args.token, args: redactSecrets(args.inputs, "", secrets) as Record<string, unknown> });
        const answer = mockCall(args.token, plain, ctx);
        if (answer === NOT_FOUND) throw new Error(`${args.token}: not found`);
        if (!answer) {
          missing.push(args.token);
          throw new Error(`the mock engine has no answer for ${args.token}`);
        }
        return answer;
      },
    },
    plan.project,
    plan.run_name,
    false,
  );

  const constructed: Constructed[] = [];
  let outputs: Record<string, unknown> = {};
  let failure: unknown;
  try {
    const raw = await pulumi.runtime.runInPulumiStack(async () => {
      pulumi.runtime.registerStackTransformation((args) => {
        constructed.push({ resource: args.resource, type: args.type, name: args.name, parent: args.opts.parent, opts: args.opts as pulumi.CustomResourceOptions });
        return undefined;
      });
      // An error thrown here would escape as an unhandled rejection of the Stack's initialization:
      // keep it and report it after the run.
      try {
        const out = await program(plan, opts);
        // Outputs only a provider computes are unknown under mocks: say so (instead of dropping them).
        return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, (pulumi.output(v as pulumi.Input<object | string | number | boolean | null>) as pulumi.Output<unknown>).apply((x: unknown) => (x === undefined ? UNKNOWN : x))]));
      } catch (e) {
        failure = e;
        return {};
      }
    });
    // Wait until every constructed resource is registered (some are created inside applies).
    let seen = -1;
    while (seen !== constructed.length) {
      seen = constructed.length;
      await Promise.all(constructed.map((c) => whenKnown(c.resource.urn)));
      await new Promise((r) => setImmediate(r));
    }
    outputs = (await resolveOutputs(raw ?? {})) as Record<string, unknown>;
  } catch (e) {
    failure ??= e;
  }
  if (missing.length) {
    throw new DstackError({
      code: "E3010",
      severity: "error",
      message: `the mock engine has no canned answer for ${[...new Set(missing)].join(", ")}`,
      hint: "add the lookup to mockCall in src/compiler/mock-engine.ts",
    });
  }
  if (failure) {
    const message = failure instanceof Error ? failure.message : String(failure);
    if (failure instanceof DstackError) throw failure;
    throw new DstackError({ code: "E3011", severity: "error", message: `the ${plan.backend} program failed under the mock engine: ${message}`, hint: "set DSTACK_DEBUG=1 for the stack trace" });
  }

  const names = new Map<pulumi.Resource, string>();
  for (const c of constructed) names.set(c.resource, c.name);
  const resources: GraphResource[] = [];
  for (const c of constructed) {
    const r = registered.get(`${c.type}::${c.name}`);
    if (!r) continue;
    const g: GraphResource = {
      type: c.type,
      name: c.name,
      parent: c.parent ? (names.get(c.parent) ?? null) : null,
      custom: r.custom,
      inputs: r.inputs,
      secret_inputs: r.secret_inputs,
    };
    const o: NonNullable<GraphResource["options"]> = {};
    if (c.opts.protect) o.protect = true;
    if (c.opts.retainOnDelete) o.retain_on_delete = true;
    if (r.read_id) o.read_id = r.read_id;
    if (Object.keys(o).length) g.options = o;
    resources.push(g);
  }
  return { backend: plan.backend, offer: offerJson(plan.offer), resources, lookups, outputs };
}

/** Finds resources of a type (tests, reviews). */
export function resourcesOfType(graph: ResourceGraph, type: string): GraphResource[] {
  return graph.resources.filter((r) => r.type === type);
}
