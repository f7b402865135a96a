/**
 * `dstack ps`'s lazy reconcile, kept light: the listing (lifecycle.ts), then the reconciler
 * (reconcile.ts, loaded only when a run is due: its deadline passed, or its local container is
 * not running), then the agent started again when managed runs are active and none runs.
 */
import { agentState, ensureAgent } from "./agent";
import { listRunsChecked, type RunList } from "./lifecycle";
import { heldByAnother, isManaged } from "./managed";
import { isActive, type RunView } from "./record";
import { listRecords } from "./records";

/** Whether `ps` reconciles the run now (pure): active but not waiting between attempts, and its deadline passed or its container is not running. */
export function dueForPs(r: Pick<RunView, "status" | "expires_at" | "instance">, now: number): boolean {
  return isActive(r.status) && r.status !== "submitted" && ((r.expires_at !== null && Date.parse(r.expires_at) <= now) || r.instance === "stopped" || r.instance === "missing");
}

/**
 * The runs as `dstack ps` lists them, reconciled lazily first (`reconcileDue`: a deadline passed,
 * an instance gone), and the agent started again when managed runs are active and none runs
 * (after a crash or a restart of the machine).
 */
export async function listReconciled(o: { all?: boolean; env?: NodeJS.ProcessEnv } = {}): Promise<RunList> {
  const env = o.env ?? process.env;
  let list = await listRunsChecked({ all: o.all, env });
  const due = list.runs.filter((r) => dueForPs(r, Date.now()));
  if (due.length === 0) return withAgent(list, env);
  const { reconcileDue } = await import("./reconcile");
  const steps = await reconcileDue(due, { env });
  if (steps.some((s) => s.action.kind !== "wait")) list = await listRunsChecked({ all: o.all, env });
  return withAgent(list, env);
}

async function withAgent(list: RunList, env: NodeJS.ProcessEnv): Promise<RunList> {
  if (list.runs.some((r) => isActive(r.status)) && !(await agentState(env)).running) {
    const stored = list.stored ?? (await listRecords({ env }));
    for (const s of stored) {
      if (s.record !== null && isManaged(s.record) && !(await heldByAnother(s.name, env))) {
        await ensureAgent(env);
        break;
      }
    }
  }
  return list;
}
