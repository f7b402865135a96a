/**
 * What a crashed command leaves behind, found and removed by the next one.
 *
 * - `resolvePendingCreates`: the state's pending creates (dstack killed while the engine waited
 *   on a provider). Their Docker objects are found by the `dstack.urn` label every local
 *   resource carries (src/compiler/backends/local/urn.ts): a container is removed (the next
 *   `up` creates it again, with a host key whose public half is in the state); a volume is
 *   kept (volumes outlive runs: the next `up` adopts it, `down --volumes` removes it); an image
 *   is a shared cache and is kept. Then the pending operations are cleared from the state.
 * - `checkLeftovers`: after `down`, what of the run is still in Docker (by the `dstack.run`
 *   label): containers always, volumes with `--volumes`. They are removed and reported; what
 *   cannot be removed is an error (E4507), never a reported success.
 *
 * Docker unreachable: E4101 (exit 5) from src/stacks/docker.ts.
 */
import type Docker from "dockerode";
import { localKindOf } from "../compiler/backends/local/tokens";
import { dockerClient } from "../stacks/docker";
import { DstackError, ExitCode } from "../diagnostics";
import { clearPendingOperations, readPendingState, stackLocked, type PendingOperation } from "../stacks/pending";

/** Docker labels of local resources (src/compiler/backends/local/urn.ts; kept here as strings: runs do not load the provider modules). */
const RUN_LABEL = "dstack.run";
const URN_LABEL = "dstack.urn";

/** Type tokens of the local backend's resources: the provider plugin's, or the dynamic providers' of older stacks. */
export function isLocalResourceType(type: string): boolean {
  return localKindOf(type) !== null;
}

export interface PendingResolution {
  /** The pending operations found (all kinds). */
  pending: PendingOperation[];
  /** Containers removed because a pending create made them (names). */
  removedContainers: string[];
  /** Volumes a pending create made, kept (names). */
  keptVolumes: string[];
  /** The stack was locked by a running engine: nothing was touched. */
  locked: boolean;
}

async function docker(env: NodeJS.ProcessEnv): Promise<Docker> {
  return dockerClient(env);
}

function containerName(c: Docker.ContainerInfo): string {
  return (c.Names?.[0] ?? c.Id.slice(0, 12)).replace(/^\//, "");
}

async function removeContainer(d: Docker, id: string): Promise<void> {
  try {
    await d.getContainer(id).remove({ force: true });
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode !== 404) throw e;
  }
}

/**
 * Resolves what an interrupted engine left pending in the run's state (see the file comment).
 * A stack locked by a running engine is left alone (its operations may be in flight).
 */
export async function resolvePendingCreates(runName: string, env: NodeJS.ProcessEnv = process.env): Promise<PendingResolution> {
  const out: PendingResolution = { pending: [], removedContainers: [], keptVolumes: [], locked: false };
  if (await stackLocked(runName, env)) return { ...out, locked: true };
  const state = await readPendingState(runName, env);
  out.pending = state.pending;
  if (out.pending.length === 0) return out;
  const creates = out.pending.filter((o) => o.type === "creating" && isLocalResourceType(o.resourceType));
  if (creates.length > 0) {
    const d = await docker(env);
    for (const op of creates) {
      const filters = { label: [`${URN_LABEL}=${op.urn}`] };
      if (op.resourceType.endsWith(":LocalContainer")) {
        for (const c of await d.listContainers({ all: true, filters })) {
          if (state.recordedIds.includes(c.Id)) continue; // the state's own container (an earlier create of that URN)
          await removeContainer(d, c.Id);
          out.removedContainers.push(containerName(c));
        }
      } else if (op.resourceType.endsWith(":LocalVolume")) {
        const { Volumes } = await d.listVolumes({ filters });
        out.keptVolumes.push(...(Volumes ?? []).map((v) => v.Name));
      }
    }
  }
  await clearPendingOperations(runName, env);
  return out;
}

export interface Leftovers {
  containers: string[];
  volumes: string[];
}

/** The run's Docker objects (by label): containers, and volumes when `volumes`. */
export async function findLeftovers(runName: string, o: { volumes: boolean; env?: NodeJS.ProcessEnv; docker?: Docker }): Promise<{ containers: Docker.ContainerInfo[]; volumes: string[] }> {
  const d = o.docker ?? (await docker(o.env ?? process.env));
  const filters = { label: [`${RUN_LABEL}=${runName}`] };
  const containers = await d.listContainers({ all: true, filters });
  const volumes = o.volumes ? ((await d.listVolumes({ filters })).Volumes ?? []).map((v) => v.Name) : [];
  return { containers, volumes };
}

/**
 * After `down`: removes what of the run is still in Docker and returns it. Volumes (with
 * `volumes`) still mounted by another run's container are kept and returned in `inUse`.
 * Throws E4507 when something of the run is still there afterwards.
 */
export async function removeLeftovers(
  runName: string,
  o: { volumes: boolean; env?: NodeJS.ProcessEnv },
): Promise<{ removed: Leftovers; inUse: string[] }> {
  const d = await docker(o.env ?? process.env);
  const found = await findLeftovers(runName, { ...o, docker: d });
  const removed: Leftovers = { containers: [], volumes: [] };
  const inUse: string[] = [];
  for (const c of found.containers) {
    await removeContainer(d, c.Id);
    removed.containers.push(containerName(c));
  }
  for (const v of found.volumes) {
    try {
      await d.getVolume(v).remove();
      removed.volumes.push(v);
    } catch (e) {
      const code = (e as { statusCode?: number }).statusCode;
      if (code === 409) inUse.push(v);
      else if (code !== 404) throw e;
    }
  }
  const after = await findLeftovers(runName, { ...o, docker: d });
  const remaining = [...after.containers.map((c) => `container ${containerName(c)}`), ...after.volumes.filter((v) => !inUse.includes(v)).map((v) => `volume ${v}`)];
  if (remaining.length > 0) {
    throw new DstackError(
      {
        code: "E4507",
        severity: "error",
        message: `${runName} is not deleted: ${remaining.join(", ")} still exist${remaining.length === 1 ? "s" : ""} after the destroy`,
        hint: `run \`dstack down ${runName}\` again; if it stays, remove them by hand (docker rm -f / docker volume rm)`,
      },
      ExitCode.Provisioning,
    );
  }
  return { removed, inUse };
}
