/**
 * A cloud run's instance, observed over SSH to the VM's own sshd (port `host_ssh_port`, root,
 * the run's key, the pinned host key that cloud-init gave it): the run container's state and
 * output through the VM's Docker (`docker inspect`, `docker logs`). When the VM does not
 * answer, it is gone: terminated by the provider (spot reclaim), or by its own timed shutdown
 * (max_duration, `instanceInitiatedShutdownBehavior: terminate`).
 */
import type { Writable } from "stream";
import { sshExec } from "../ssh/upload";
import { cloudTarget } from "./cloud-target";
export { isCloudOutputs } from "./cloud-target";
import { parseEndMarker } from "./observe";
import type { TerminationReason } from "./record";

/**
 * Follows a cloud task to its end: its output streamed from the VM (`docker logs -f`), then its
 * exit code. An instance that stops answering is an interruption. Null when `signal` aborts.
 */
export async function followCloudTask(
  outputs: Record<string, unknown>,
  o: { stdout: Writable; stderr: Writable; signal?: AbortSignal; env?: NodeJS.ProcessEnv },
): Promise<TerminationReason | null> {
  const t = cloudTarget(outputs, o.env ?? process.env);
  if (!t) return { kind: "interrupted", message: "no ssh key or address for the run's instance" };
  let output = "";
  try {
    await sshExec(t.vm, `docker logs -f ${t.container}`, {
      signal: o.signal,
      onStdout: (b) => {
        output += b.toString();
        o.stdout.write(b);
      },
      onStderr: (b) => {
        output += b.toString();
        if (!b.toString().startsWith("[dstack] ")) o.stderr.write(b);
      },
    });
    if (o.signal?.aborted) return null;
    const r = await sshExec(t.vm, `docker inspect -f '{{.State.ExitCode}}' ${t.container}`, { timeoutMs: 20_000 });
    const code = Number(r.stdout.trim());
    const marker = parseEndMarker(output);
    if (marker && marker.by === "commands") return { kind: "exited", exit_code: marker.code };
    if (marker && marker.by === "setup_failed") return { kind: "setup_failed", exit_code: code, message: marker.message };
    return { kind: "interrupted", message: `the run's container on the instance ended (exit ${Number.isFinite(code) ? code : "?"}) before its commands did` };
  } catch (e) {
    if (o.signal?.aborted) return null;
    return { kind: "interrupted", message: `the instance stopped answering: ${(e as Error).message}` };
  }
}
