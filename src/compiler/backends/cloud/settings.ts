/**
 * Settings of the cloud backends, read from the backend config (`EmitOptions.settings`): which
 * addresses may reach SSH, which network to use, existing volumes, the shared per-project
 * resources. Validated here so that a bad value is an E3xxx diagnostic, not a cloud API error.
 * Where they come from: a backend's entry in DSTACK_HOME/config.yml (`backendSettings` in
 * src/offers/backends-config.ts, the one reader of that file).
 */
import { ConfigError, Diagnostic } from "../../../diagnostics";

export type CloudBackend = "aws" | "gcp" | "azure";

export interface CloudVolumeSettings {
  /** Size of a volume `dstack up` creates for a run by name (its own volume stack: src/runs/volumes.ts), GB (default 100). */
  size: number;
  /** The cloud volume (EBS `vol-…`, GCP disk id, Azure disk resource id) the run attaches: its volume stack's (set by src/runs), or one config.yml registers. */
  id: string | null;
}

export interface CloudSettings {
  /** CIDRs allowed to reach SSH (and exposed ports). Default: `["0.0.0.0/0"]`. */
  ssh_ingress_cidrs: string[];
  /** Also open the run's `ports` from `ssh_ingress_cidrs` (default false: reach them via SSH forwarding). */
  expose_ports: boolean;
  /** `default`: the default VPC / network; `project`: one created per project by the run's stack. */
  network: "default" | "project";
  /** Per-volume settings by volume name. */
  volumes: Record<string, CloudVolumeSettings>;
  /** Accepted and ignored on clouds: a run creates no volume (volumes are their own stacks, deleted by `dstack volume delete`). */
  delete_volumes: boolean;
  /** Override of the OS image lookup (AMI id, GCP image self-link / `project/family`, Azure `publisher:offer:sku:version`). */
  os_image: string | null;
  /** Seconds the container waits for the code upload to /workflow before it starts anyway. */
  upload_timeout: number;
  /** GCP project id (default: the provider's `gcp:project`). */
  gcp_project: string | null;
  /** Azure resource group of the shared per-project resources (registry, volumes). Default `dstack-<project>-<region>`. */
  azure_project_resource_group: string | null;
  /** Port of the run container's sshd on the instance (host networking). */
  container_ssh_port: number;
  /** Build and push the prebuilt image even when the registry has its tag (`dstack up --build`). */
  force_build: boolean;
}

export const DEFAULT_CLOUD_SETTINGS: CloudSettings = {
  ssh_ingress_cidrs: ["0.0.0.0/0"],
  expose_ports: false,
  network: "default",
  volumes: {},
  delete_volumes: false,
  os_image: null,
  upload_timeout: 600,
  gcp_project: null,
  azure_project_resource_group: null,
  container_ssh_port: 10022,
  force_build: false,
};

const CIDR4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}\/(3[0-2]|[12]?\d)$/;
const CIDR6 = /^[0-9a-fA-F:]+\/(12[0-8]|1[01]\d|[1-9]?\d)$/;

export function isCidr(s: string): boolean {
  return CIDR4.test(s) || (s.includes(":") && CIDR6.test(s));
}

function err(code: string, message: string, hint: string): Diagnostic {
  return { code, severity: "error", message, hint };
}

/** A program only compiles offers of its own backend (E3007). */
export function assertBackend(expected: CloudBackend, actual: string): void {
  if (actual !== expected)
    throw new ConfigError({
      code: "E3007",
      severity: "error",
      message: `the ${expected} program got an offer of backend ${JSON.stringify(actual)}`,
      hint: `compile the plan with the ${actual} program (loadBackend(plan.backend))`,
    });
}

/** Validates and completes the backend settings; throws ConfigError (E3001–E3004) on bad values. */
export function parseCloudSettings(raw: Record<string, unknown> | undefined): CloudSettings {
  const s: CloudSettings = { ...DEFAULT_CLOUD_SETTINGS, volumes: {} };
  if (!raw) return s;
  const diags: Diagnostic[] = [];
  if (raw.ssh_ingress_cidrs !== undefined) {
    const v = raw.ssh_ingress_cidrs;
    if (!Array.isArray(v) || v.length === 0 || v.some((c) => typeof c !== "string" || !isCidr(c))) {
      diags.push(
        err(
          "E3001",
          `ssh_ingress_cidrs must be a non-empty list of CIDR blocks, got ${JSON.stringify(v)}`,
          'write e.g. ssh_ingress_cidrs: ["203.0.113.0/24"] (use 0.0.0.0/0 to allow any address)',
        ),
      );
    } else s.ssh_ingress_cidrs = v as string[];
  }
  if (raw.expose_ports !== undefined) s.expose_ports = raw.expose_ports === true;
  if (raw.network !== undefined) {
    if (raw.network !== "default" && raw.network !== "project")
      diags.push(err("E3002", `network must be "default" or "project", got ${JSON.stringify(raw.network)}`, 'use network: default (the default VPC) or network: project'));
    else s.network = raw.network;
  }
  if (raw.volumes !== undefined) {
    const v = raw.volumes;
    if (typeof v !== "object" || v === null || Array.isArray(v)) {
      diags.push(err("E3003", "volumes must map volume names to { size, id }", "write volumes: { data: { size: 200 } }"));
    } else {
      for (const [name, cfg] of Object.entries(v as Record<string, unknown>)) {
        const c = (cfg ?? {}) as Record<string, unknown>;
        const size = c.size === undefined ? 100 : c.size;
        if (typeof size !== "number" || !Number.isInteger(size) || size < 1 || size > 65536) {
          diags.push(err("E3003", `volume ${name}: size must be a whole number of GB between 1 and 65536, got ${JSON.stringify(c.size)}`, "write e.g. size: 200"));
          continue;
        }
        if (c.id !== undefined && (typeof c.id !== "string" || c.id === "")) {
          diags.push(err("E3003", `volume ${name}: id must be the cloud volume's id, got ${JSON.stringify(c.id)}`, "write e.g. id: vol-0123456789abcdef0"));
          continue;
        }
        s.volumes[name] = { size, id: (c.id as string | undefined) ?? null };
      }
    }
  }
  if (raw.delete_volumes !== undefined) s.delete_volumes = raw.delete_volumes === true;
  if (raw.force_build !== undefined) s.force_build = raw.force_build === true;
  if (typeof raw.os_image === "string" && raw.os_image) s.os_image = raw.os_image;
  if (raw.upload_timeout !== undefined) {
    if (typeof raw.upload_timeout !== "number" || raw.upload_timeout < 0)
      diags.push(err("E3004", `upload_timeout must be a number of seconds ≥ 0, got ${JSON.stringify(raw.upload_timeout)}`, "write e.g. upload_timeout: 600"));
    else s.upload_timeout = raw.upload_timeout;
  }
  if (typeof raw.gcp_project === "string" && raw.gcp_project) s.gcp_project = raw.gcp_project;
  if (typeof raw.azure_project_resource_group === "string" && raw.azure_project_resource_group)
    s.azure_project_resource_group = raw.azure_project_resource_group;
  if (raw.container_ssh_port !== undefined) {
    const p = raw.container_ssh_port;
    if (typeof p !== "number" || !Number.isInteger(p) || p < 1 || p > 65535 || p === 22)
      diags.push(err("E3004", `container_ssh_port must be a port number other than 22, got ${JSON.stringify(p)}`, "write e.g. container_ssh_port: 10022"));
    else s.container_ssh_port = p;
  }
  if (diags.length) throw new ConfigError(diags);
  return s;
}

export function volumeSettings(s: CloudSettings, name: string): CloudVolumeSettings {
  return s.volumes[name] ?? { size: 100, id: null };
}

/** Ports to open from `ssh_ingress_cidrs`: the host's sshd, the container's sshd, and the run's ports when exposed. */
export function ingressPorts(s: CloudSettings, runPorts: { container_port: number }[]): number[] {
  const ports = new Set<number>([22, s.container_ssh_port]);
  if (s.expose_ports) for (const p of runPorts) ports.add(p.container_port);
  return [...ports].sort((a, b) => a - b);
}

/** A name safe for every cloud (lowercase letters, digits, hyphens; starts with a letter), at most `max` chars. */
export function cloudName(parts: string[], max = 63): string {
  let s = parts
    .join("-")
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/-+/g, "-")
    .replace(/^-|-$/g, "");
  if (!/^[a-z]/.test(s)) s = `d-${s}`;
  return s.slice(0, max).replace(/-$/, "");
}
