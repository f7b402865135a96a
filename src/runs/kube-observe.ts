/**
 * What the reconciler observes of a kubernetes run's pod (reconcile-decision.ts's Observation),
 * read from the API server (the pod's status; no exec into it):
 * - Pending with the scheduler's `PodScheduled=False, reason Unschedulable`: no capacity;
 * - Running: running (sessions are not counted);
 * - Succeeded / Failed: the run container's terminated state gives the task's exit code, and
 *   the entry's end markers in its log say what ended it (as on the other backends);
 *   `DeadlineExceeded` (the pod's activeDeadlineSeconds, the run's max_duration, enforced by
 *   the kubelet) is the max duration; `Evicted` / `Preempted` / `Terminated` (node shutdown)
 *   and a container killed by a signal are interruptions;
 * - no such pod (deleted, or preempted and removed): missing, an interruption.
 * `podObservation` is pure (given the end marker observe.ts's parseEndMarker read in the log);
 * `readKubePod` asks the cluster.
 */
import { kubeClientConfig, kubeErrorText } from "../offers/kubernetes";
import type { KubeTarget } from "../ssh/kube-forward";
import type { InstanceEnd, Observation } from "./reconcile-decision";

/** The parts of a V1Pod the observation is made from. */
export interface KubePodView {
  metadata?: { deletionTimestamp?: unknown };
  status?: {
    phase?: string;
    reason?: string;
    message?: string;
    conditions?: { type?: string; status?: string; reason?: string; message?: string }[];
    containerStatuses?: {
      name?: string;
      state?: {
        running?: unknown;
        waiting?: { reason?: string; message?: string };
        terminated?: { exitCode?: number; signal?: number; reason?: string; message?: string };
      };
    }[];
  };
}

/** Waiting reasons that mean the run cannot start (its image or its configuration is wrong). */
const FATAL_WAITING = new Set(["ErrImagePull", "ImagePullBackOff", "InvalidImageName", "CreateContainerConfigError", "CreateContainerError", "RunContainerError"]);

/**
 * The observation of a pod (pure). When it ended: `marker` is the entry's end marker in the run
 * container's log, and `commandsStarted` whether the log shows the task's commands started.
 */
export function podObservation(pod: KubePodView | null, marker: InstanceEnd | { by: "signal" } | null = null, commandsStarted = false): Observation {
  if (!pod) return { kind: "missing" };
  const st = pod.status ?? {};
  const run = (st.containerStatuses ?? []).find((c) => c.name === "run");
  const terminated = run?.state?.terminated;
  const code = terminated?.exitCode ?? null;
  if (st.phase === "Failed" && st.reason === "DeadlineExceeded") return { kind: "exited", ended: { by: "max_duration" }, exit_code: code };
  if (st.phase === "Failed" && (st.reason === "Evicted" || st.reason === "Preempting" || st.reason === "Terminated" || st.reason === "Shutdown" || st.reason === "NodeShutdown"))
    return { kind: "exited", ended: null, exit_code: code };
  if (st.phase === "Succeeded" || st.phase === "Failed") {
    if (marker && marker.by !== "signal") return { kind: "exited", ended: marker, exit_code: code };
    // no marker: the container was killed (a signal, OOM) or the log is gone; its exit code still tells a task's end
    if (terminated && terminated.signal == null && terminated.reason !== "OOMKilled" && code !== null && code < 128 && marker === null && commandsStarted)
      return { kind: "exited", ended: { by: "commands", code }, exit_code: code };
    return { kind: "exited", ended: null, exit_code: code };
  }
  if (pod.metadata?.deletionTimestamp) return { kind: "exited", ended: null, exit_code: code };
  const scheduled = (st.conditions ?? []).find((c) => c.type === "PodScheduled");
  if (st.phase === "Pending" && scheduled?.status === "False" && scheduled.reason === "Unschedulable")
    return { kind: "no_capacity", why: (scheduled.message ?? "the pod cannot be scheduled").split("\n")[0] };
  const waiting = run?.state?.waiting;
  if (waiting?.reason && FATAL_WAITING.has(waiting.reason))
    return { kind: "exited", ended: { by: "setup_failed", message: `${waiting.reason}: ${waiting.message ?? ""}`.trim() }, exit_code: null };
  if (st.phase === "Running" && run?.state?.running) return { kind: "running", sessions: null, last_activity: null };
  return { kind: "unknown", why: `the pod is ${st.phase ?? "pending"}${waiting?.reason ? ` (${waiting.reason})` : ""}` };
}

/** A pod's observation as `ps` and `up`'s no-op check see an instance (pending counts as running: it is the cluster's to start). */
export function kubeInstanceState(obs: Observation): "running" | "stopped" | "missing" | "unknown" {
  if (obs.kind === "running" || obs.kind === "no_capacity") return "running";
  if (obs.kind === "unknown") return /^the pod is Pending/.test(obs.why) ? "running" : "unknown";
  return obs.kind === "exited" ? "stopped" : "missing";
}

export type KubePodRead = { pod: KubePodView | null; logs: string } | { unknown: string };

/** The run's pod (null: there is none) and, once it ended, its run container's log tail, from the API server. */
export async function readKubePod(t: KubeTarget): Promise<KubePodRead> {
  const k8s = await import("@kubernetes/client-node");
  let api: import("@kubernetes/client-node").CoreV1Api;
  try {
    api = (await kubeClientConfig({ kubeconfig: t.kubeconfig, context: t.context, namespace: t.namespace, ssh_port: t.port, price: 0, image: null, storage_class: null, volume_size: 1 })).makeApiClient(k8s.CoreV1Api);
  } catch (e) {
    return { unknown: kubeErrorText(e) };
  }
  let pod: KubePodView;
  try {
    pod = (await api.readNamespacedPod({ name: t.pod, namespace: t.namespace })) as KubePodView;
  } catch (e) {
    if ((e as { code?: number }).code === 404) return { pod: null, logs: "" };
    return { unknown: `the API server: ${kubeErrorText(e)}` };
  }
  const phase = pod.status?.phase;
  let logs = "";
  if (phase === "Succeeded" || phase === "Failed") {
    logs = await api.readNamespacedPodLog({ name: t.pod, namespace: t.namespace, container: "run", tailLines: 40 }).then(
      (l) => String(l),
      () => "",
    );
  }
  return { pod, logs };
}
