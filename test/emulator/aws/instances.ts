/**
 * TEST ONLY — part of the emulated AWS (test/emulator/aws); the dstack CLI never ships it.
 *
 * An EC2 instance is a container on the local Docker engine (host networking; dockerd runs
 * with --bridge=none) with its own loopback address 127.0.0.N as its public IP:
 * - the image is the local base image (it stands in for the AMI), given by the test in
 *   DSTACK_AWS_EMULATOR_IMAGE;
 * - the program's REAL user data is run as cloud-init would: `ssh_authorized_keys`,
 *   `ssh_keys` (the host key), `write_files`, then `runcmd` (dstack's boot.sh). The files go
 *   to a host folder that stands in for the VM's / (DSTACK_ROOT, bind-mounted at the same
 *   path, so the bind mounts boot.sh gives `docker run` resolve on the host) and /opt/dstack is
 *   mounted there too;
 * - the host's Docker stands in for the VM's: its socket and CLI are mounted in;
 * - the VM's sshd listens on 127.0.0.N:22, and boot.sh gets DSTACK_LISTEN_ADDRESS so the run
 *   container's sshd listens on 127.0.0.N only (two instances share the host's ports);
 * - `shutdown -h +N` and `poweroff` are the instance's own: at the time, everything on the VM
 *   stops (the run container is removed, the VM container killed); the instance is then
 *   terminated, as with `instanceInitiatedShutdownBehavior: terminate`;
 * - images the VM pulls from Docker Hub's `dstackai/base` are the local base image (the
 *   emulator tags it under the requested name: no registry is reachable here);
 * - a reboot (`rebootInstance`, for tests): the run container stops (as the VM's Docker would
 *   leave it, before any restart policy) and the VM container restarts: sshd again, and
 *   cloud-init's per-boot scripts instead of runcmd.
 */
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as zlib from "zlib";
import { parse as parseYaml } from "yaml";
import { allocateIp, awsId, emulatorDir, readFaults, updateState, type AccountState, type EmulatedInstance } from "./state";
import { runInstancesError } from "./errors";

export const EMULATOR_LABEL = "ai.dstack.emulator";

function docker(args: string[], opts: { allowFail?: boolean } = {}): string {
  const r = spawnSync("docker", args, { encoding: "utf8", timeout: 120_000 });
  if (r.status !== 0 && !opts.allowFail) throw new Error(`docker ${args.join(" ")}: ${(r.stderr || r.stdout).trim()}`);
  return r.stdout.trim();
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The cloud-config text of an instance's user data (plain, or gzip in userDataBase64). */
export function userDataText(inputs: Record<string, unknown>): string {
  if (typeof inputs.userData === "string") return inputs.userData;
  if (typeof inputs.userDataBase64 === "string") {
    const raw = Buffer.from(inputs.userDataBase64, "base64");
    return raw[0] === 0x1f && raw[1] === 0x8b ? zlib.gunzipSync(raw).toString("utf8") : raw.toString("utf8");
  }
  return "";
}

interface CloudConfig {
  ssh_authorized_keys?: string[];
  ssh_keys?: Record<string, string>;
  write_files?: { path: string; content?: string; permissions?: string; encoding?: string }[];
  runcmd?: (string | string[])[];
}

/** cloud-init's part that the emulator honours, into the folder standing in for / . */
export function applyCloudConfig(text: string, root: string, extraKeys: string[]): { runcmd: string; runConf: Record<string, string> } {
  if (!text.startsWith("#cloud-config")) throw new Error("the emulated instance only boots #cloud-config user data");
  const cfg = (parseYaml(text) ?? {}) as CloudConfig;
  const keys = [...(cfg.ssh_authorized_keys ?? []), ...extraKeys];
  fs.mkdirSync(path.join(root, "root", ".ssh"), { recursive: true, mode: 0o700 });
  fs.writeFileSync(path.join(root, "root", ".ssh", "authorized_keys"), keys.map((k) => k.trim() + "\n").join(""), { mode: 0o600 });
  const hostKeys = path.join(root, "etc", "ssh");
  fs.mkdirSync(hostKeys, { recursive: true });
  for (const [k, v] of Object.entries(cfg.ssh_keys ?? {})) {
    const m = /^(rsa|ecdsa|ed25519)_(private|public)$/.exec(k);
    if (!m) continue;
    const file = path.join(hostKeys, `ssh_host_${m[1]}_key${m[2] === "public" ? ".pub" : ""}`);
    fs.writeFileSync(file, v.endsWith("\n") ? v : v + "\n", { mode: m[2] === "private" ? 0o600 : 0o644 });
  }
  for (const f of cfg.write_files ?? []) {
    const target = path.join(root, f.path);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    const content = f.encoding === "b64" || f.encoding === "base64" ? Buffer.from(f.content ?? "", "base64") : (f.content ?? "");
    fs.writeFileSync(target, content);
    fs.chmodSync(target, parseInt(f.permissions ?? "0644", 8));
  }
  const runcmd = (cfg.runcmd ?? []).map((c) => (Array.isArray(c) ? c.map((a) => shellQuote(String(a))).join(" ") : c)).join("\n");
  const runConf: Record<string, string> = {};
  const confFile = path.join(root, "opt", "dstack", "run.conf");
  if (fs.existsSync(confFile)) {
    for (const line of fs.readFileSync(confFile, "utf8").split("\n")) {
      const m = /^([A-Z_]+)='(.*)'$/.exec(line);
      if (m) runConf[m[1]] = m[2].replace(/'\\''/g, "'");
    }
  }
  return { runcmd, runConf };
}

/** The VM's init (PID 1 of the instance's container): sshd, the spot reclaim timer, cloud-init's runcmd. */
function initScript(ip: string, emu: string, runcmd: string, reclaimAfter: number | null): string {
  return [
    "#!/bin/bash",
    "# TEST ONLY: PID 1 of an emulated EC2 instance (test/emulator/aws/instances.ts).",
    "export PATH=/emu/bin:$PATH",
    "mkdir -p /run/sshd",
    `[ -e "$DSTACK_ROOT/etc/ssh/ssh_host_ed25519_key" ] || ssh-keygen -q -t ed25519 -N '' -f "$DSTACK_ROOT/etc/ssh/ssh_host_ed25519_key"`,
    `/usr/sbin/sshd -o ListenAddress=${ip} -o Port=22 -h "$DSTACK_ROOT/etc/ssh/ssh_host_ed25519_key" -o AuthorizedKeysFile="$DSTACK_ROOT/root/.ssh/authorized_keys" ` +
      `-o PasswordAuthentication=no -o PermitRootLogin=prohibit-password -o StrictModes=no || echo "emulator: the VM's sshd did not start"`,
    reclaimAfter !== null ? `( sleep ${reclaimAfter}; echo spot-interruption > ${shellQuote(path.join(emu, "terminated-by"))}; poweroff ) &` : "",
    // cloud-init: runcmd at the first boot; at every later boot (rebootInstance), the per-boot scripts
    `if [ -e ${shellQuote(path.join(emu, "booted"))} ]; then`,
    `  ( for f in "$DSTACK_ROOT"/var/lib/cloud/scripts/per-boot/*; do [ -x "$f" ] && "$f"; done ) >> "$DSTACK_ROOT/var/log/cloud-init-output.log" 2>&1 &`,
    "else",
    `  touch ${shellQuote(path.join(emu, "booted"))}`,
    `  ( ${runcmd.split("\n").filter(Boolean).join("; ") || ":"} ) > "$DSTACK_ROOT/var/log/cloud-init-output.log" 2>&1 &`,
    "fi",
    "trap 'exit 0' TERM",
    "while :; do sleep 3600 & wait $!; done",
    "",
  ].join("\n");
}

/**
 * An attached EBS volume's device on the VM: `/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_<id>`
 * under the VM's root, a file naming the Docker volume that holds the data (the stubs below
 * format and mount it).
 */
export function attachDevice(root: string, volumeId: string, dockerVolume: string): void {
  const dev = path.join(root, "dev", "disk", "by-id", `nvme-Amazon_Elastic_Block_Store_${volumeId.replace("-", "")}`);
  fs.mkdirSync(path.dirname(dev), { recursive: true });
  // (the stubs' mkfs never erases the Docker volume: data written on one instance is there on the next)
  fs.writeFileSync(dev, `${dockerVolume}\n`);
}

function stubScripts(emu: string): Record<string, string> {
  const by = shellQuote(path.join(emu, "terminated-by"));
  return {
    // An EBS device (attachDevice): blkid sees its filesystem once mkfs made one; mount makes the
    // mount point a link to the Docker volume's folder on the host (the run container's
    // `-v` bind mount, made by the host's Docker, follows it).
    blkid: ["#!/bin/bash", "# TEST ONLY: blkid of an emulated EBS device.", 'grep -qx ext4 "$1"', ""].join("\n"),
    "mkfs.ext4": ["#!/bin/bash", "# TEST ONLY: mkfs.ext4 of an emulated EBS device (its last argument).", 'dev="${@: -1}"', 'echo ext4 >> "$dev"', ""].join("\n"),
    mountpoint: ["#!/bin/bash", "# TEST ONLY: mountpoint -q DIR of an emulated EBS mount.", '[ -L "${@: -1}" ]', ""].join("\n"),
    mount: [
      "#!/bin/bash",
      "# TEST ONLY: mount DEV DIR of an emulated EBS device: DIR becomes a link to the Docker volume's folder.",
      'dev="$1"; dir="$2"',
      'name=$(head -n 1 "$dev")',
      'mp=$(docker volume inspect --format "{{.Mountpoint}}" "$name") || exit 32',
      'rmdir "$dir" 2>/dev/null; ln -sfn "$mp" "$dir"',
      "",
    ].join("\n"),
    poweroff: [
      "#!/bin/bash",
      "# TEST ONLY: poweroff of an emulated EC2 instance: everything on the VM stops with it.",
      `[ -e ${by} ] || echo instance-initiated-shutdown > ${by}`,
      `[ -n "\${RUN_CONTAINER:-}" ] && docker rm -f "$RUN_CONTAINER" >/dev/null 2>&1`,
      `docker kill "$VM_CONTAINER" >/dev/null 2>&1`,
      "",
    ].join("\n"),
    shutdown: [
      "#!/bin/bash",
      "# TEST ONLY: shutdown(8) of an emulated EC2 instance: `shutdown -h +N [message]` powers off in N minutes.",
      "m=0",
      'for a in "$@"; do case "$a" in +*) m="${a#+}";; now) m=0;; esac; done',
      `echo "shutdown in $m minute(s)" >> ${shellQuote(path.join(emu, "shutdown.log"))}`,
      '( sleep $((m * 60)); poweroff ) >/dev/null 2>&1 &',
      'echo "Shutdown scheduled in $m minute(s)"',
      "",
    ].join("\n"),
    // The VM's GPUs are not emulated: the GPU AMI's NVIDIA container toolkit is a no-op, and
    // `docker run --gpus …` runs without GPUs on the host's Docker (which has no NVIDIA runtime).
    "nvidia-ctk": ["#!/bin/sh", "# TEST ONLY: the GPU AMI's nvidia-ctk (no GPUs are emulated).", "exit 0", ""].join("\n"),
    docker: [
      "#!/bin/bash",
      "# TEST ONLY: the VM's docker (the host's Docker CLI and engine): --gpus is dropped, no GPUs are emulated.",
      "args=()",
      'skip=0; for a in "$@"; do if [ $skip = 1 ]; then skip=0; continue; fi; if [ "$a" = --gpus ]; then skip=1; continue; fi; args+=("$a"); done',
      'exec /usr/bin/docker "${args[@]}"',
      "",
    ].join("\n"),
  };
}

/** The instance's container name (unique per emulated instance on the shared Docker). */
function containerName(id: string): string {
  return `dstack-emu-${id}`;
}

/** Tags a missing `dstackai/base:*` image as the local base image (Docker Hub is not reachable here). */
function provideImage(image: string | undefined, baseImage: string): void {
  if (!image || !image.startsWith("dstackai/base:")) return;
  if (spawnSync("docker", ["image", "inspect", image]).status === 0) return;
  docker(["tag", baseImage, image]);
}

export interface CreateInstanceArgs {
  inputs: Record<string, unknown>;
  env?: NodeJS.ProcessEnv;
}

export async function createInstance({ inputs, env = process.env }: CreateInstanceArgs): Promise<{ id: string; outs: Record<string, unknown> }> {
  const instanceType = String(inputs.instanceType ?? "");
  const zone = String(inputs.availabilityZone ?? "us-east-1a");
  const faults = readFaults(env);
  if ((faults.insufficient_capacity ?? []).includes(instanceType)) throw runInstancesError("InsufficientInstanceCapacity", instanceType, zone);
  const code = faults.errors?.[instanceType];
  if (code) throw runInstancesError(code, instanceType, zone);
  const market0 = inputs.instanceMarketOptions as { marketType?: string } | undefined;
  if (faults.no_spot_capacity && market0?.marketType === "spot") throw runInstancesError("InsufficientInstanceCapacity", instanceType, zone);
  const baseImage = env.DSTACK_AWS_EMULATOR_IMAGE;
  if (!baseImage) throw new Error("DSTACK_AWS_EMULATOR_IMAGE is not set: the emulated AWS has no image standing in for the AMI");
  const market = inputs.instanceMarketOptions as { marketType?: string } | undefined;
  const spot = market?.marketType === "spot";
  const tags = (inputs.tags ?? {}) as Record<string, string>;
  const runName = tags["dstack:run"] ?? null;

  const id = awsId("i");
  const emu = path.join(emulatorDir(env), "instances", id);
  const root = path.join(emu, "root");
  fs.mkdirSync(path.join(root, "var", "log"), { recursive: true });
  fs.mkdirSync(path.join(emu, "bin"), { recursive: true });
  const keyName = typeof inputs.keyName === "string" ? inputs.keyName : null;
  const instance = await updateState((s: AccountState) => {
    const publicIp = allocateIp(s, usedIps());
    const keyPair = keyName ? s.keyPairs[keyName] : undefined;
    if (keyName && !keyPair) throw new Error(`creating EC2 Instance: operation error EC2: RunInstances, api error InvalidKeyPair.NotFound: The key pair '${keyName}' does not exist`);
    const rec: EmulatedInstance = { id, instanceType, zone, publicIp, spot, runName, root, container: containerName(id), runContainer: null, createdAt: new Date().toISOString() };
    s.instances[id] = rec;
    return { rec, extraKeys: keyPair ? [keyPair.publicKey] : [] };
  }, env);
  const { rec, extraKeys } = instance;
  try {
    const { runcmd, runConf } = applyCloudConfig(userDataText(inputs), root, extraKeys);
    rec.runContainer = runConf.RUN_NAME ? `dstack-run-${runConf.RUN_NAME}` : null;
    provideImage(runConf.IMAGE, baseImage);
    const reclaim = spot && faults.reclaim_spot_after_seconds ? faults.reclaim_spot_after_seconds : null;
    fs.writeFileSync(path.join(emu, "init.sh"), initScript(rec.publicIp, emu, runcmd, reclaim), { mode: 0o755 });
    for (const [name, text] of Object.entries(stubScripts(emu))) fs.writeFileSync(path.join(emu, "bin", name), text, { mode: 0o755 });
    const dockerCli = execFileSync("sh", ["-c", "command -v docker"], { encoding: "utf8" }).trim();
    fs.mkdirSync(path.join(root, "opt", "dstack"), { recursive: true });
    docker([
      "run", "--detach", "--name", rec.container, "--network", "host", "--hostname", `ip-${rec.publicIp.replace(/\./g, "-")}`,
      "--label", `${EMULATOR_LABEL}=aws`, "--label", `${EMULATOR_LABEL}.instance=${id}`, "--label", `${EMULATOR_LABEL}.ip=${rec.publicIp}`,
      "--label", `${EMULATOR_LABEL}.account=${emulatorDir(env)}`,
      "-v", `${emu}:${emu}`, "-v", `${path.join(root, "opt", "dstack")}:/opt/dstack`, "-v", `${path.join(emu, "bin")}:/emu/bin:ro`,
      "-v", "/var/run/docker.sock:/var/run/docker.sock", "-v", `${dockerCli}:/usr/bin/docker:ro`,
      "-e", `DSTACK_ROOT=${root}`, "-e", `DSTACK_LISTEN_ADDRESS=${rec.publicIp}`, "-e", `VM_CONTAINER=${rec.container}`,
      "-e", `RUN_CONTAINER=${rec.runContainer ?? ""}`,
      baseImage, "/bin/bash", path.join(emu, "init.sh"),
    ]);
    await updateState((s) => {
      s.instances[id] = rec;
    }, env);
  } catch (e) {
    await deleteInstance(id, env).catch(() => undefined);
    throw e;
  }
  return {
    id,
    outs: {
      ...inputs,
      id,
      arn: `arn:aws:ec2:${zone.replace(/[a-z]$/, "")}:123456789012:instance/${id}`,
      publicIp: rec.publicIp,
      privateIp: rec.publicIp,
      publicDns: "",
      instanceState: "running",
      primaryNetworkInterfaceId: awsId("eni"),
      spotInstanceRequestId: spot ? awsId("sir") : "",
      instanceLifecycle: spot ? "spot" : "",
    },
  };
}

/** Loopback addresses of every emulated instance on this Docker engine (other accounts too). */
function usedIps(): Set<string> {
  const out = docker(["ps", "-a", "--filter", `label=${EMULATOR_LABEL}=aws`, "--format", `{{.Label "${EMULATOR_LABEL}.ip"}}`], { allowFail: true });
  return new Set(out.split("\n").filter(Boolean));
}

/** running | terminated (with why) | missing. */
export function instanceState(id: string, env: NodeJS.ProcessEnv = process.env): { state: "running" | "terminated" | "missing"; reason: string | null } {
  const rec = (() => {
    try {
      return JSON.parse(fs.readFileSync(path.join(emulatorDir(env), "account.json"), "utf8")).instances?.[id] as EmulatedInstance | undefined;
    } catch {
      return undefined;
    }
  })();
  if (!rec) return { state: "missing", reason: null };
  const running = docker(["inspect", "--format", "{{.State.Running}}", rec.container], { allowFail: true });
  const byFile = path.join(emulatorDir(env), "instances", id, "terminated-by");
  const reason = fs.existsSync(byFile) ? fs.readFileSync(byFile, "utf8").trim() : null;
  return running === "true" ? { state: "running", reason: null } : { state: "terminated", reason: reason ?? "stopped" };
}

export async function deleteInstance(id: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const rec = await updateState((s) => {
    const r = s.instances[id];
    delete s.instances[id];
    return r;
  }, env);
  if (!rec) return;
  if (rec.runContainer) docker(["rm", "-f", rec.runContainer], { allowFail: true });
  docker(["rm", "-f", rec.container], { allowFail: true });
  fs.rmSync(path.join(emulatorDir(env), "instances", id), { recursive: true, force: true });
}

/**
 * Reboots an emulated instance (tests): its run container is killed (`docker kill` leaves it
 * stopped: no restart policy brings it back, the worst case of a reboot), and the VM's
 * container restarts, which runs its init again: sshd, then cloud-init's per-boot scripts.
 */
export function rebootInstance(id: string, env: NodeJS.ProcessEnv = process.env): void {
  const rec = (JSON.parse(fs.readFileSync(path.join(emulatorDir(env), "account.json"), "utf8")).instances?.[id] ?? null) as EmulatedInstance | null;
  if (!rec) throw new Error(`no emulated instance ${id}`);
  if (rec.runContainer) docker(["kill", rec.runContainer], { allowFail: true });
  docker(["restart", "--time", "1", rec.container]);
}
