/**
 * Pulumi's state files read directly: the DIY file backend's checkpoints
 * (`.pulumi/stacks/<project>/<stack>.json[.gz]`, Pulumi's documented layout), so that reading a
 * run's outputs or listing the runs needs no CLI; the same layout in the DIY PostgreSQL
 * backend's table (postgres-state.ts) through the async readers `readCheckpoint` and
 * `listStacksDirect`. Also the serialized-secret signature, which is the same in checkpoints
 * and in engine events, and the one way dstack masks secrets.
 */
import * as fs from "fs";
import * as path from "path";
import * as zlib from "zlib";
import { listStacksFromPostgres, postgresBackend, readCheckpointFromPostgres } from "./postgres-state";
import { diyStacksDir, stateBackendUrl } from "./state";

/** The key that marks a serialized secret value (`{"4dabf…": "1b47…", ciphertext | value}`). */
export const SECRET_SIG = "4dabf18193072939515e22adb298388d";

/** Secret values (however the engine encodes them) never leave as plaintext (pure). */
export function maskSecrets(v: unknown): unknown {
  if (v === null || typeof v !== "object") return v;
  if (Array.isArray(v)) return v.map(maskSecrets);
  const o = v as Record<string, unknown>;
  if (SECRET_SIG in o) return "[secret]";
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(o)) out[k] = maskSecrets(x);
  return out;
}

/** A checkpoint's stack outputs with secrets masked (pure). */
export function outputsOfCheckpoint(doc: unknown): Record<string, unknown> {
  const latest = (doc as { checkpoint?: { latest?: { resources?: { type?: string; outputs?: Record<string, unknown> }[] } } })?.checkpoint?.latest;
  const root = latest?.resources?.find((r) => r.type === "pulumi:pulumi:Stack");
  return (maskSecrets(root?.outputs ?? {}) as Record<string, unknown>) ?? {};
}

/** One resource of a stack's state, as `down`'s plan lists it. */
export interface StateResource {
  urn: string;
  type: string;
  /** The resource's name (the URN's last part). */
  name: string;
  /** Inputs and outputs, secrets masked. */
  inputs: Record<string, unknown>;
  outputs: Record<string, unknown>;
  /** `retainOnDelete`: deleting the stack leaves the object in place (a shared image, a kept volume). */
  retained: boolean;
}

/** A checkpoint's resources but the stack and providers, in state order (pure). */
export function resourcesOfCheckpoint(doc: unknown): StateResource[] {
  type Raw = { urn?: string; type?: string; inputs?: Record<string, unknown>; outputs?: Record<string, unknown>; retainOnDelete?: boolean };
  const resources = (doc as { checkpoint?: { latest?: { resources?: Raw[] } } })?.checkpoint?.latest?.resources ?? [];
  return resources
    .filter((r): r is Raw & { urn: string; type: string } => typeof r.urn === "string" && typeof r.type === "string")
    .filter((r) => r.type !== "pulumi:pulumi:Stack" && !r.type.startsWith("pulumi:providers:"))
    .map((r) => ({
      urn: r.urn,
      type: r.type,
      name: r.urn.slice(r.urn.lastIndexOf("::") + 2),
      inputs: (maskSecrets(r.inputs ?? {}) as Record<string, unknown>) ?? {},
      outputs: (maskSecrets(r.outputs ?? {}) as Record<string, unknown>) ?? {},
      retained: r.retainOnDelete === true,
    }));
}

/**
 * Fast path for the DIY file backend: the stack's checkpoint file read directly, no CLI.
 * Returns `undefined` when it cannot tell (another backend, an unknown layout), null for no stack.
 */
export function readOutputsFromFile(runName: string, env: NodeJS.ProcessEnv = process.env): Record<string, unknown> | null | undefined {
  const doc = readCheckpointFile(runName, env);
  return doc == null ? doc : outputsOfCheckpoint(doc);
}

/** The file backend's checkpoint of the run (parsed JSON); null for no stack, undefined when it cannot tell. */
export function readCheckpointFile(runName: string, env: NodeJS.ProcessEnv = process.env): unknown {
  const dir = diyStacksDir(env);
  if (!dir) return undefined;
  const plain = path.join(dir, `${runName}.json`);
  const gz = `${plain}.gz`;
  try {
    const text = fs.existsSync(plain)
      ? fs.readFileSync(plain, "utf8")
      : fs.existsSync(gz)
        ? zlib.gunzipSync(fs.readFileSync(gz)).toString("utf8")
        : null;
    if (text === null) return null;
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Run names in the DIY file backend (no CLI), or undefined for other backends. */
export function listStacksFromFiles(env: NodeJS.ProcessEnv = process.env): string[] | undefined {
  const dir = diyStacksDir(env);
  if (!dir) return undefined;
  try {
    return fs
      .readdirSync(dir)
      .map((f) => /^(.+)\.json(\.gz)?$/.exec(f)?.[1])
      .filter((n): n is string => !!n)
      .sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    return undefined;
  }
}

/**
 * The run's checkpoint read straight from the backend's storage, when dstack knows its layout
 * (file://, postgres://): null for no stack, undefined for other backends (use the engine).
 */
export async function readCheckpoint(runName: string, env: NodeJS.ProcessEnv = process.env): Promise<unknown> {
  const fromFile = readCheckpointFile(runName, env);
  if (fromFile !== undefined) return fromFile;
  const pg = postgresBackend(stateBackendUrl(env));
  return pg ? readCheckpointFromPostgres(pg, runName) : undefined;
}

/** The run's outputs (secrets masked) read straight from the backend's storage; as readCheckpoint. */
export async function readOutputsDirect(runName: string, env: NodeJS.ProcessEnv = process.env): Promise<Record<string, unknown> | null | undefined> {
  const doc = await readCheckpoint(runName, env);
  return doc == null ? (doc as null | undefined) : outputsOfCheckpoint(doc);
}

/** Run names read straight from the backend's storage (file://, postgres://), else undefined. */
export async function listStacksDirect(env: NodeJS.ProcessEnv = process.env): Promise<string[] | undefined> {
  const fromFiles = listStacksFromFiles(env);
  if (fromFiles !== undefined) return fromFiles;
  const pg = postgresBackend(stateBackendUrl(env));
  return pg ? listStacksFromPostgres(pg) : undefined;
}
