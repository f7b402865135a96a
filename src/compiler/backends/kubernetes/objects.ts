/**
 * The Kubernetes objects of a run, as plain manifests decided from the Plan (pure: no Pulumi, no
 * I/O), which backends/kubernetes.ts declares as resources:
 * - the run's Pod (`dstack-<run>-<content hash>`): the run's image; the plan's resources as requests and limits
 *   (GPUs as the `nvidia.com/gpu` / `amd.com/gpu` extended resources); `shm_size` as a
 *   memory-backed emptyDir on /dev/shm; `max_duration` as `activeDeadlineSeconds`, which the
 *   kubelet enforces with no dstack process running; pinned to the offer's node;
 * - Secrets: the env (`envFrom`), the files of the container's entry (sshd's pinned host key,
 *   the authorized key, setup/init/commands: templates/cloud-init-entry.sh, the same entry as on
 *   the clouds), and `registry_auth` as an image pull secret;
 * - a PersistentVolumeClaim per volume, named after the project and the volume, which outlives
 *   the run (the program retains it).
 * Every object carries the run's labels (`kubeLabels`).
 */
import { createHash } from "crypto";
import type { Plan } from "../../plan";
import { checkEnv, registryOfImage, shellQuote, template } from "../cloud/cloud-init";

/** Where the entry's files are mounted (copied to /dstack, which sshd's strict modes accept). */
export const FILES_MOUNT = "/dstack-files";
/** Seconds the entry waits for the repo's upload to /workflow before starting anyway. */
export const KUBE_UPLOAD_TIMEOUT = 600;
export const LABEL_PREFIX = "dstack.ai/";

/** A label value Kubernetes accepts (≤63 characters, alphanumerics with `-_.` inside) (pure). */
export function labelValue(v: string): string {
  const s = v.replace(/[^A-Za-z0-9_.-]/g, "_").slice(0, 63).replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, "");
  return s;
}

/** A label key: `dstack:run` → `dstack.ai/run`, other tags as they are when valid; null otherwise (pure). */
export function labelKey(k: string): string | null {
  if (k.startsWith("dstack:")) return LABEL_PREFIX + k.slice("dstack:".length);
  return /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/.test(k) ? k : null;
}

/** An ISO time as a label value: `2026-12-01T10:00:00.000Z` → `20261201T100000Z` (pure). */
export function timeLabel(iso: string): string {
  return iso === "never" ? "never" : iso.replace(/\.\d+Z$/, "Z").replace(/[-:]/g, "");
}

/** The labels of every object of the run: the plan's tags (run, project, owner, created, expiry) (pure). */
export function kubeLabels(plan: Plan): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(plan.tags)) {
    const key = labelKey(k);
    if (!key) continue;
    out[key] = labelValue(/^dstack:(created|expires)-at$/.test(k) ? timeLabel(v) : v);
  }
  return out;
}

/** A DNS-1123 object name from parts (≤63) (pure). */
export function objectName(parts: string[]): string {
  return parts.join("-").toLowerCase().replace(/[^a-z0-9-]/g, "-").replace(/-+/g, "-").slice(0, 63).replace(/^-+|-+$/g, "");
}

export interface KubeNames {
  pod: string;
  env: string;
  files: string;
  registry: string;
  /** Volume name → claim name. */
  claims: Record<string, string>;
}

/**
 * The objects' names. The pod's carries a hash of what it reads from its Secrets at start
 * (`contentHash`): a change of env, commands or keys gives a new pod (a running pod never rereads
 * them), and a new name lets the engine's server-side dry run of the replacement succeed (a
 * pod's spec cannot be changed in place).
 */
export function kubeNames(plan: Plan, sshPort: number): KubeNames {
  const base = `dstack-${plan.run_name}`;
  return {
    pod: `${base}-${contentHash(plan, sshPort).slice(0, 8)}`,
    env: `${base}-env`,
    files: `${base}-files`,
    registry: `${base}-registry`,
    claims: Object.fromEntries(plan.volumes.map((v) => [v.name, objectName(["dstack", plan.project, v.name])])),
  };
}

/** The entry's files (the Secret mounted at FILES_MOUNT): name → content (pure). */
export function entryFiles(plan: Plan, sshPort: number): Record<string, string> {
  const c = plan.container;
  checkEnv(c.env);
  const assign = (o: Record<string, string>) => Object.entries(o).map(([k, v]) => `${k}=${shellQuote(v)}`).join("\n") + "\n";
  const script = (lines: string[]) => (lines.length ? lines.join("\n") + "\n" : ":\n");
  const keys = Object.keys(c.env).sort();
  const files: Record<string, string> = {
    "entry.sh": template("cloud-init-entry.sh"),
    "container.conf": assign({
      RUN_NAME: plan.run_name,
      RUN_TYPE: plan.run_type,
      RUN_SHELL: c.shell,
      WORKING_DIR: c.working_dir,
      CONTAINER_SSH_PORT: String(sshPort),
      UPLOAD_TIMEOUT: String(KUBE_UPLOAD_TIMEOUT),
    }),
    authorized_keys: plan.ssh.public_key.trim() + "\n",
    "env.sh": keys.map((k) => `export ${k}=${shellQuote(c.env[k])}\n`).join(""),
    "setup.sh": script(c.setup),
    "init.sh": script(c.init),
    "commands.sh": script(c.commands),
  };
  if (plan.ssh.host_key) files.ssh_host_ed25519_key = plan.ssh.host_key.private_key.trim() + "\n";
  return files;
}

/** A hash of what the pod reads from its Secrets at start (pure). */
export function contentHash(plan: Plan, sshPort: number): string {
  return createHash("sha256").update(JSON.stringify({ env: plan.container.env, files: entryFiles(plan, sshPort) })).digest("hex").slice(0, 16);
}

/** The container's command: the entry's files copied to /dstack (sshd's strict modes refuse the Secret's world-writable folder), then the entry. */
export function entryCommand(): string[] {
  return [
    "/bin/sh",
    "-c",
    `set -e; mkdir -p /dstack; chmod 755 /dstack; for f in ${FILES_MOUNT}/*; do cat "$f" > "/dstack/\${f##*/}"; done; ` +
      `chmod 600 /dstack/ssh_host_ed25519_key 2>/dev/null || true; exec /bin/sh /dstack/entry.sh`,
  ];
}

/** `.dockerconfigjson` of the image's registry login (pure). */
export function dockerConfigJson(plan: Plan): string | null {
  const auth = plan.image.registry_auth;
  if (!auth) return null;
  const server = registryOfImage(plan.image.ref) || "https://index.docker.io/v1/";
  const token = Buffer.from(`${auth.username}:${auth.password}`).toString("base64");
  return JSON.stringify({ auths: { [server]: { username: auth.username, password: auth.password, auth: token } } });
}

const gb = (n: number) => `${Math.round(n * 1024)}Mi`;

/** The container's requests and limits (pure). */
export function podResources(plan: Plan): { requests: Record<string, string>; limits: Record<string, string> } {
  const c = plan.container;
  const requests: Record<string, string> = {};
  const limits: Record<string, string> = {};
  const cpuReq = c.requests?.cpu ?? null;
  const memReq = c.requests?.memory ?? null;
  if (cpuReq !== null) requests.cpu = String(c.cpus !== null ? Math.min(cpuReq, c.cpus) : cpuReq);
  if (memReq !== null) requests.memory = gb(c.memory !== null ? Math.min(memReq, c.memory) : memReq);
  if (c.cpus !== null) limits.cpu = String(c.cpus);
  if (c.memory !== null) limits.memory = gb(c.memory);
  // the GPUs the run asks for (a node's offer counts all of its GPUs)
  const gpus = c.requests?.gpus ?? c.gpus;
  if (gpus > 0) {
    const resource = plan.offer.gpu_vendor === "amd" ? "amd.com/gpu" : "nvidia.com/gpu";
    requests[resource] = limits[resource] = String(gpus);
  }
  return { requests, limits };
}

/** The Pod's spec (pure); `image` is the image to start. */
export function podSpec(plan: Plan, names: KubeNames, sshPort: number): Record<string, unknown> {
  const c = plan.container;
  const mounts: Record<string, unknown>[] = [{ name: "dstack-files", mountPath: FILES_MOUNT, readOnly: true }];
  const volumes: Record<string, unknown>[] = [{ name: "dstack-files", secret: { secretName: names.files, defaultMode: 0o644 } }];
  if (c.shm_size !== null) {
    mounts.push({ name: "shm", mountPath: "/dev/shm" });
    volumes.push({ name: "shm", emptyDir: { medium: "Memory", sizeLimit: gb(c.shm_size) } });
  }
  plan.volumes.forEach((v, i) => {
    mounts.push({ name: `volume-${i}`, mountPath: v.path });
    volumes.push({ name: `volume-${i}`, persistentVolumeClaim: { claimName: names.claims[v.name] } });
  });
  plan.instance_mounts.forEach((m, i) => {
    mounts.push({ name: `instance-${i}`, mountPath: m.path });
    volumes.push({ name: `instance-${i}`, hostPath: { path: m.instance_path, type: m.optional ? "DirectoryOrCreate" : "Directory" } });
  });
  const spec: Record<string, unknown> = {
    restartPolicy: "Never",
    // the offer is a node: the run goes there or nowhere (unschedulable = no capacity)
    affinity: {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchFields: [{ key: "metadata.name", operator: "In", values: [plan.offer.instance_type] }] }],
        },
      },
    },
    enableServiceLinks: false,
    automountServiceAccountToken: false,
    containers: [
      {
        name: "run",
        image: plan.image.ref,
        imagePullPolicy: "IfNotPresent",
        command: entryCommand(),
        envFrom: [{ secretRef: { name: names.env } }],
        ports: [{ name: "ssh", containerPort: sshPort, protocol: "TCP" }],
        resources: podResources(plan),
        securityContext: c.privileged ? { privileged: true } : undefined,
        volumeMounts: mounts,
      },
    ],
    volumes,
  };
  if (plan.max_duration !== null) spec.activeDeadlineSeconds = plan.max_duration;
  if (plan.stop_duration != null) spec.terminationGracePeriodSeconds = plan.stop_duration;
  if (plan.image.registry_auth) spec.imagePullSecrets = [{ name: names.registry }];
  return spec;
}
