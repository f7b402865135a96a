/**
 * Small, real inputs for the compiler tests: a RunSpec builder (every field dstack's defaults,
 * overridable), offers copied from rows of /work/shared/catalog/*.csv, and a fixed PlanContext.
 */
import { DevEnvironmentRunSpec, RunSpec, TaskRunSpec } from "../../src/config/runspec";
import type { Offer } from "../../src/offers/offer";
import { plan, Plan, PlanContext } from "../../src/compiler/plan";
import { commonRunFields, type CommonRunFields } from "../support/run-fields";

type Overrides = Partial<Omit<TaskRunSpec, "type">> & { type?: RunSpec["type"] };

export function runSpec(o: Overrides = {}): RunSpec {
  const base: CommonRunFields = {
    ...commonRunFields(),
    configuration_path: "/work/repo/.dstack.yml",
    repo_dir: "/work/repo",
    repo_id: "3f2a9c1d",
    name: "train-llm",
    python: "3.12",
    env: { HF_HOME: "/workflow/.hf" },
    spot_policy: "on-demand",
  };
  if (o.type === "dev-environment") {
    const { type: _t, commands: _c, nodes: _n, ...rest } = o;
    void _t; void _c; void _n;
    const spec: DevEnvironmentRunSpec = { ...base, ...rest, type: "dev-environment", ide: "vscode", version: null, inactivity_duration: null };
    return spec;
  }
  const { type: _t, ...rest } = o;
  void _t;
  const spec: TaskRunSpec = { ...base, commands: ["python train.py"], nodes: 1, ...rest, type: "task" };
  return spec;
}

function row(backend: string, region: string, zone: string | null, instance_type: string, price: number, spot: boolean, cpu: number, memory: number, gpu_count: number, gpu_name: string | null, gpu_memory: number | null, gpu_vendor: Offer["gpu_vendor"]): Offer {
  return { backend, region, zone, instance_type, price, spot, cpu, cpu_arch: "x86", memory, disk: null, gpu_count, gpu_name, gpu_memory, gpu_vendor, flags: [], provider_data: {} };
}

/** Rows of aws.csv, gcp.csv and azure.csv (instance_name,location,price,cpu,memory,gpu_count,gpu_name,gpu_memory,spot,…). */
export const OFFERS = {
  // g5.xlarge,us-east-1,1.006,4,16.0,1,A10G,24.0,False
  aws: row("aws", "us-east-1", null, "g5.xlarge", 1.006, false, 4, 16, 1, "A10G", 24, "nvidia"),
  // g5.xlarge,us-east-1,0.3837,4,16.0,1,A10G,24.0,True
  awsSpot: row("aws", "us-east-1", null, "g5.xlarge", 0.3837, true, 4, 16, 1, "A10G", 24, "nvidia"),
  // g5.12xlarge,us-east-1,5.672,48,192.0,4,A10G,24.0,False
  awsMulti: row("aws", "us-east-1", null, "g5.12xlarge", 5.672, false, 48, 192, 4, "A10G", 24, "nvidia"),
  // g2-standard-4,us-central1-a,0.70683,4,16.0,1,L4,24.0,False
  gcp: row("gcp", "us-central1", "us-central1-a", "g2-standard-4", 0.70683, false, 4, 16, 1, "L4", 24, "nvidia"),
  // g2-standard-4,us-central1-a,0.29598,4,16.0,1,L4,24.0,True
  gcpSpot: row("gcp", "us-central1", "us-central1-a", "g2-standard-4", 0.29598, true, 4, 16, 1, "L4", 24, "nvidia"),
  // n1-standard-4,us-central1-a,1.59,4,15.0,4,T4,16.0,False
  gcpMulti: row("gcp", "us-central1", "us-central1-a", "n1-standard-4", 1.59, false, 4, 15, 4, "T4", 16, "nvidia"),
  // v5litepod-1,us-central1,0.25717,24,48.0,1,v5litepod-1,16.0,True,,google
  gcpTpu: row("gcp", "us-central1", null, "v5litepod-1", 0.25717, true, 24, 48, 1, "v5litepod-1", 16, "google"),
  // Standard_NC4as_T4_v3,eastus,0.526,4,28.0,1,T4,16.0,False
  azure: row("azure", "eastus", null, "Standard_NC4as_T4_v3", 0.526, false, 4, 28, 1, "T4", 16, "nvidia"),
  // Standard_NC4as_T4_v3,eastus,0.204246,4,28.0,1,T4,16.0,True
  azureSpot: row("azure", "eastus", null, "Standard_NC4as_T4_v3", 0.204246, true, 4, 28, 1, "T4", 16, "nvidia"),
  // Standard_NC64as_T4_v3,eastus,4.352,64,440.0,4,T4,16.0,False
  azureMulti: row("azure", "eastus", null, "Standard_NC64as_T4_v3", 4.352, false, 64, 440, 4, "T4", 16, "nvidia"),
};

export const SSH_PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx0cUPhs9r0UJHo8hJBk5pq4WmrS5hUjU2dCyZbTbQX dstack-train-llm";

/** A fixed host key of an instance (a test key, generated once with ssh-keygen), for plans that pin one. */
export const SSH_HOST_KEY = {
  publicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIN6jaeaxsDPUvJK/KdFRSEVVyhgEZFXsk2cy2XERARQJ dstack-host:train-llm",
  privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\nQyNTUxOQAAACDeo2nmsbAz1LySvynRUUhFVcoYBGRV7JNnMtlxEQEUCQAAAJhUbeNVVG3j\nVQAAAAtzc2gtZWQyNTUxOQAAACDeo2nmsbAz1LySvynRUUhFVcoYBGRV7JNnMtlxEQEUCQ\nAAAEAhAohrrB5aK+FfTLr/hLKMbFu5ehjGN7Iw7v9ZASLgTd6jaeaxsDPUvJK/KdFRSEVV\nyhgEZFXsk2cy2XERARQJAAAAFWRzdGFjay1ob3N0OnRyYWluLWxsbQ==\n-----END OPENSSH PRIVATE KEY-----\n",
};

export const CONTEXT: PlanContext = {
  sshPublicKey: SSH_PUBLIC_KEY,
  owner: "alice",
  now: Date.UTC(2026, 11, 1, 9, 0, 0),
  baseImage: "dstackai/base:py3.12-0.7-cuda-12.1",
  project: "main",
};

export function planFor(spec: RunSpec, offer: Offer, ctx: PlanContext = CONTEXT): Plan {
  return plan(spec, offer, ctx);
}

/**
 * The settings a run's program gets for its volumes by name: each volume's id from its volume
 * stack (src/runs/volumes.ts), here a plausible id per cloud (runs never create volumes).
 */
export function volumeRefs(plan: Plan, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const id = (name: string): string => {
    if (plan.backend === "aws") return `vol-0${Buffer.from(name).toString("hex").padEnd(16, "0").slice(0, 16)}`;
    if (plan.backend === "gcp") return `projects/mock-project/zones/${plan.offer.zone ?? `${plan.offer.region}-a`}/disks/dstack-main-${name}`;
    return `/subscriptions/0/resourceGroups/dstack-main-${plan.offer.region}/providers/Microsoft.Compute/disks/dstack-main-${name}`;
  };
  const volumes: Record<string, { id: string; size: number }> = {};
  for (const v of plan.volumes) volumes[v.name] = { id: id(v.name), size: 100 };
  return { ...extra, volumes: { ...volumes, ...((extra.volumes as object) ?? {}) } };
}
