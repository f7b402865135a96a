/**
 * Runs the rendered boot script (templates/cloud-init-boot.sh) for real, unprivileged: a temporary
 * folder stands in for / (DSTACK_ROOT) and stubs stand in for docker, systemctl, shutdown, mount,
 * mkfs — each records how it was called. Proves what the instance does at boot: the timed
 * shutdown, key-only sshd, the volume formatted and mounted, the registry login with the password
 * on stdin, the pull, and the container started with host networking, the run's env and mounts.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { bootFiles, registryOfImage } from "../../src/compiler/backends/cloud/cloud-init";
import { DEFAULT_CLOUD_SETTINGS } from "../../src/compiler/backends/cloud/settings";
import { OFFERS, planFor, runSpec, SSH_PUBLIC_KEY } from "./fixtures";

const STUB = `#!/bin/bash
name=$(basename "$0")
if [ "$name" = docker ] && [ "$1" = login ]; then echo "stdin=$(cat)" >> "$DSTACK_ROOT/calls.log"; fi
echo "$name $*" >> "$DSTACK_ROOT/calls.log"
case "$name" in blkid|mountpoint) exit 1;; esac
# a fresh VM: no image yet; the registry refuses the first login (a retry must send the password again)
if [ "$name" = docker ] && [ "$1" = image ]; then exit 1; fi
if [ "$name" = docker ] && [ "$1" = login ] && [ ! -e "$DSTACK_ROOT/login-failed-once" ]; then touch "$DSTACK_ROOT/login-failed-once"; exit 1; fi
# the instance's identity: a token from the metadata server (Azure IMDS / GCP), the VM's id, the ECR password
if [ "$name" = curl ]; then case "$*" in *oauth2/token*|*service-accounts/default/token*) echo '{"access_token":"instance-token","expires_in":3599}';; *compute/resourceId*) echo "/subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/virtualMachines/vm";; esac; fi
if [ "$name" = aws ]; then echo "ecr-password-from-instance-profile"; fi
# the VM's clock: DSTACK_TEST_NOW (epoch seconds)
if [ "$name" = date ]; then echo "$DSTACK_TEST_NOW"; fi
# \`docker inspect -f {{.State.Running}}\` of the run's container after a reboot: DSTACK_TEST_RUNNING
if [ "$name" = docker ] && [ "$1" = inspect ]; then echo "\${DSTACK_TEST_RUNNING:-false}"; fi
exit 0
`;

let root: string;
let bin: string;
beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "dstack-boot-root-"));
  bin = fs.mkdtempSync(path.join(os.tmpdir(), "dstack-boot-bin-"));
  for (const name of ["docker", "systemctl", "systemd-run", "shutdown", "blkid", "mkfs.ext4", "mount", "mountpoint", "nvidia-ctk", "date", "curl", "aws", "start-dockerd"]) {
    fs.writeFileSync(path.join(bin, name), STUB, { mode: 0o755 });
  }
});
afterAll(() => {
  fs.rmSync(root, { recursive: true, force: true });
  fs.rmSync(bin, { recursive: true, force: true });
});

test("boot.sh starts the image with host networking, the env, the volume and the registry login", () => {
  const spec = runSpec({
    image: "ghcr.io/acme/trainer:2.1",
    registry_auth: { username: "acme-bot", password: "hunter2-registry-password" },
    max_duration: 7230,
    volumes: [{ kind: "volume", name: ["my-data"], path: "/data" }, { kind: "instance", instance_path: "/mnt/cache", path: "/cache", optional: true }],
  });
  const plan = planFor(spec, OFFERS.gcp);
  const auth = plan.image.registry_auth as { username: string; password: string };
  const files = bootFiles({
    plan,
    backend: "gcp",
    image: plan.image.ref,
    registry: { server: registryOfImage(plan.image.ref), ...auth },
    accelerator: "nvidia",
    volumes: [{ devices: ["/dev/disk/by-id/google-dstack-vol-0"], path: "/data" }],
    settings: DEFAULT_CLOUD_SETTINGS,
  });
  for (const f of files) {
    fs.mkdirSync(path.join(root, path.dirname(f.path)), { recursive: true });
    fs.writeFileSync(path.join(root, f.path), f.content, { mode: parseInt(f.mode, 8) });
  }
  fs.mkdirSync(path.join(root, "dev/disk/by-id"), { recursive: true });
  fs.writeFileSync(path.join(root, "dev/disk/by-id/google-dstack-vol-0"), "");
  fs.mkdirSync(path.join(root, "var/log"), { recursive: true });

  // the VM boots 10 s after the run was created: 7220 s left, armed as 121 minutes
  const created = Math.floor(Date.parse(plan.created_at) / 1000);
  execFileSync("bash", [path.join(root, "opt/dstack/boot.sh")], { env: { ...process.env, DSTACK_ROOT: root, PATH: `${bin}:${process.env.PATH}`, DSTACK_TEST_NOW: String(created + 10) }, stdio: "pipe" });

  const calls = fs.readFileSync(path.join(root, "calls.log"), "utf8").trim().split("\n");
  const R = root;
  expect(calls).toEqual([
    "date +%s",
    'shutdown -h +121 dstack: max_duration of run train-llm reached',
    "systemctl reload ssh",
    `blkid ${R}/dev/disk/by-id/google-dstack-vol-0`,
    `mkfs.ext4 -q -L dstack ${R}/dev/disk/by-id/google-dstack-vol-0`,
    `mountpoint -q ${R}/dstack/volumes/data`,
    `mount ${R}/dev/disk/by-id/google-dstack-vol-0 ${R}/dstack/volumes/data`,
    // the first login fails; its retry sends the password again (not an empty stdin)
    "stdin=hunter2-registry-password",
    "docker login --username acme-bot --password-stdin ghcr.io",
    "stdin=hunter2-registry-password",
    "docker login --username acme-bot --password-stdin ghcr.io",
    "docker image inspect ghcr.io/acme/trainer:2.1",
    "docker pull ghcr.io/acme/trainer:2.1",
    "docker rm -f dstack-run-train-llm",
    [
      // a crash or a reboot restarts the run's container (an ended run exits 0 and stays ended)
      "docker run --name dstack-run-train-llm --detach --restart on-failure --network host",
      `--env-file ${R}/opt/dstack/run.env --entrypoint /bin/sh -v ${R}/workflow:/workflow -v ${R}/opt/dstack/container:/dstack:ro -w /workflow`,
      "--gpus all --ipc host",
      `-v ${R}/dstack/volumes/data:/data`,
      // the entry script replaces the image's ENTRYPOINT
      "ghcr.io/acme/trainer:2.1 /dstack/entry.sh",
    ].join(" "),
  ]);
  // The optional instance mount is skipped when the host path is absent.
  expect(calls.join("\n")).not.toContain("/cache");
  expect(fs.readFileSync(path.join(root, "opt/dstack/status"), "utf8")).toBe("running\n");
  expect(fs.readFileSync(path.join(root, "root/.ssh/authorized_keys"), "utf8")).toBe(`${SSH_PUBLIC_KEY}\n`);
  expect(fs.readFileSync(path.join(root, "etc/ssh/sshd_config.d/00-dstack.conf"), "utf8")).toContain("PasswordAuthentication no");
  expect(fs.readFileSync(path.join(root, "etc/fstab"), "utf8")).toBe(`${R}/dev/disk/by-id/google-dstack-vol-0 /dstack/volumes/data ext4 defaults,nofail 0 2\n`);
  const env = fs.readFileSync(path.join(root, "opt/dstack/run.env"), "utf8");
  for (const k of ["DSTACK_RUN_NAME=train-llm", "DSTACK_REPO_ID=3f2a9c1d", "DSTACK_GPUS_NUM=1"]) expect(env.split("\n")).toContain(k);

  // A reboot 1 h later (cloud-init's per-boot script): max_duration re-armed from the deadline on
  // disk (7230 - 3610 s left: 61 minutes), the run's container started again; nothing else redone.
  fs.rmSync(path.join(root, "calls.log"));
  const reboot = (now: number, running = "false") =>
    execFileSync("sh", [path.join(root, "var/lib/cloud/scripts/per-boot/dstack-reboot.sh")], {
      env: { ...process.env, DSTACK_ROOT: root, PATH: `${bin}:${process.env.PATH}`, DSTACK_TEST_NOW: String(now), DSTACK_TEST_RUNNING: running },
      stdio: "pipe",
    });
  // (the per-boot script names /opt/dstack on the instance: here it runs the stand-in's boot.sh)
  const perBoot = path.join(root, "var/lib/cloud/scripts/per-boot/dstack-reboot.sh");
  fs.writeFileSync(perBoot, fs.readFileSync(perBoot, "utf8").replace(/\/opt\/dstack/g, `${root}/opt/dstack`));
  reboot(created + 3610);
  expect(fs.readFileSync(path.join(root, "calls.log"), "utf8").trim().split("\n")).toEqual([
    "date +%s",
    "shutdown -h +61 dstack: max_duration of run train-llm reached",
    "docker container inspect dstack-run-train-llm",
    "docker inspect -f {{.State.Running}} dstack-run-train-llm",
    "docker start dstack-run-train-llm",
  ]);
  // Docker's restart policy was first: nothing to start. Past the deadline: the VM stops at once.
  fs.rmSync(path.join(root, "calls.log"));
  reboot(created + 7300, "true");
  expect(fs.readFileSync(path.join(root, "calls.log"), "utf8").trim().split("\n")).toEqual([
    "date +%s",
    "shutdown -h now dstack: max_duration of run train-llm reached",
    "docker container inspect dstack-run-train-llm",
    "docker inspect -f {{.State.Running}} dstack-run-train-llm",
  ]);
  // A run that ended stays ended.
  fs.rmSync(path.join(root, "calls.log"));
  fs.writeFileSync(path.join(root, "workflow/.dstack-ended"), "[dstack] ended: commands exit 0\n");
  reboot(created + 3610);
  expect(fs.readFileSync(path.join(root, "calls.log"), "utf8")).not.toContain("docker start");
  expect(fs.readFileSync(path.join(root, "opt/dstack/status"), "utf8")).toBe("ended\n");
});

test("entry.sh: sshd key-only on the container port, then setup once, init, the commands and their exit code", () => {
  const croot = fs.mkdtempSync(path.join(os.tmpdir(), "dstack-entry-root-"));
  try {
    const spec = runSpec({ setup: ["echo setup >> order.log"], init: ["echo init >> order.log"], commands: ["echo run >> order.log", "exit 3"] });
    const plan = planFor(spec, OFFERS.aws);
    const files = bootFiles({ plan, backend: "aws", image: "x", registry: null, accelerator: "nvidia", volumes: [], settings: { ...DEFAULT_CLOUD_SETTINGS, upload_timeout: 4 } });
    for (const f of files.filter((x) => x.path.startsWith("/opt/dstack/container/"))) {
      const target = path.join(croot, "dstack", path.basename(f.path));
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, f.content);
    }
    fs.mkdirSync(path.join(croot, "workflow"), { recursive: true });
    fs.writeFileSync(path.join(croot, "workflow", ".dstack-uploaded"), "");
    for (const name of ["sshd", "ssh-keygen"]) fs.writeFileSync(path.join(bin, name), STUB, { mode: 0o755 });
    // The container's WORKING_DIR is /workflow: the stand-in root holds it.
    const run = () => {
      try {
        execFileSync("sh", [path.join(croot, "dstack", "entry.sh")], { env: { ...process.env, DSTACK_ROOT: croot, PATH: `${bin}:${process.env.PATH}` }, stdio: "pipe" });
        return 0;
      } catch (e) {
        return (e as { status: number }).status;
      }
    };
    // The container exits 0 (its restart policy restarts only a crash or a reboot); the task's code is in its end.
    expect(run()).toBe(0);
    expect(fs.readFileSync(path.join(croot, "workflow", ".dstack-ended"), "utf8")).toBe("[dstack] ended: commands exit 3\n");
    expect(fs.readFileSync(path.join(croot, "workflow", ".dstack-exit-code"), "utf8")).toBe("3\n");
    // A restart of an ended task (Docker after a reboot) runs nothing again: it says its end, exits 0.
    expect(run()).toBe(0);
    expect(fs.readFileSync(path.join(croot, "workflow", "order.log"), "utf8")).toBe("setup\ninit\nrun\n");
    // A crash before the end (no end marker): setup is not repeated, init and the commands are.
    fs.rmSync(path.join(croot, "workflow", ".dstack-ended"));
    expect(run()).toBe(0);
    expect(fs.readFileSync(path.join(croot, "workflow", "order.log"), "utf8")).toBe("setup\ninit\nrun\ninit\nrun\n");
    const calls = fs.readFileSync(path.join(croot, "calls.log"), "utf8");
    expect(calls).toContain(
      "sshd -p 10022 -o PasswordAuthentication=no -o KbdInteractiveAuthentication=no -o PermitRootLogin=prohibit-password -o AuthorizedKeysFile=/dstack/authorized_keys -o PermitUserEnvironment=no",
    );
    expect(fs.readFileSync(path.join(croot, "etc/profile.d/dstack-env.sh"), "utf8")).toContain("export DSTACK_RUN_NAME='train-llm'");
  } finally {
    fs.rmSync(croot, { recursive: true, force: true });
  }
});

/** Writes a plan's boot files under a fresh stand-in root and runs boot.sh (args) there; returns the calls. */
function boot(spec: Parameters<typeof bootFiles>[0], args: string[] = [], now = Math.floor(Date.parse(spec.plan.created_at) / 1000) + 10): string[] {
  const r = fs.mkdtempSync(path.join(os.tmpdir(), "dstack-boot-root-"));
  try {
    for (const f of bootFiles(spec)) {
      fs.mkdirSync(path.join(r, path.dirname(f.path)), { recursive: true });
      fs.writeFileSync(path.join(r, f.path), f.content, { mode: parseInt(f.mode, 8) });
    }
    fs.mkdirSync(path.join(r, "var/log"), { recursive: true });
    execFileSync("bash", [path.join(r, "opt/dstack/boot.sh"), ...args], { env: { ...process.env, DSTACK_ROOT: r, PATH: `${bin}:${process.env.PATH}`, DSTACK_TEST_NOW: String(now) }, stdio: "pipe" });
    return fs.readFileSync(path.join(r, "calls.log"), "utf8").trim().split("\n");
  } finally {
    fs.rmSync(r, { recursive: true, force: true });
  }
}

describe("boot.sh: the instance's own identity, AMD GPUs, Azure's deallocation", () => {
  const base = (offer = OFFERS.aws, o: Parameters<typeof runSpec>[0] = {}) => {
    const plan = planFor(runSpec(o), offer);
    return { plan, backend: "aws" as const, image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/dstack-main-prebuilt:abc", registry: null, accelerator: "nvidia" as const, volumes: [], settings: DEFAULT_CLOUD_SETTINGS };
  };
  test("aws: docker login with the instance profile's ECR password (none in the user data)", () => {
    const calls = boot({ ...base(), registry: { server: "123456789012.dkr.ecr.us-east-1.amazonaws.com", username: "AWS", password: "", via: "aws", region: "us-east-1" } });
    expect(calls).toContain("aws ecr get-login-password --region us-east-1");
    expect(calls).toContain("stdin=ecr-password-from-instance-profile");
    expect(calls).toContain("docker login --username AWS --password-stdin 123456789012.dkr.ecr.us-east-1.amazonaws.com");
  });
  test("gcp: docker login with the VM's service account token from the metadata server", () => {
    const calls = boot({ ...base(OFFERS.gcp), backend: "gcp", registry: { server: "us-central1-docker.pkg.dev", username: "oauth2accesstoken", password: "", via: "gcp" } });
    expect(calls).toContain("curl -sf -H Metadata-Flavor: Google http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token");
    expect(calls).toContain("stdin=instance-token");
  });
  test("amd: /dev/kfd and /dev/dri (ROCm), no --gpus", () => {
    const mi300x = { ...OFFERS.azure, instance_type: "Standard_ND96isr_MI300X_v5", gpu_count: 8, gpu_name: "MI300X", gpu_vendor: "amd" as const };
    const run = boot({ ...base(mi300x), backend: "azure", accelerator: "amd" }).find((c) => c.startsWith("docker run")) as string;
    expect(run).toContain("--device /dev/kfd --device /dev/dri --group-add video --security-opt seccomp=unconfined");
    expect(run).not.toContain("--gpus");
  });
  test("azure past 24 h: a timer at the deadline deallocates the VM through ARM; the OS shutdown 10 minutes later only backs it up", () => {
    const spec = { ...base(OFFERS.azure, { max_duration: 3 * 24 * 3600 }), backend: "azure" as const, azureDeallocate: true };
    const calls = boot(spec);
    expect(calls).toContain(`systemd-run --unit dstack-deadline --on-active=${3 * 24 * 3600 - 10}s /bin/bash /opt/dstack/boot.sh expire`);
    expect(calls).toContain(`shutdown -h +${3 * 24 * 60 + 10} dstack: max_duration of run train-llm reached`);
    const expire = boot(spec, ["expire"]);
    expect(expire).toContain("curl -sf -X POST -H Authorization: Bearer instance-token -H Content-Length: 0 https://management.azure.com/subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/virtualMachines/vm/deallocate?api-version=2024-07-01");
    // deallocated: no OS shutdown (it would leave the VM stopped, not deallocated, should it come first)
    expect(expire.some((c) => c.startsWith("shutdown"))).toBe(false);
  });
});

test("entry.sh with docker: true starts the image's Docker daemon (start-dockerd) before setup", () => {
  const croot = fs.mkdtempSync(path.join(os.tmpdir(), "dstack-entry-root-"));
  try {
    const plan = planFor(runSpec({ docker: true, python: null, privileged: true, setup: ["echo setup >> order.log"], commands: ["echo run >> order.log"] }), OFFERS.aws);
    for (const f of bootFiles({ plan, backend: "aws", image: "dstackai/dind", registry: null, accelerator: "nvidia", volumes: [], settings: { ...DEFAULT_CLOUD_SETTINGS, upload_timeout: 4 } }).filter((x) => x.path.startsWith("/opt/dstack/container/"))) {
      fs.mkdirSync(path.join(croot, "dstack"), { recursive: true });
      fs.writeFileSync(path.join(croot, "dstack", path.basename(f.path)), f.content);
    }
    fs.mkdirSync(path.join(croot, "workflow"), { recursive: true });
    fs.writeFileSync(path.join(croot, "workflow", ".dstack-uploaded"), "");
    for (const name of ["sshd", "ssh-keygen"]) fs.writeFileSync(path.join(bin, name), STUB, { mode: 0o755 });
    // `docker info` fails until start-dockerd has run (the stub records the call)
    fs.writeFileSync(path.join(bin, "docker"), `#!/bin/bash\necho "docker $*" >> "$DSTACK_ROOT/calls.log"\n[ "$1" = info ] && ! grep -q start-dockerd "$DSTACK_ROOT/calls.log" && exit 1\nexit 0\n`, { mode: 0o755 });
    execFileSync("sh", [path.join(croot, "dstack", "entry.sh")], { env: { ...process.env, DSTACK_ROOT: croot, PATH: `${bin}:${process.env.PATH}` }, stdio: "pipe" });
    const calls = fs.readFileSync(path.join(croot, "calls.log"), "utf8").split("\n").filter((l) => /docker|start-dockerd/.test(l));
    expect(calls.slice(0, 3)).toEqual(["docker info", "start-dockerd ", "docker info"]);
    expect(fs.readFileSync(path.join(croot, "workflow", "order.log"), "utf8")).toBe("setup\nrun\n");
  } finally {
    fs.writeFileSync(path.join(bin, "docker"), STUB, { mode: 0o755 });
    fs.rmSync(croot, { recursive: true, force: true });
  }
});
