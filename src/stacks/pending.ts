/**
 * Operations an interrupted engine left pending in a run's state.
 *
 * When the CLI is killed while the engine waits on a provider (kill -9, a closed laptop lid),
 * the checkpoint keeps the operation in `pending_operations`. A pending *create* has no id:
 * the object may exist (the provider finished, the engine never heard) or not. Pulumi keeps
 * pending creates across every later update and `destroy --remove` drops them with the stack,
 * so an object made by such a create is invisible to the engine from then on. The caller
 * (src/runs/cleanup.ts) looks the objects up by their `dstack.urn` label, removes them, and then
 * clears the pending operations here.
 *
 * Clearing goes through `pulumi stack export` + `pulumi stack import`: import drops every pending
 * operation (documented in `pulumi stack import`; Pulumi 3.248's `refresh --clear-pending-creates`
 * would do it too, but it needs a full refresh of every resource). Importing instead of clearing
 * (`refresh --import-pending-creates URN ID`) is not used: a dynamic provider's `read` cannot
 * rebuild a container's outputs (its ssh port and host key), so an object found is removed and
 * made again by the next `up`.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { readCheckpoint } from "./checkpoint";
import { runCli } from "./cli-run";
import { engineError } from "./errors";
import { engineLockDirOf } from "./locks";
import { postgresBackend, readEngineLocksFromPostgres } from "./postgres-state";
import { diyStacksDir, stateBackendUrl } from "./state";

export interface PendingOperation {
  /** creating, updating, deleting, reading, importing. */
  type: string;
  urn: string;
  /** The resource's type token (`dstack:index:LocalContainer`). */
  resourceType: string;
  /** The resource's id when the operation had one (never for a create). */
  id: string | null;
}

type Deployment = {
  resources?: { id?: string }[];
  pending_operations?: { type?: string; resource?: { urn?: string; type?: string; id?: string } }[];
};

/** The deployment of a checkpoint file (`{checkpoint: {latest}}`) or of `stack export` (`{deployment}`). */
function deploymentOf(doc: unknown): Deployment | null {
  const d = doc as { checkpoint?: { latest?: Deployment }; deployment?: Deployment } | null;
  return d?.checkpoint?.latest ?? d?.deployment ?? null;
}

/** The pending operations of a checkpoint or an exported deployment (pure). */
export function pendingOperationsOf(doc: unknown): PendingOperation[] {
  const ops = deploymentOf(doc)?.pending_operations ?? [];
  return ops
    .filter((o) => typeof o.resource?.urn === "string")
    .map((o) => ({ type: o.type ?? "unknown", urn: o.resource!.urn as string, resourceType: o.resource?.type ?? "", id: o.resource?.id || null }));
}

/** The ids of the resources the state records (pure): objects that are the state's own, whatever their labels. */
export function recordedIdsOf(doc: unknown): string[] {
  return (deploymentOf(doc)?.resources ?? []).map((r) => r.id).filter((id): id is string => typeof id === "string" && id !== "");
}

/** The checkpoint of the file and PostgreSQL backends read directly (no CLI), of any other through `pulumi stack export`; null: no stack. */
export async function readDeployment(runName: string, env: NodeJS.ProcessEnv = process.env): Promise<unknown> {
  const direct = await readCheckpoint(runName, env);
  if (direct !== undefined) return direct;
  try {
    const { stdout } = await runCli(["stack", "export", "--stack", runName], env);
    return JSON.parse(stdout) as unknown;
  } catch (e) {
    const msg = String((e as { commandResult?: { stderr?: string } }).commandResult?.stderr ?? (e as Error).message ?? e);
    if (/no stack named|not found|does not exist/i.test(msg)) return null;
    throw engineError(e, `reading the state of ${runName}`);
  }
}

/** The run's pending operations, and the ids its state records. Empty when the stack does not exist. */
export async function readPendingState(runName: string, env: NodeJS.ProcessEnv = process.env): Promise<{ pending: PendingOperation[]; recordedIds: string[] }> {
  const doc = await readDeployment(runName, env);
  return { pending: pendingOperationsOf(doc), recordedIds: recordedIdsOf(doc) };
}

/** The run's pending operations (see readPendingState). */
export async function readPendingOperations(runName: string, env: NodeJS.ProcessEnv = process.env): Promise<PendingOperation[]> {
  return (await readPendingState(runName, env)).pending;
}

/**
 * Whether an engine operation holds the run's stack right now, as far as the file backend
 * shows (a lock file under `.pulumi/locks/`); false for other backends, whose engine refuses
 * a locked stack by itself (see `stackLocked` for postgres). Pending operations of a locked
 * stack may be in flight: they are left alone.
 */
export function stackLockedInFiles(runName: string, env: NodeJS.ProcessEnv = process.env): boolean {
  const stacks = diyStacksDir(env);
  if (!stacks) return false;
  try {
    return fs.readdirSync(engineLockDirOf(stacks, runName)).some((f) => f.endsWith(".json"));
  } catch {
    return false;
  }
}

/** As stackLockedInFiles, and on the PostgreSQL backend from its table of Pulumi's locks. */
export async function stackLocked(runName: string, env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  if (stackLockedInFiles(runName, env)) return true;
  const pg = postgresBackend(stateBackendUrl(env));
  return pg ? (await readEngineLocksFromPostgres(pg, runName)).length > 0 : false;
}

/** Drops every pending operation from the run's state (`pulumi stack export`, then `pulumi stack import`). */
export async function clearPendingOperations(runName: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dstack-state-"));
  const file = path.join(dir, "deployment.json");
  try {
    await runCli(["stack", "export", "--stack", runName, "--file", file], env);
    await runCli(["stack", "import", "--stack", runName, "--file", file], env);
  } catch (e) {
    throw engineError(e, `clearing the pending operations of ${runName}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
