/**
 * Boot of a cloud instance, rendered from templates/cloud-init*.{yaml,sh}: a `#cloud-config`
 * (or, for images without cloud-init such as GCP TPU VMs, a startup script) that writes the
 * run's files and runs boot.sh, which checks/installs Docker and the NVIDIA container toolkit,
 * mounts the volumes, logs in to the registry, pulls the image and starts it with host
 * networking and the run's env; the container's entry starts sshd (key-only), waits for the
 * code in /workflow, runs `setup` once, `init`, then the task's commands.
 *
 * Pure: the same inputs give the same text. Backends call it inside `pulumi.all(...).apply`
 * when some inputs (volume ids, registry credentials) are outputs.
 */
import * as fs from "fs";
import * as path from "path";
import { ConfigError, Diagnostic } from "../../../diagnostics";
import { packageRoot } from "../../../paths";
import type { Plan } from "../../plan";
import type { CloudBackend, CloudSettings } from "./settings";

export type Accelerator = "nvidia" | "amd" | "tpu" | "none";

export interface RegistryLogin {
  /** Registry host (`123.dkr.ecr.us-east-1.amazonaws.com`), or "" for Docker Hub. */
  server: string;
  username: string;
  /** Secret ("" when the instance logs in with its own identity: `via`). */
  password: string;
  /**
   * How the instance gets the password: `password` (default: the one above), or its own
   * identity: `aws` (`aws ecr get-login-password` with the instance profile), `gcp` (the VM's
   * service account token from the metadata server). No deployer token in the user data.
   */
  via?: "password" | "aws" | "gcp";
  /** The registry's region (`via: aws`). */
  region?: string;
}

export interface BootVolume {
  /** Device paths to try, in order (the first that appears is used). */
  devices: string[];
  /** Mount path inside the container (also under /dstack/volumes on the host). */
  path: string;
}

export interface BootSpec {
  plan: Plan;
  backend: CloudBackend;
  /** The image to pull and start (for prebuilt images, the pushed name). */
  image: string;
  registry: RegistryLogin | null;
  accelerator: Accelerator;
  volumes: BootVolume[];
  settings: CloudSettings;
  /** Wait for the NVIDIA driver before starting Docker (Azure NVadsA10 v5: the driver extension installs the GRID driver). */
  waitGpuDriver?: boolean;
  /** max_duration past 24 h on Azure: the VM deallocates itself at the deadline (its managed identity, a role on the VM). */
  azureDeallocate?: boolean;
}

/** The run's deadline in epoch seconds (max_duration from the run's creation), or "" without one. */
export function deadlineEpoch(plan: Plan): string {
  if (plan.max_duration == null || plan.expires_at == null) return "";
  return String(Math.ceil(Date.parse(plan.expires_at) / 1000));
}

const templateCache = new Map<string, string>();

/** A file of templates/, read once. */
export function template(name: string): string {
  let t = templateCache.get(name);
  if (t === undefined) {
    t = fs.readFileSync(path.join(packageRoot(), "templates", name), "utf8");
    templateCache.set(name, t);
  }
  return t;
}

/**
 * A shell script of templates/ as the instance gets it: its full-line comments dropped (they stay
 * in templates/, where the code is reviewed), which keeps the user data under EC2's 16 KB.
 */
export function script(name: string): string {
  const [shebang, ...rest] = template(name).split("\n");
  const body = rest.filter((l) => !/^\s*#/.test(l) || /^\s*# shellcheck /.test(l));
  return [shebang, `# dstack: templates/${name} (commented there)`, ...body].join("\n");
}

function fill(tpl: string, values: Record<string, string>): string {
  return tpl.replace(/\{\{([A-Z_]+)\}\}/g, (m, k: string) => {
    const v = values[k];
    if (v === undefined) throw new Error(`template placeholder ${m} has no value`);
    return v;
  });
}

/** POSIX shell single-quoting. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The registry host of an image reference (`ghcr.io/a/b:1` → `ghcr.io`; `ubuntu` → "" = Docker Hub). */
export function registryOfImage(ref: string): string {
  const first = ref.split("/")[0];
  if (ref.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost")) return first;
  return "";
}

const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Validates the env for Docker's --env-file (one line per variable). Throws E3005. */
export function checkEnv(env: Record<string, string>): void {
  const diags: Diagnostic[] = [];
  for (const [k, v] of Object.entries(env)) {
    if (!ENV_KEY.test(k))
      diags.push({ code: "E3005", severity: "error", message: `env name ${JSON.stringify(k)} is not a valid variable name`, hint: "use letters, digits and _ (not starting with a digit)" });
    else if (/[\r\n\0]/.test(v))
      diags.push({ code: "E3005", severity: "error", message: `env ${k} contains a line break, which a cloud instance's env file cannot carry`, hint: "put multi-line values in a file of the repo and read it at run time" });
  }
  if (diags.length) throw new ConfigError(diags);
}

/**
 * Whether the boot text carries a secret (a registry password, secret env, the host key), so the
 * user-data must be a Pulumi secret. `registry`: whether a registry password is in it.
 */
export function bootHasSecrets(plan: Plan, registry: boolean): boolean {
  return registry || plan.image.registry_auth !== null || plan.container.secret_env.length > 0 || plan.ssh.host_key !== null;
}

interface BootFile {
  path: string;
  mode: string;
  content: string;
}

/** One line per item, or an empty file. */
function lines(items: string[]): string {
  return items.length ? items.join("\n") + "\n" : "";
}

function commands(lines: string[]): string {
  return lines.length ? lines.join("\n") + "\n" : ":\n";
}

/** The files written at boot, in order. */
export function bootFiles(spec: BootSpec): BootFile[] {
  const { plan, settings } = spec;
  const c = plan.container;
  checkEnv(c.env);
  const conf: Record<string, string> = {
    RUN_NAME: plan.run_name,
    PROJECT: plan.project,
    BACKEND: spec.backend,
    IMAGE: spec.image,
    REGISTRY_SERVER: spec.registry?.server ?? "",
    REGISTRY_USERNAME: spec.registry?.username ?? "",
    REGISTRY_PASSWORD: spec.registry?.password ?? "",
    REGISTRY_VIA: spec.registry ? (spec.registry.via ?? "password") : "",
    REGISTRY_REGION: spec.registry?.region ?? "",
    ACCELERATOR: spec.accelerator,
    GPUS: String(c.gpus),
    SHM_SIZE: c.shm_size != null ? String(c.shm_size) : "",
    PRIVILEGED: String(c.privileged),
    WORKING_DIR: c.working_dir,
    CONTAINER_USER: c.user ?? "",
    SSH_PUBLIC_KEY: plan.ssh.public_key.trim(),
    // max_duration: the absolute deadline, re-armed from this file at every boot
    DEADLINE: deadlineEpoch(plan),
    AZURE_DEALLOCATE: String(spec.azureDeallocate === true),
    WAIT_GPU_DRIVER: String(spec.waitGpuDriver === true),
  };
  const containerConf: Record<string, string> = {
    RUN_NAME: plan.run_name,
    RUN_TYPE: plan.run_type,
    RUN_SHELL: c.shell,
    WORKING_DIR: c.working_dir,
    CONTAINER_SSH_PORT: String(settings.container_ssh_port),
    UPLOAD_TIMEOUT: String(settings.upload_timeout),
    DOCKER_IN_DOCKER: String(c.docker === true),
  };
  const assign = (o: Record<string, string>) => Object.entries(o).map(([k, v]) => `${k}=${shellQuote(v)}`).join("\n") + "\n";
  const envKeys = Object.keys(c.env).sort();
  return [
    { path: "/opt/dstack/run.conf", mode: "0600", content: assign(conf) },
    { path: "/opt/dstack/run.env", mode: "0600", content: lines(envKeys.map((k) => `${k}=${c.env[k]}`)) },
    { path: "/opt/dstack/volumes", mode: "0644", content: lines(spec.volumes.map((v) => `${v.devices.join(",")}|${v.path}`)) },
    {
      path: "/opt/dstack/instance-mounts",
      mode: "0644",
      content: lines(plan.instance_mounts.map((m) => `${m.instance_path}|${m.path}|${m.optional}`)),
    },
    { path: "/opt/dstack/boot.sh", mode: "0755", content: script("cloud-init-boot.sh") },
    // every later boot (cloud-init runs per-boot scripts at each boot; before runcmd on the first,
    // when there is no status yet): max_duration re-armed, the run's container started again
    { path: "/var/lib/cloud/scripts/per-boot/dstack-reboot.sh", mode: "0755", content: script("cloud-init-reboot.sh") },
    { path: "/opt/dstack/container/entry.sh", mode: "0755", content: script("cloud-init-entry.sh") },
    { path: "/opt/dstack/container/container.conf", mode: "0644", content: assign(containerConf) },
    { path: "/opt/dstack/container/authorized_keys", mode: "0644", content: plan.ssh.public_key.trim() + "\n" },
    // The run container's sshd host key (dstack pins its public part): readable by root only.
    ...(plan.ssh.host_key ? [{ path: "/opt/dstack/container/ssh_host_ed25519_key", mode: "0600", content: plan.ssh.host_key.private_key.trim() + "\n" }] : []),
    { path: "/opt/dstack/container/env.sh", mode: "0600", content: lines(envKeys.map((k) => `export ${k}=${shellQuote(c.env[k])}`)) },
    { path: "/opt/dstack/container/setup.sh", mode: "0644", content: commands(c.setup) },
    { path: "/opt/dstack/container/init.sh", mode: "0644", content: commands(c.init) },
    { path: "/opt/dstack/container/commands.sh", mode: "0644", content: commands(c.commands) },
  ];
}

function yamlBlock(content: string, indent: string): string {
  if (content === "") return '""';
  // A literal block with an explicit indentation indicator (leading spaces survive) and the
  // chomping that gives back the trailing line breaks exactly.
  const chomp = content.endsWith("\n\n") ? "+" : content.endsWith("\n") ? "" : "-";
  const body = content.endsWith("\n") ? content.slice(0, -1) : content;
  return `|2${chomp}\n` + body.split("\n").map((l) => (l.length ? `${indent}${l}` : "")).join("\n");
}

/** The `#cloud-config` user-data of the instance. */
export function renderCloudInit(spec: BootSpec): string {
  const files = bootFiles(spec)
    .map((f) => `  - path: ${f.path}\n    permissions: "${f.mode}"\n    owner: root:root\n    content: ${yamlBlock(f.content, "      ")}`)
    .join("\n");
  const hk = spec.plan.ssh.host_key;
  // cloud-init's `ssh_keys`: the VM's own sshd gets the same pinned host key.
  const sshKeys = hk
    ? `ssh_deletekeys: true\nssh_keys:\n  ed25519_private: ${yamlBlock(hk.private_key.trim() + "\n", "    ")}\n  ed25519_public: ${JSON.stringify(hk.public_key)}\n`
    : "";
  return fill(template("cloud-init.yaml"), {
    RUN_NAME: spec.plan.run_name,
    PROJECT: spec.plan.project,
    BACKEND: spec.backend,
    SSH_PUBLIC_KEY: JSON.stringify(spec.plan.ssh.public_key.trim()),
    SSH_HOST_KEYS: sshKeys,
    WRITE_FILES: files,
  });
}

/** A startup script doing what the cloud-config does, for images without cloud-init (GCP TPU VMs). */
export function renderStartupScript(spec: BootSpec): string {
  const files = bootFiles(spec)
    .map((f) => {
      const b64 = Buffer.from(f.content, "utf8").toString("base64");
      return `mkdir -p ${shellQuote(path.posix.dirname(f.path))}\necho ${b64} | base64 -d > ${shellQuote(f.path)}\nchmod ${f.mode} ${shellQuote(f.path)}`;
    })
    .join("\n");
  return fill(template("cloud-init-startup.sh"), {
    RUN_NAME: spec.plan.run_name,
    PROJECT: spec.plan.project,
    BACKEND: spec.backend,
    WRITE_FILES: files,
  });
}

/**
 * Reads the files back out of a rendered cloud-config (for tests, `dstack compile` reviews and
 * audits): path → content.
 */
export function cloudInitFiles(userData: string, parseYaml: (s: string) => unknown): Record<string, string> {
  const doc = parseYaml(userData) as { write_files?: { path: string; content: string }[] };
  const out: Record<string, string> = {};
  for (const f of doc.write_files ?? []) out[f.path] = f.content;
  return out;
}
