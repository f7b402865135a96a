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
import { CloudBackend, CloudSettings, minutesCeil } from "./settings";

export type Accelerator = "nvidia" | "tpu" | "none";

export interface RegistryLogin {
  /** Registry host (`123.dkr.ecr.us-east-1.amazonaws.com`), or "" for Docker Hub. */
  server: string;
  username: string;
  /** Secret. */
  password: string;
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

/** Whether the boot text carries a secret (registry password or secret env), so the user-data must be a Pulumi secret. */
export function bootHasSecrets(plan: Plan, registry: RegistryLogin | null | boolean): boolean {
  return Boolean(registry) || plan.image.registry_auth !== null || plan.container.secret_env.length > 0 || plan.ssh.host_key !== null;
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

function script(lines: string[]): string {
  return lines.length ? lines.join("\n") + "\n" : ":\n";
}

/** The files written at boot, in order. */
export function bootFiles(spec: BootSpec): BootFile[] {
  const { plan, settings } = spec;
  const c = plan.container;
  checkEnv(c.env);
  const maxMinutes = plan.max_duration != null ? minutesCeil(plan.max_duration) : 0;
  const conf: Record<string, string> = {
    RUN_NAME: plan.run_name,
    PROJECT: plan.project,
    BACKEND: spec.backend,
    IMAGE: spec.image,
    REGISTRY_SERVER: spec.registry?.server ?? "",
    REGISTRY_USERNAME: spec.registry?.username ?? "",
    REGISTRY_PASSWORD: spec.registry?.password ?? "",
    ACCELERATOR: spec.accelerator,
    GPUS: String(c.gpus),
    SHM_SIZE: c.shm_size != null ? String(c.shm_size) : "",
    PRIVILEGED: String(c.privileged),
    WORKING_DIR: c.working_dir,
    CONTAINER_USER: c.user ?? "",
    SSH_PUBLIC_KEY: plan.ssh.public_key.trim(),
    MAX_DURATION_MINUTES: String(maxMinutes),
  };
  const containerConf: Record<string, string> = {
    RUN_NAME: plan.run_name,
    RUN_TYPE: plan.run_type,
    RUN_SHELL: c.shell,
    WORKING_DIR: c.working_dir,
    CONTAINER_SSH_PORT: String(settings.container_ssh_port),
    UPLOAD_TIMEOUT: String(settings.upload_timeout),
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
    { path: "/opt/dstack/boot.sh", mode: "0755", content: template("cloud-init-boot.sh") },
    { path: "/opt/dstack/container/entry.sh", mode: "0755", content: template("cloud-init-entry.sh") },
    { path: "/opt/dstack/container/container.conf", mode: "0644", content: assign(containerConf) },
    { path: "/opt/dstack/container/authorized_keys", mode: "0644", content: plan.ssh.public_key.trim() + "\n" },
    // The run container's sshd host key (dstack pins its public part): readable by root only.
    ...(plan.ssh.host_key ? [{ path: "/opt/dstack/container/ssh_host_ed25519_key", mode: "0600", content: plan.ssh.host_key.private_key.trim() + "\n" }] : []),
    { path: "/opt/dstack/container/env.sh", mode: "0600", content: lines(envKeys.map((k) => `export ${k}=${shellQuote(c.env[k])}`)) },
    { path: "/opt/dstack/container/setup.sh", mode: "0644", content: script(c.setup) },
    { path: "/opt/dstack/container/init.sh", mode: "0644", content: script(c.init) },
    { path: "/opt/dstack/container/commands.sh", mode: "0644", content: script(c.commands) },
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
