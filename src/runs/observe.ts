/**
 * What the reconciler observes of a run's instance, as an `Observation` (reconcile-decision.ts).
 *
 * Local backend, through the Docker Engine API only (no exec into the container):
 * - running: `docker top` counts open SSH sessions (sshd's per-connection processes, titled
 *   `sshd: user@tty`, or `sshd-session: …` from OpenSSH 9.8), and the mtime of
 *   /etc/dstack/activity (touched by the start script's watchdog while a session is open) says
 *   when one was last seen — so the inactivity clock survives a restart of any dstack process;
 * - exited: the start script's last log line says why (`[dstack] ended: commands exit N`,
 *   `max_duration`, `inactivity`, `signal`), or its error line (`[dstack] error: …`: setup,
 *   init or sshd failed); no such line, or `signal`, means it was stopped or killed from
 *   outside: an interruption;
 * - missing: the container is gone (removed from outside).
 * Cloud backends: over SSH to the VM's own sshd (observeCloudInstance below).
 */
import type Docker from "dockerode";
import { DstackError } from "../diagnostics";
import { demuxLogs, dockerClient } from "../stacks/docker";
import type { InstanceEnd, Observation } from "./reconcile-decision";
import { sshExec } from "../ssh/upload";
import { cloudTarget, isCloudOutputs } from "./cloud-target";
import { podObservation, readKubePod } from "./kube-observe";
import { kubeTargetOf } from "../ssh/kube-forward";

/** The end marker in the start script's log (pure): what ended the container, or null. */
export function parseEndMarker(logs: string): InstanceEnd | { by: "signal" } | null {
  const lines = logs.trimEnd().split("\n");
  // the start script failed before the commands (setup, init, sshd): its error line
  const error = /\[dstack\] error: (.*)/.exec(logs)?.[1];
  if (error !== undefined && !logs.includes("[dstack] ended: ")) return { by: "setup_failed", message: error };
  for (let i = lines.length - 1; i >= 0 && i >= lines.length - 5; i--) {
    const m = /^\[dstack\] ended: (?:commands exit (\d+)|(max_duration|inactivity|signal))\s*$/.exec(lines[i]!.trim());
    if (!m) continue;
    if (m[1] !== undefined) return { by: "commands", code: Number(m[1]) };
    return { by: m[2] as "max_duration" | "inactivity" | "signal" };
  }
  return null;
}

/** Open SSH sessions among `docker top`'s command lines (pure). */
export function countSessions(commands: string[]): number {
  return commands.filter((c) => /^sshd(-session)?: \S+@\S+/.test(c.trim())).length;
}

export interface ObserveOptions {
  /** Count sessions (only runs with an inactivity rule need it: one more API call). */
  sessions?: boolean;
  env?: NodeJS.ProcessEnv;
}

/** Observes a run's instance from its stack outputs (null outputs: none expected). */
export async function observeInstance(outputs: Record<string, unknown> | null, o: ObserveOptions = {}): Promise<Observation> {
  const id = typeof outputs?.instance_id === "string" && outputs.instance_id ? outputs.instance_id : null;
  if (!id) return { kind: "none" };
  const backend = outputs?.backend ?? (outputs?.dstack_run as { backend?: string } | undefined)?.backend;
  // a cloud VM: over SSH to its own sshd (src/runs/cloud-observe.ts)
  if (outputs && isCloudOutputs(outputs)) return observeCloudInstance(outputs, { env: o.env });
  if (backend === "kubernetes") return observeKubeInstance(outputs);
  if (backend !== "local") return { kind: "unknown", why: `instances of the ${String(backend)} backend are not observed here` };
  let docker: Docker;
  try {
    docker = await dockerClient(o.env);
  } catch (e) {
    if (e instanceof DstackError) return { kind: "unknown", why: e.diagnostics[0]?.message ?? e.message };
    throw e;
  }
  return observeContainer(docker, id, o);
}

export async function observeContainer(docker: Docker, id: string, o: ObserveOptions = {}): Promise<Observation> {
  const c = docker.getContainer(id);
  let info: Docker.ContainerInspectInfo;
  try {
    info = await c.inspect();
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode === 404) return { kind: "missing" };
    return { kind: "unknown", why: (e as Error).message };
  }
  if (info.State.Running || info.State.Restarting) {
    if (!o.sessions) return { kind: "running", sessions: null, last_activity: null };
    const [sessions, lastActivity] = await Promise.all([
      c.top({ ps_args: "-eo args" }).then(
        (t: { Processes?: string[][] }) => countSessions((t.Processes ?? []).map((p) => p[p.length - 1] ?? "")),
        () => null,
      ),
      activityTime(c),
    ]);
    return { kind: "running", sessions, last_activity: lastActivity };
  }
  const raw = (await c.logs({ stdout: true, stderr: true, tail: 40, follow: false }).catch(() => Buffer.alloc(0))) as unknown as Buffer;
  const marker = parseEndMarker(demuxLogs(Buffer.isBuffer(raw) ? raw : Buffer.from(String(raw))));
  const ended = marker === null || marker.by === "signal" ? null : marker;
  return { kind: "exited", ended, exit_code: info.State.ExitCode ?? null };
}

/** The mtime (ms) of the container's /etc/dstack/activity, or null (HEAD /containers/{id}/archive). */
async function activityTime(c: Docker.Container): Promise<number | null> {
  try {
    // a HEAD answered as a stream: the stat is in its headers, the body is empty
    const res = (await c.infoArchive({ path: "/etc/dstack/activity" })) as unknown as { headers?: Record<string, string | undefined>; destroy?: () => void };
    res.destroy?.();
    const stat = res.headers?.["x-docker-container-path-stat"];
    if (!stat) return null;
    const j = JSON.parse(Buffer.from(stat, "base64").toString("utf8")) as { mtime?: string };
    const t = j.mtime ? Date.parse(j.mtime) : NaN;
    return Number.isFinite(t) ? t : null;
  } catch {
    return null;
  }
}

/**
 * Observes the run container on the VM (reconcile-decision.ts's Observation), and whether the
 * repo's code is in its /workflow yet. `timeoutMs`: how long to wait for the VM (default 20 s).
 */
export async function observeCloudInstance(outputs: Record<string, unknown>, o: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Observation> {
  const t = cloudTarget(outputs, o.env ?? process.env);
  if (!t) return { kind: "unknown", why: "no ssh key or address for the run's instance" };
  const c = t.container;
  let r: { code: number | null; stdout: string };
  try {
    r = await sshExec(
      t.vm,
      `docker inspect -f '{{.State.Running}} {{.State.ExitCode}}' ${c} && { docker exec ${c} test -e /workflow/.dstack-uploaded 2>/dev/null && echo code=uploaded || echo code=missing; } && docker logs --tail 40 ${c} 2>&1`,
      { timeoutMs: o.timeoutMs ?? 20_000 },
    );
  } catch (e) {
    const msg = (e as Error).message;
    // the VM does not answer: it was terminated (by the provider, or by its own shutdown), or it is still booting (the caller knows which)
    if (/ECONNREFUSED|EHOSTUNREACH|ETIMEDOUT|Timed out|ENETUNREACH/.test(msg)) return { kind: "missing" };
    return { kind: "unknown", why: msg };
  }
  const [first, second, ...rest] = r.stdout.split("\n");
  const m = /^(true|false) (-?\d+)/.exec(first ?? "");
  if (r.code !== 0 || !m) return { kind: "unknown", why: `docker inspect on the instance: ${r.stdout.trim().slice(0, 200)}` };
  const code = second === "code=uploaded" ? "uploaded" : "missing";
  if (m[1] === "true") return { kind: "running", sessions: null, last_activity: null, code };
  const marker = parseEndMarker(rest.join("\n"));
  return { kind: "exited", ended: marker === null || marker.by === "signal" ? null : marker, exit_code: Number(m[2]) };
}

/** Observes a kubernetes run's pod through the API server (src/runs/kube-observe.ts). */
export async function observeKubeInstance(outputs: Record<string, unknown> | null): Promise<Observation> {
  const t = kubeTargetOf(outputs);
  if (!t) return { kind: "unknown", why: "the run's outputs do not name its pod" };
  const read = await readKubePod(t);
  if ("unknown" in read) return { kind: "unknown", why: read.unknown };
  return podObservation(read.pod, parseEndMarker(read.logs), read.logs.includes("[dstack] commands"));
}
