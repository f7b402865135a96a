/**
 * Connecting to a kubernetes run: no address and no node port, only the API server's
 * port-forward to the pod's sshd (src/ssh/kube-forward.ts).
 * - The run's ssh config gets a `ProxyCommand` of dstack's (`dstack kube-proxy …`) that streams
 *   the forwarded port on its stdin and stdout; the host key stays pinned (HostKeyAlias), so
 *   `ssh <run>` works as on the other backends.
 * - `dstack up` waits for sshd and uploads the repo to /workflow through a loopback listener
 *   whose connections are port-forwarded, while the pod's status is read about once a second:
 *   a pod that cannot be scheduled, failed to start or ended stops the wait (E7010), a task that
 *   already finished with exit code 0 ends it.
 */
import * as path from "path";
import { DstackError, ExitCode } from "../diagnostics";
import { packageRoot } from "../paths";
import { writeRunSshConfig } from "../ssh/config";
import { kubeTargetOf, openKubeForward, type KubeTarget } from "../ssh/kube-forward";
import type { RunKey } from "../ssh/keys";
import { waitForSsh, type SshReady } from "../ssh/wait";
import { parseEndMarker } from "./observe";
import { podObservation, readKubePod } from "./kube-observe";
import { uploadRepo, type UploadResult } from "./upload";

/** POSIX shell single-quoting, with OpenSSH's `%` tokens escaped (a ProxyCommand is expanded, then run by the shell). */
function proxyArg(s: string): string {
  return `'${s.replace(/%/g, "%%").replace(/'/g, `'\\''`)}'`;
}

/** The ssh config's ProxyCommand for the run's pod: this dstack's `kube-proxy`. */
export function kubeProxyCommand(t: KubeTarget, node = process.execPath, dstack = path.join(packageRoot(), "bin", "dstack")): string {
  const args = ["kube-proxy", "--kubeconfig", t.kubeconfig, ...(t.context ? ["--context", t.context] : []), "--namespace", t.namespace, "--pod", t.pod, "--port", String(t.port)];
  return [node, dstack, ...args].map(proxyArg).join(" ");
}

export interface KubeConnection {
  sshConfig: string;
  host: string;
  port: number;
  user: string;
  ready: SshReady | null;
  upload: UploadResult | null;
}

export interface KubeConnectOptions {
  include?: boolean;
  wait?: boolean;
  timeoutMs?: number;
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
  repoDir?: string;
  onUpload?: (files: number, bytes: number) => void;
}

function targetOrThrow(outputs: Record<string, unknown>): KubeTarget {
  const t = kubeTargetOf(outputs);
  if (!t) throw new DstackError({ code: "E7011", severity: "error", message: "the kubernetes run's outputs do not name its pod (kube.pod)", hint: "this is a backend bug; `dstack down` and `dstack up` again" }, ExitCode.Provisioning);
  return t;
}

/** Writes the run's ssh config (ProxyCommand), waits for sshd through the port-forward and uploads the repo. */
export async function connectKubeRun(name: string, outputs: Record<string, unknown>, key: RunKey, o: KubeConnectOptions = {}): Promise<KubeConnection> {
  const t = targetOrThrow(outputs);
  const user = typeof outputs.ssh_user === "string" ? outputs.ssh_user : "root";
  const hostKey = typeof outputs.host_key === "string" ? outputs.host_key : null;
  const sshConfig = writeRunSshConfig(
    { run: name, hostName: t.pod, port: t.port, user, identityFile: key.privateKeyPath, proxyCommand: kubeProxyCommand(t) },
    hostKey,
    { include: o.include, env: o.env },
  );
  if (o.wait === false) return { sshConfig, host: t.pod, port: t.port, user, ready: null, upload: null };
  const forward = await openKubeForward(t);
  try {
    const ready = await waitForSsh({
      host: "127.0.0.1",
      port: forward.port,
      username: user,
      privateKey: key.privateKey,
      hostKey,
      timeoutMs: o.timeoutMs ?? 10 * 60_000,
      intervalMs: 1000,
      signal: o.signal,
      check: () => podCheck(name, t, outputs),
    });
    let upload: UploadResult | null = null;
    if (!ready.done && o.repoDir) {
      upload = await uploadRepo(o.repoDir, { ...outputs, ssh_host: "127.0.0.1", ssh_port: forward.port }, key, { env: o.env, onStart: o.onUpload });
    }
    return { sshConfig, host: t.pod, port: t.port, user, ready, upload };
  } finally {
    await forward.close();
  }
}

/** While sshd does not answer: whether the pod can still get there. */
async function podCheck(name: string, t: KubeTarget, outputs: Record<string, unknown>): Promise<{ error: DstackError } | { done: string } | null> {
  const read = await readKubePod(t);
  if ("unknown" in read) return null;
  const obs = podObservation(read.pod, parseEndMarker(read.logs), read.logs.includes("[dstack] commands"));
  const task = (outputs.dstack_run as { run_type?: string } | undefined)?.run_type === "task";
  if (obs.kind === "running" || obs.kind === "unknown" || obs.kind === "none") return null;
  if (obs.kind === "exited" && obs.ended?.by === "commands" && obs.ended.code === 0 && task) return { done: "the task finished (exit code 0)" };
  const why =
    obs.kind === "no_capacity"
      ? `the cluster cannot schedule the pod ${t.pod}: ${obs.why}`
      : obs.kind === "missing"
        ? `the pod ${t.pod} was deleted before sshd answered`
        : obs.ended?.by === "setup_failed"
          ? `the pod ${t.pod} could not start: ${obs.ended.message}`
          : `the pod ${t.pod} ended (exit code ${obs.exit_code ?? "?"}) before sshd answered${read.logs ? `\n${read.logs.trim().split("\n").slice(-10).join("\n")}` : ""}`;
  return {
    error: new DstackError(
      { code: "E7010", severity: "error", message: why, hint: `fix the cause above, then \`dstack up\` again (or \`dstack down ${name}\`); \`kubectl describe pod ${t.pod} -n ${t.namespace}\` tells more` },
      ExitCode.Provisioning,
    ),
  };
}
