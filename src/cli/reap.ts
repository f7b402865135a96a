/**
 * `dstack reap [--json]`: one reconcile step for every active run that manages itself — for
 * cron, a systemd timer or a CI schedule, where no agent runs. Runs past their deadline are torn
 * down (max duration exceeded), finished tasks marked done or failed, interrupted runs retried
 * or failed, inactive dev environments ended, due retries provisioned. Then, if managed runs
 * remain and no agent runs, one is started (unless `--no-agent`).
 * `--json`: `{"steps": [{"name", "action", "note"}], "managed": N, "agent": "running" | "started" | "none"}`.
 */
import type { Command } from "commander";

export interface ReapJson {
  steps: { name: string; action: string; note: string }[];
  managed: number;
  agent: "running" | "started" | "none";
}

export async function reap(opts: { json?: boolean; agent?: boolean }): Promise<ReapJson> {
  const { reconcileManaged } = await import("../runs/reconcile");
  const { agentState, ensureAgent } = await import("../runs/agent");
  const r = await reconcileManaged({});
  const stillManaged = r.steps.filter((s) => s.requeue_ms !== null).length;
  let agent: ReapJson["agent"] = (await agentState()).running ? "running" : "none";
  if (agent === "none" && stillManaged > 0 && opts.agent !== false) agent = (await ensureAgent()) !== null ? "started" : "running";
  const out: ReapJson = { steps: r.steps.map((s) => ({ name: s.name, action: s.action.kind, note: s.note })), managed: r.managed, agent };
  if (!opts.json) {
    const acted = out.steps.filter((s) => s.action !== "wait");
    if (acted.length === 0) process.stdout.write(r.managed ? `${r.managed} managed run(s); nothing was due.\n` : "No run manages itself.\n");
    for (const s of acted) process.stdout.write(`${s.name}: ${s.action}: ${s.note}\n`);
    if (agent === "started") process.stdout.write("started the agent for the runs left to manage\n");
  }
  return out;
}

export function register(program: Command): void {
  program
    .command("reap")
    .description("One reconcile step for every self-managing run (for cron, systemd or CI): tear down expired runs, retry, mark finished tasks")
    .option("--json", "print what was done as JSON")
    .option("--no-agent", "do not start an agent for the runs left to manage")
    .action(async (opts: { json?: boolean; agent?: boolean }) => {
      const result = await reap(opts);
      if (opts.json) process.stdout.write(JSON.stringify(result, null, 2) + "\n");
    });
}
