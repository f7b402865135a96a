/**
 * LocalContainer: the run's Docker container, as a Pulumi dynamic provider over the Docker
 * Engine API (dockerode).
 *
 * What it makes: a container on the host network running templates/local/start.sh, with
 * sshd on 127.0.0.1:<ssh_port> (key-only), the repo bind-mounted at /workflow, named volumes,
 * instance mounts, cpus/memory/shm_size limits and GPUs (DeviceRequests, only when asked and
 * the host has them). The provider generates the container's ed25519 host key at create time
 * and injects it (with authorized_keys, env, scripts, sshd_config) into /etc/dstack before
 * the first start, so the public host key is a stack output (`host_key`) that can be pinned
 * in known_hosts without reading the container's logs. The private host key is never stored
 * in state.
 *
 * The ssh port is chosen at create time (a port in 20000–31999 derived from the container name
 * when free, else another free one there, else any free loopback port), kept in state and kept
 * by in-place updates.
 *
 * Diff:
 * - replace (delete before replace: the container name is fixed): name, image, image_id,
 *   repo_dir, volumes, mounts, privileged, shm_size, gpus, labels (other than the two times).
 * - update in place: env, secret_env, setup, init, commands, shell, working_dir, start_script
 *   (files rewritten, container restarted: setup runs again only when it changed),
 *   ssh_public_key (authorized_keys rewritten), cpus, memory (`docker update`),
 *   run_type / keep_running, and drift: a dev-environment container found stopped by
 *   `refresh` is started again; a host key sshd refuses (see soundHostKey) is replaced
 *   (new key injected, container restarted, `host_key` output changed).
 * - `read` (refresh) reports the container's state, image and existence: a container removed
 *   by hand disappears from state, so the next `up` creates it again.
 *
 * Time rules: the provider writes /etc/dstack/limits.sh (the deadline as epoch seconds, the
 * inactivity rule, the stop grace) which the start script's watchdog reads on every tick, so
 * max_duration and inactivity_duration end the container with no dstack command running, and
 * an in-place update changes them without a restart. `stop_duration` is Docker's stop timeout.
 *
 * dstack.created-at / dstack.expires-at labels are set by the provider at create time
 * (now, now + max_duration), not taken from the plan's tags: the plan's times move with every
 * `up`, the container's must not (else every `up` would replace it).
 *
 * Where it runs: `containerProvider` is served by dstack's provider plugin
 * (pulumi-resource-dstack, ./plugin.ts, bundled into one file); the program declares the
 * resource with `LocalContainer` (./resources.ts). Modules are required inside the functions
 * (dockerode by name, so that the plugin's bundle holds it), and Pulumi is imported for its
 * types only. The host key comes from src/ssh/keygen's generateEd25519KeyPair (node:crypto
 * only; it replaced ssh2's generator, which wrote an invalid host key about once in 256).
 */
import type * as pulumi from "@pulumi/pulumi";
import { generateEd25519KeyPair } from "../../../ssh/keygen";

const TAR_STREAM = "tar-stream";

export interface ContainerMount {
  /** `volume`: a named Docker volume; `bind`: a host path. */
  type: "volume" | "bind";
  source: string;
  target: string;
  read_only?: boolean;
}

export interface LocalContainerInputs {
  /** Docker container name (`dstack-<run>`). */
  name: string;
  /** Image reference the container starts from. */
  image: string;
  /** Image id (sha256:…) of `image`: a rebuilt image replaces the container. */
  image_id: string;
  run_type: "dev-environment" | "task" | "service";
  /** Start the container again when refresh finds it stopped (dev environments). */
  keep_running: boolean;
  /** Host folder bind-mounted at /workflow. */
  repo_dir: string;
  working_dir: string;
  env: Record<string, string>;
  /** Secret env values (a Pulumi secret; also listed in additionalSecretOutputs). */
  secret_env: Record<string, string>;
  setup: string[];
  init: string[];
  commands: string[];
  shell: string;
  ssh_user: string;
  ssh_public_key: string;
  mounts: ContainerMount[];
  privileged: boolean;
  /** Cores, or null. */
  cpus: number | null;
  /** GB, or null. */
  memory: number | null;
  /** GB, or null. */
  shm_size: number | null;
  gpus: number;
  labels: Record<string, string>;
  /** Seconds; sets the dstack.expires-at label at create time, and the start script's deadline. */
  max_duration: number | null;
  /** Seconds without an SSH session after which the start script ends a dev environment (null: off). */
  inactivity_duration?: number | null;
  /** Seconds between SIGTERM and SIGKILL when the container is stopped (Docker's stop timeout). */
  stop_duration?: number | null;
  /** Contents of templates/local/start.sh. */
  start_script: string;
  /** The resource's URN, set by LocalContainer: the `dstack.urn` label (./urn.ts). */
  resource_urn?: string;
}

export interface LocalContainerOutputs extends LocalContainerInputs {
  container_id: string;
  ssh_port: number;
  /** The container's public host key (`ssh-ed25519 AAAA…`). */
  host_key: string;
  /** Docker's state (running, exited, …) when last created or read. */
  state: string;
  created_at: string;
  expires_at: string | null;
}

type DockerodeClass = typeof import("dockerode");

/** One file to copy into the container. */
interface InjectedFile {
  name: string;
  mode: number;
  content: string;
}

/** Files of /etc/dstack, from the inputs plus the port and host key (pure). */
function containerFiles(inp: LocalContainerInputs, sshPort: number, hostKey: { private: string; public: string } | null, expiresAt: string | null): InjectedFile[] {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded where used (see the header)
  const crypto = require("crypto") as typeof import("crypto");
  const q = (v: string) => `'${v.replace(/'/g, `'\\''`)}'`;
  const script = (lines: string[]) => (lines.length ? lines.join("\n") + "\n" : "");
  const setup = script(inp.setup);
  const setupHash = crypto.createHash("sha256").update(setup).digest("hex").slice(0, 16);
  const allEnv: Record<string, string> = { ...inp.env, ...inp.secret_env, DSTACK_WORKING_DIR: inp.working_dir };
  const keys = Object.keys(allEnv).filter((k) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(k)).sort();
  const envSh = keys.map((k) => `export ${k}=${q(allEnv[k])}`).join("\n") + "\n";
  const sshdConfig = [
    `Port ${sshPort}`,
    "ListenAddress 127.0.0.1",
    "HostKey /etc/dstack/ssh/ssh_host_ed25519_key",
    "AuthorizedKeysFile /etc/dstack/ssh/authorized_keys .ssh/authorized_keys",
    "PubkeyAuthentication yes",
    "PasswordAuthentication no",
    "KbdInteractiveAuthentication no",
    "PermitRootLogin prohibit-password",
    "UsePAM no",
    "StrictModes no",
    "PermitUserEnvironment no",
    "AllowTcpForwarding yes",
    "AllowAgentForwarding yes",
    "X11Forwarding no",
    "PrintMotd no",
    "PrintLastLog no",
    "ClientAliveInterval 30",
    "PidFile /run/dstack-sshd.pid",
    "Subsystem sftp internal-sftp",
    // every session: the run's env, the working directory (written by start.sh)
    "ForceCommand /etc/dstack/session.sh",
  ].join("\n") + "\n";
  const config = [
    `DSTACK_SSH_PORT=${sshPort}`,
    `DSTACK_WORKING_DIR=${q(inp.working_dir)}`,
    `DSTACK_SHELL=${q(inp.shell)}`,
    `DSTACK_RUN_TYPE=${q(inp.run_type)}`,
    `DSTACK_SETUP_HASH=${setupHash}`,
  ].join("\n") + "\n";
  // the time rules the start script's watchdog enforces (read again on every tick)
  const limits = [
    `DSTACK_EXPIRES_AT=${expiresAt ? Math.floor(Date.parse(expiresAt) / 1000) : ""}`,
    `DSTACK_INACTIVITY=${inp.run_type === "dev-environment" && inp.inactivity_duration != null ? inp.inactivity_duration : ""}`,
    `DSTACK_STOP_GRACE=${inp.stop_duration ?? 10}`,
  ].join("\n") + "\n";
  const files: InjectedFile[] = [
    { name: "etc/dstack/start.sh", mode: 0o755, content: inp.start_script },
    { name: "etc/dstack/config.sh", mode: 0o644, content: config },
    { name: "etc/dstack/limits.sh", mode: 0o644, content: limits },
    { name: "etc/dstack/env.sh", mode: 0o600, content: envSh },
    { name: "etc/dstack/sshd_config", mode: 0o600, content: sshdConfig },
    { name: "etc/dstack/setup.sh", mode: 0o644, content: setup },
    { name: "etc/dstack/init.sh", mode: 0o644, content: script(inp.init) },
    { name: "etc/dstack/commands.sh", mode: 0o644, content: script(inp.commands) },
    { name: "etc/dstack/ssh/authorized_keys", mode: 0o600, content: inp.ssh_public_key.trim() + "\n" },
  ];
  if (hostKey) {
    files.push({ name: "etc/dstack/ssh/ssh_host_ed25519_key", mode: 0o600, content: hostKey.private.trim() + "\n" });
    files.push({ name: "etc/dstack/ssh/ssh_host_ed25519_key.pub", mode: 0o644, content: hostKey.public.trim() + "\n" });
  }
  return files;
}

/** A tar archive (Buffer) of the files, with their parent folders. */
async function tarOf(tarStreamPath: string, files: InjectedFile[]): Promise<Buffer> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded where used (see the header)
  const tar = require(tarStreamPath) as typeof import("tar-stream");
  const pack = tar.pack();
  const dirs = new Set<string>();
  for (const f of files) {
    const parts = f.name.split("/").slice(0, -1);
    // parents below /etc only: /etc itself keeps its owner and mode
    for (let i = 2; i <= parts.length; i++) dirs.add(parts.slice(0, i).join("/"));
  }
  const mtime = new Date();
  for (const d of [...dirs].sort()) pack.entry({ name: d + "/", type: "directory", mode: d.endsWith("ssh") ? 0o700 : 0o755, mtime });
  for (const f of files) pack.entry({ name: f.name, mode: f.mode, mtime }, f.content);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack as unknown as AsyncIterable<Buffer>) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

/** True when nothing listens on 127.0.0.1:port (we could bind it). */
function portFree(port: number): Promise<boolean> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded where used (see the header)
  const net = require("net") as typeof import("net");
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once("error", () => resolve(false));
    srv.listen({ host: "127.0.0.1", port, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** Any free loopback port the kernel hands out. */
function anyFreePort(): Promise<number> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded where used (see the header)
  const net = require("net") as typeof import("net");
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen({ host: "127.0.0.1", port: 0 }, () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * The ssh port for a new container: one derived from its name (so a replaced container keeps
 * its port) unless taken by a listener or by another dstack container (running or not); else
 * any free port.
 */
async function chooseSshPort(docker: import("dockerode"), name: string): Promise<number> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded where used (see the header)
  const crypto = require("crypto") as typeof import("crypto");
  const taken = new Set<number>();
  for (const c of await docker.listContainers({ all: true, filters: { label: ["dstack.ssh-port"] } })) {
    const p = Number(c.Labels["dstack.ssh-port"]);
    if (Number.isInteger(p) && !(c.Names ?? []).includes(`/${name}`)) taken.add(p);
  }
  // 20000–31999: below Linux's ephemeral range (32768–60999), so that an outgoing connection
  // cannot hold the port while the container restarts (sshd binds it again on every start).
  const h = crypto.createHash("sha256").update(name).digest().readUInt32BE(0);
  for (let i = 0; i < 8; i++) {
    const p = 20000 + ((h + i * 7919) % 12000);
    if (!taken.has(p) && (await portFree(p))) return p;
  }
  for (let i = 0; i < 64; i++) {
    const p = 20000 + crypto.randomInt(12000);
    if (!taken.has(p) && (await portFree(p))) return p;
  }
  for (;;) {
    const p = await anyFreePort();
    if (!taken.has(p)) return p;
  }
}

/** Whether the host can give a container NVIDIA GPUs (a device node and the nvidia runtime or CDI). */
async function hostHasGpus(docker: import("dockerode")): Promise<boolean> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded where used (see the header)
  const fs = require("fs") as typeof import("fs");
  if (!fs.existsSync("/dev/nvidiactl") && !fs.existsSync("/dev/nvidia0")) return false;
  try {
    const info = (await docker.info()) as { Runtimes?: Record<string, unknown> };
    return Boolean(info.Runtimes && "nvidia" in info.Runtimes) || fs.existsSync("/etc/cdi") || fs.existsSync("/var/run/cdi");
  } catch {
    return false;
  }
}

function isNotFound(e: unknown): boolean {
  return (e as { statusCode?: number }).statusCode === 404;
}

/** docker run options (HostConfig etc.) from the inputs. */
function createOptions(inp: LocalContainerInputs, labels: Record<string, string>, gpus: boolean): import("dockerode").ContainerCreateOptions {
  const GB = 1024 * 1024 * 1024;
  const mounts = [
    { Type: "bind", Source: inp.repo_dir, Target: "/workflow", ReadOnly: false },
    ...inp.mounts.map((m) =>
      m.type === "volume"
        ? { Type: "volume", Source: m.source, Target: m.target, ReadOnly: Boolean(m.read_only) }
        : { Type: "bind", Source: m.source, Target: m.target, ReadOnly: Boolean(m.read_only) },
    ),
  ] as import("dockerode").MountSettings[];
  return {
    name: inp.name,
    Image: inp.image_id || inp.image,
    Entrypoint: ["/bin/sh", "/etc/dstack/start.sh"],
    Cmd: [],
    Labels: labels,
    Tty: false,
    OpenStdin: false,
    // `docker stop` (and dstack's graceful stop): SIGTERM, then SIGKILL once stop_duration has passed
    ...(inp.stop_duration != null ? { StopTimeout: inp.stop_duration } : {}),
    HostConfig: {
      NetworkMode: "host",
      Mounts: mounts,
      Privileged: inp.privileged,
      ...(inp.cpus != null ? { NanoCpus: Math.round(inp.cpus * 1e9) } : {}),
      ...(inp.memory != null ? { Memory: Math.round(inp.memory * GB) } : {}),
      ...(inp.shm_size != null ? { ShmSize: Math.round(inp.shm_size * GB) } : {}),
      ...(gpus ? { DeviceRequests: [{ Driver: "", Count: inp.gpus, Capabilities: [["gpu"]], DeviceIDs: [], Options: {} }] } : {}),
    },
  };
}

/** Labels the provider owns: the times, the ssh port and the resource's URN. */
const PROVIDER_LABELS = ["dstack.created-at", "dstack.expires-at", "dstack.ssh-port", "dstack.urn"];

function comparableLabels(labels: Record<string, string> | undefined): string {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels ?? {})) {
    if (!PROVIDER_LABELS.includes(k)) out[k] = v;
  }
  return JSON.stringify(Object.keys(out).sort().map((k) => [k, out[k]]));
}

/** Property names whose change replaces the container. */
const REPLACE_KEYS = ["name", "image", "image_id", "repo_dir", "mounts", "privileged", "shm_size", "gpus"];
/** Property names updated by rewriting /etc/dstack and restarting. */
const RESTART_KEYS = ["env", "secret_env", "setup", "init", "commands", "shell", "working_dir", "start_script", "run_type"];
/** Property names updated without a restart. */
const LIVE_KEYS = ["ssh_public_key", "ssh_user", "cpus", "memory", "keep_running", "max_duration", "inactivity_duration", "stop_duration"];

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

/**
 * Whether a host key line is a well-formed ssh-ed25519 key. ssh2's generator (used before
 * src/ssh/keygen.ts) wrote about one key in 256 with a 31-byte public key, which sshd refuses:
 * such a container is given a new host key by the next `up` (diff reports `host_key`).
 */
export function soundHostKey(line: string | undefined): boolean {
  const m = /^ssh-ed25519 ([A-Za-z0-9+/]+={0,2})(\s|$)/.exec(line ?? "");
  if (!m) return false;
  const blob = Buffer.from(m[1]!, "base64");
  return blob.length === 51 && blob.readUInt32BE(0) === 11 && blob.subarray(4, 15).toString() === "ssh-ed25519" && blob.readUInt32BE(15) === 32;
}

export const containerProvider: pulumi.dynamic.ResourceProvider<LocalContainerInputs, LocalContainerOutputs> = {
  async diff(_id: string, olds: LocalContainerOutputs, news: LocalContainerInputs): Promise<pulumi.dynamic.DiffResult> {
    const replaces = REPLACE_KEYS.filter((k) => !same(olds[k as keyof LocalContainerOutputs], news[k as keyof LocalContainerInputs]));
    if (comparableLabels(olds.labels) !== comparableLabels(news.labels)) replaces.push("labels");
    const updates = [...RESTART_KEYS, ...LIVE_KEYS].filter(
      (k) => !same(olds[k as keyof LocalContainerOutputs], news[k as keyof LocalContainerInputs]),
    );
    // Drift seen by refresh: a dev environment that should run but does not.
    if (news.keep_running && olds.state && olds.state !== "running") updates.push("state");
    if (olds.host_key !== undefined && !soundHostKey(olds.host_key)) updates.push("host_key");
    return { changes: replaces.length + updates.length > 0, replaces, deleteBeforeReplace: replaces.length > 0 };
  },

  async create(inputs: LocalContainerInputs): Promise<pulumi.dynamic.CreateResult<LocalContainerOutputs>> {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded where used (see the header)
    const Docker = require("dockerode") as DockerodeClass;
    const docker = new Docker();
    // A container left over by an interrupted run under the same name would block the create.
    try {
      const old = await docker.getContainer(inputs.name).inspect();
      if (old.Config.Labels?.["dstack.run"] === inputs.labels["dstack.run"]) await docker.getContainer(old.Id).remove({ force: true });
      else throw new Error(`a container named ${inputs.name} exists and is not this run's: remove it (docker rm -f ${inputs.name})`);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    const sshPort = await chooseSshPort(docker, inputs.name);
    const keys = generateEd25519KeyPair(`dstack-${inputs.name}`);
    const hostKey = { private: keys.privateKey, public: keys.publicKey };
    const now = new Date();
    const createdAt = now.toISOString();
    const expiresAt = inputs.max_duration != null ? new Date(now.getTime() + inputs.max_duration * 1000).toISOString() : null;
    const labels: Record<string, string> = {
      ...inputs.labels,
      "dstack.created-at": createdAt,
      "dstack.expires-at": expiresAt ?? "never",
      "dstack.ssh-port": String(sshPort),
      ...(inputs.resource_urn ? { "dstack.urn": inputs.resource_urn } : {}),
    };
    const gpus = inputs.gpus > 0 && (await hostHasGpus(docker));
    if (inputs.gpus > 0 && !gpus) throw new Error(`the run asks for ${inputs.gpus} GPU(s) but this host's Docker engine has none (no /dev/nvidia* with the nvidia runtime)`);
    const container = await docker.createContainer(createOptions(inputs, labels, gpus));
    try {
      await container.putArchive(await tarOf(TAR_STREAM, containerFiles(inputs, sshPort, hostKey, expiresAt)), { path: "/" });
      await container.start();
    } catch (e) {
      await container.remove({ force: true }).catch(() => undefined);
      throw e;
    }
    const info = await container.inspect();
    return {
      id: info.Id,
      outs: {
        ...inputs,
        labels,
        container_id: info.Id,
        ssh_port: sshPort,
        host_key: hostKey.public,
        state: info.State.Status,
        created_at: createdAt,
        expires_at: expiresAt,
      },
    };
  },

  async read(id: string, props?: LocalContainerOutputs): Promise<pulumi.dynamic.ReadResult<LocalContainerOutputs>> {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded where used (see the header)
    const Docker = require("dockerode") as DockerodeClass;
    const docker = new Docker();
    try {
      const info = await docker.getContainer(id).inspect();
      const base = (props ?? {}) as LocalContainerOutputs;
      return { id: info.Id, props: { ...base, container_id: info.Id, image_id: info.Image, state: info.State.Status } };
    } catch (e) {
      if (isNotFound(e)) return {};
      throw e;
    }
  },

  async update(id: string, olds: LocalContainerOutputs, news: LocalContainerInputs): Promise<pulumi.dynamic.UpdateResult<LocalContainerOutputs>> {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded where used (see the header)
    const Docker = require("dockerode") as DockerodeClass;
    const docker = new Docker();
    const container = docker.getContainer(id);
    try {
      await container.inspect();
    } catch (e) {
      if (!isNotFound(e)) throw e;
      throw new Error(`the container ${news.name} was removed outside dstack; refresh the stack (dstack up does when it sees this) and it is created again`, { cause: e });
    }
    const changed = (k: string) => !same(olds[k as keyof LocalContainerOutputs], news[k as keyof LocalContainerInputs]);
    const GB = 1024 * 1024 * 1024;
    if (changed("cpus") || changed("memory")) {
      const mem = news.memory != null ? Math.round(news.memory * GB) : 0;
      await container.update({ NanoCpus: news.cpus != null ? Math.round(news.cpus * 1e9) : 0, Memory: mem, MemorySwap: mem ? mem : -1 });
    }
    // a host key sshd refuses (see soundHostKey) is replaced; sshd reads it when it starts
    const keys = soundHostKey(olds.host_key) ? null : generateEd25519KeyPair(`dstack-${news.name}`);
    const hostKey = keys ? { private: keys.privateKey, public: keys.publicKey } : null;
    let expiresAt = olds.expires_at ?? null;
    if (changed("max_duration")) {
      expiresAt = news.max_duration != null ? new Date(Date.parse(olds.created_at) + news.max_duration * 1000).toISOString() : null;
    }
    await container.putArchive(await tarOf(TAR_STREAM, containerFiles(news, olds.ssh_port, hostKey, expiresAt)), { path: "/" });
    // A restart reruns start.sh (init, then sshd; a finished task runs its commands again).
    const restart = RESTART_KEYS.some(changed) || hostKey !== null;
    let state = (await container.inspect()).State.Status;
    if (restart) await container.restart({ t: 2 });
    else if (news.keep_running && state !== "running") await container.start();
    state = (await container.inspect()).State.Status;
    return {
      outs: {
        ...news,
        labels: { ...news.labels, ...Object.fromEntries(Object.entries(olds.labels ?? {}).filter(([k]) => PROVIDER_LABELS.includes(k))) },
        container_id: id,
        ssh_port: olds.ssh_port,
        host_key: hostKey?.public ?? olds.host_key,
        state,
        created_at: olds.created_at,
        expires_at: expiresAt,
      },
    };
  },

  async delete(id: string): Promise<void> {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded where used (see the header)
    const Docker = require("dockerode") as DockerodeClass;
    const docker = new Docker();
    try {
      await docker.getContainer(id).remove({ force: true });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  },
};
