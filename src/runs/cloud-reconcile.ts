/**
 * The reconciler's part that only cloud runs have:
 * - a VM that does not answer yet while its attempt is younger than the backend's provisioning
 *   timeout and it never answered (the run is still `provisioning`) is booting, not gone;
 * - a run container waiting for the repo's code (nobody uploaded it: `up --detach`, or an
 *   attempt the reconciler provisioned) gets it uploaded to /workflow from the run's repo folder.
 */
import { isCloudBackend } from "../compiler/backends/cloud/prerequisites";
import { readRunKey } from "../ssh/keys";
import { provisioningTimeoutMs } from "./cloud-preflight";
import type { Observation } from "./reconcile-decision";
import type { RunRecord } from "./record";
import { appendRunLog } from "./run-log";
import { readRunSpec } from "./records";
import { uploadRepo } from "./upload";

/** A cloud VM not answering within its attempt's provisioning time, before it ever answered: `unknown` (booting). Pure. */
export function bootingGrace(record: Pick<RunRecord, "backend" | "status" | "attempts">, obs: Observation, now: number, env: NodeJS.ProcessEnv = process.env): Observation {
  if (obs.kind !== "missing" || record.status !== "provisioning" || !isCloudBackend(record.backend)) return obs;
  const current = record.attempts[record.attempts.length - 1];
  if (!current || current.ended_at) return obs;
  const until = Date.parse(current.started_at) + provisioningTimeoutMs(record.backend, env);
  return now < until ? { kind: "unknown", why: "the instance is booting (its sshd does not answer yet)" } : obs;
}

/** Uploads the run's repo to its container's /workflow; a note for the agent's log (never throws). */
export async function uploadCode(name: string, outputs: Record<string, unknown> | null, env: NodeJS.ProcessEnv): Promise<{ ok: boolean; note: string }> {
  const key = readRunKey(name, env);
  if (!key || !outputs) return { ok: false, note: "the run's container waits for its code, and this machine has no key for it" };
  const spec = await readRunSpec(name, { env });
  if (!spec?.repo_dir) return { ok: false, note: "the run's container waits for its code, and the record names no repo folder" };
  try {
    const r = await uploadRepo(spec.repo_dir, outputs, key, { env });
    appendRunLog(name, `dstack: uploaded the repo to /workflow (${r.files} files, ${r.bytes} bytes)`, env);
    return { ok: true, note: `uploaded the repo to /workflow (${r.files} files)` };
  } catch (e) {
    return { ok: false, note: `uploading the repo failed: ${(e as Error).message.split("\n")[0]}` };
  }
}
