/**
 * Which runs manage themselves, and whether another command holds one: light checks (no engine,
 * no Docker) shared by the reconciler (reconcile.ts), `dstack ps` (ps-reconcile.ts) and the agent.
 */
import { judgeOnThisHost } from "../stacks/locks";
import { listRunLocks } from "../stacks/run-lock";
import { isCloudBackend } from "../compiler/backends/cloud/prerequisites";
import { isActive, type RunRecord } from "./record";

/**
 * A run that manages itself: active, with a deadline, a retry policy or an inactivity rule, or on
 * a cloud (its VM is observed: the code uploaded when nobody did, a task's end destroys its stack).
 */
export function isManaged(r: RunRecord): boolean {
  if (!isActive(r.status)) return false;
  return r.expires_at !== null || r.retry.enabled || (r.run_type === "dev-environment" && r.inactivity_duration !== null) || r.status === "submitted" || isCloudBackend(r.backend);
}

/** The lock an attached `dstack up` holds while it follows a task (run names have no dot). */
export function followerLockName(name: string): string {
  return `${name}.follow`;
}

/** Whether a live process other than this one holds the run's lock, or follows the run attached. */
export async function heldByAnother(name: string, env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  for (const lock of [name, followerLockName(name)]) {
    const holder = (await listRunLocks(lock, env)).dstack;
    if (!holder || holder.pid === process.pid) continue;
    if (judgeOnThisHost(holder).verdict.state !== "stale") return true;
  }
  return false;
}

