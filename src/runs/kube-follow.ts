/**
 * Following a kubernetes task to its end (`dstack up` of a task): the run container's log is
 * streamed from the API server (`GET …/pods/<pod>/log?follow=true`) once it starts, and the
 * pod's status is read until it ended; what ended it comes from the pod (kube-observe.ts): the
 * commands' exit code from the container's terminated state and the entry's markers, the
 * deadline (max_duration), an eviction or a deletion (an interruption).
 */
import { PassThrough, type Writable } from "stream";
import { kubeClientConfig } from "../offers/kubernetes";
import { kubeTargetOf, type KubeTarget } from "../ssh/kube-forward";
import { podObservation, readKubePod } from "./kube-observe";
import { parseEndMarker } from "./observe";
import type { TerminationReason } from "./record";

const POLL_MS = 2000;

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => (clearTimeout(t), resolve()), { once: true });
  });
}

/** Starts streaming the run container's log to `out` (its `[dstack]` lines to `err`); returns a stop function. */
async function streamLog(t: KubeTarget, out: Writable, err: Writable): Promise<() => void> {
  const k8s = await import("@kubernetes/client-node");
  const kc = await kubeClientConfig({ kubeconfig: t.kubeconfig, context: t.context, namespace: t.namespace, ssh_port: t.port, price: 0, image: null, storage_class: null, volume_size: 1 });
  const sink = new PassThrough();
  let rest = "";
  sink.on("data", (b: Buffer) => {
    const lines = (rest + b.toString()).split("\n");
    rest = lines.pop() ?? "";
    for (const l of lines) (l.startsWith("[dstack] ") ? err : out).write(l + "\n");
  });
  sink.on("end", () => rest && out.write(rest));
  const req = await new k8s.Log(kc).log(t.namespace, t.pod, "run", sink, { follow: true });
  return () => req.abort();
}

export async function followKubeTask(
  outputs: Record<string, unknown>,
  o: { stdout: Writable; stderr: Writable; signal?: AbortSignal },
): Promise<TerminationReason | null> {
  const t = kubeTargetOf(outputs);
  if (!t) return { kind: "interrupted", message: "the run's outputs do not name its pod" };
  let stop: (() => void) | null = null;
  try {
    for (;;) {
      if (o.signal?.aborted) return null;
      const read = await readKubePod(t);
      if (!("unknown" in read)) {
        const phase = read.pod?.status?.phase;
        const started = (read.pod?.status?.containerStatuses ?? []).some((c) => c.name === "run" && (c.state?.running || c.state?.terminated));
        if (!stop && started) stop = await streamLog(t, o.stdout, o.stderr).catch(() => null);
        if (read.pod === null || phase === "Succeeded" || phase === "Failed") {
          await sleep(500); // the log's last lines
          const obs = podObservation(read.pod, parseEndMarker(read.logs), read.logs.includes("[dstack] commands"));
          if (obs.kind !== "exited") return { kind: "interrupted", message: `the pod ${t.pod} was deleted` };
          const e = obs.ended;
          if (e?.by === "commands") return { kind: "exited", exit_code: e.code };
          if (e?.by === "setup_failed") return { kind: "setup_failed", exit_code: obs.exit_code, message: e.message };
          if (e?.by === "max_duration") return { kind: "max_duration_exceeded", message: "the pod's activeDeadlineSeconds (max_duration) passed" };
          return { kind: "interrupted", message: `the pod ${t.pod} ended (${read.pod?.status?.reason ?? `exit ${obs.exit_code ?? "?"}`}) before its commands did` };
        }
        const obs = podObservation(read.pod);
        if (obs.kind === "no_capacity") return { kind: "no_capacity", message: obs.why };
        if (obs.kind === "exited" && obs.ended?.by === "setup_failed") return { kind: "setup_failed", exit_code: null, message: obs.ended.message };
      }
      await sleep(POLL_MS, o.signal);
    }
  } finally {
    stop?.();
  }
}
