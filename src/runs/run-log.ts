/**
 * A run's log on this machine: `$DSTACK_HOME/logs/<state id>/<run>.log` (state id: a hash of
 * the state backend URL, as for locks and workspaces). It holds what `dstack logs` prints before
 * the instance's live output: provisioning events (`appendRunLog`, written by `up`), and the
 * output of every ended attempt, saved from the container before it is removed
 * (`saveInstanceOutput`, called by `endRun`). The live output of a local run comes from the
 * Docker API (`followInstanceOutput`: `docker logs [-f]`); `waitInstanceExit` waits for a
 * task's container to end and tells its commands' exit code from a start-script failure.
 *
 * dockerode is reached through src/stacks/docker.ts (loaded on first use).
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import type { Writable } from "stream";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { toProgress } from "../stacks/events";
import { homePaths } from "../paths";
import { stateBackendUrl } from "../stacks/state";
import { demuxLogs, dockerClient } from "../stacks/docker";
import type { TerminationReason } from "./record";

export function runLogPath(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const id = createHash("sha256").update(stateBackendUrl(env)).digest("hex").slice(0, 12);
  return path.join(homePaths(env).logs, id, `${name}.log`);
}

/** Appends lines to the run's log (each stamped with the time). */
export function appendRunLog(name: string, text: string, env: NodeJS.ProcessEnv = process.env, now = new Date()): void {
  const file = runLogPath(name, env);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const lines = text.replace(/\n$/, "").split("\n").map((l) => `${now.toISOString()} ${l}\n`);
  fs.appendFileSync(file, lines.join(""), { mode: 0o600 });
}

/** Appends raw text (an attempt's saved output). */
function appendRaw(name: string, text: string, env: NodeJS.ProcessEnv): void {
  const file = runLogPath(name, env);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  fs.appendFileSync(file, text.endsWith("\n") || text === "" ? text : text + "\n", { mode: 0o600 });
}

export function readRunLog(name: string, env: NodeJS.ProcessEnv = process.env): string {
  try {
    return fs.readFileSync(runLogPath(name, env), "utf8");
  } catch {
    return "";
  }
}

export function removeRunLog(name: string, env: NodeJS.ProcessEnv = process.env): void {
  fs.rmSync(runLogPath(name, env), { force: true });
}

/** The local container of a run's outputs (its id), or null for other backends or no instance. */
export function localContainerOf(outputs: Record<string, unknown> | null): string | null {
  if (!outputs || outputs.backend !== "local" || typeof outputs.instance_id !== "string" || !outputs.instance_id) return null;
  return outputs.instance_id;
}

/**
 * Saves the container's whole output into the run's log, under a header naming the attempt
 * (before `endRun` removes the container). Nothing for other backends or a container gone.
 */
export async function saveInstanceOutput(name: string, outputs: Record<string, unknown> | null, attempt: number, env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  const id = localContainerOf(outputs);
  if (!id) return false;
  const docker = await dockerClient(env);
  let raw: Buffer;
  try {
    const r = (await docker.getContainer(id).logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer;
    raw = Buffer.isBuffer(r) ? r : Buffer.from(String(r));
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode === 404) return false;
    throw e;
  }
  appendRaw(name, `--- output of attempt ${attempt} ---\n${demuxLogs(raw)}--- end of attempt ${attempt} ---\n`, env);
  return true;
}

/**
 * Streams the container's output (stdout and stderr kept apart) from its start; with `follow`,
 * until the container stops or `signal` aborts. Resolves false when there is no container.
 */
export async function followInstanceOutput(
  outputs: Record<string, unknown> | null,
  o: { stdout: Writable; stderr: Writable; follow: boolean; signal?: AbortSignal; env?: NodeJS.ProcessEnv },
): Promise<boolean> {
  const id = localContainerOf(outputs);
  if (!id) return false;
  const docker = await dockerClient(o.env ?? process.env);
  const c = docker.getContainer(id);
  if (!o.follow) {
    try {
      const r = (await c.logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer;
      const buf = Buffer.isBuffer(r) ? r : Buffer.from(String(r));
      splitFrames(buf, o.stdout, o.stderr);
      return true;
    } catch (e) {
      if ((e as { statusCode?: number }).statusCode === 404) return false;
      throw e;
    }
  }
  let stream: NodeJS.ReadableStream;
  try {
    stream = (await c.logs({ stdout: true, stderr: true, follow: true })) as unknown as NodeJS.ReadableStream;
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode === 404) return false;
    throw e;
  }
  await new Promise<void>((resolve, reject) => {
    const stop = () => {
      (stream as unknown as { destroy?: () => void }).destroy?.();
      resolve();
    };
    if (o.signal?.aborted) return stop();
    o.signal?.addEventListener("abort", stop, { once: true });
    docker.modem.demuxStream(stream, o.stdout, o.stderr);
    stream.on("end", resolve);
    stream.on("close", resolve);
    stream.on("error", (e) => (o.signal?.aborted ? resolve() : reject(e)));
  });
  return true;
}

/** Docker's multiplexed frames written to two streams (pure but for the writes). */
function splitFrames(buf: Buffer, out: Writable, err: Writable): void {
  let i = 0;
  while (i + 8 <= buf.length && (buf[i] === 1 || buf[i] === 2) && buf[i + 1] === 0) {
    const len = buf.readUInt32BE(i + 4);
    (buf[i] === 2 ? err : out).write(buf.subarray(i + 8, i + 8 + len));
    i += 8 + len;
  }
  if (i === 0 && buf.length) out.write(buf);
}

/** The start script's line before it runs a task's commands (templates/local/start.sh). */
const COMMANDS_MARKER = "[dstack] commands";

/**
 * Why a stopped task container ended, from its exit code and output (pure): its commands exited
 * (with their code) once the start script reached them; else the start script failed (its error line).
 */
export function taskEndReason(exitCode: number, output: string): TerminationReason {
  if (output.includes(COMMANDS_MARKER)) return { kind: "exited", exit_code: exitCode };
  const error = /\[dstack\] error: (.*)/.exec(output)?.[1] ?? null;
  return { kind: "setup_failed", exit_code: exitCode, message: error ?? `the start script exited with code ${exitCode} before the commands ran` };
}

/**
 * Waits for the run's container to stop and says why it ended (`taskEndReason`); a container
 * that disappears is an interruption. Resolves null when `signal` aborts first.
 */
export async function waitInstanceExit(outputs: Record<string, unknown> | null, o: { signal?: AbortSignal; env?: NodeJS.ProcessEnv } = {}): Promise<TerminationReason | null> {
  const id = localContainerOf(outputs);
  if (!id) return { kind: "interrupted", message: "the run has no instance" };
  const docker = await dockerClient(o.env ?? process.env);
  const c = docker.getContainer(id);
  const waited = c.wait().then(
    (r: { StatusCode?: number }) => ({ code: r.StatusCode ?? null }),
    (e: unknown) => ((e as { statusCode?: number }).statusCode === 404 ? { code: null } : Promise.reject(e)),
  );
  const aborted = new Promise<null>((resolve) => {
    if (o.signal?.aborted) resolve(null);
    o.signal?.addEventListener("abort", () => resolve(null), { once: true });
  });
  const r = await Promise.race([waited, aborted]);
  if (r === null) return null;
  let info: { State: { ExitCode: number; Running: boolean } };
  try {
    info = await c.inspect();
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode === 404) return { kind: "interrupted", message: "the container was removed from outside dstack" };
    throw e;
  }
  const raw = (await c.logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer;
  const text = demuxLogs(Buffer.isBuffer(raw) ? raw : Buffer.from(String(raw)));
  return taskEndReason(r.code ?? info.State.ExitCode, text);
}

/** An engine event as a line of the run's log (what was created, updated, deleted, failed), or null (pure). */
export function engineEventLine(e: EngineEvent): string | null {
  const p = toProgress(e);
  if (!p) return null;
  if (p.kind === "step-start" && !p.planning) return `${p.op} ${p.name} (${p.type.replace(/^pulumi-nodejs:dynamic\//, "")})`;
  if (p.kind === "step-done" && !p.planning) return `${p.op} ${p.name}: done`;
  if (p.kind === "step-failed") return `${p.op} ${p.name}: failed`;
  if (p.kind === "log" && p.severity !== "info") return `${p.severity}: ${p.message}`;
  return null;
}

/**
 * Follows a task to its end: streams its output from the start (while it runs) and waits for
 * its container to stop; the reason it ended (`taskEndReason`), or null when `signal` aborts
 * first (the caller detaches; the task goes on).
 */
export async function followTask(
  outputs: Record<string, unknown> | null,
  o: { stdout: Writable; stderr: Writable; signal?: AbortSignal; env?: NodeJS.ProcessEnv },
): Promise<TerminationReason | null> {
  const cloud = await import("./cloud-observe");
  if (outputs && cloud.isCloudOutputs(outputs)) return cloud.followCloudTask(outputs, o);
  if (outputs?.backend === "kubernetes") return (await import("./kube-follow")).followKubeTask(outputs, o);
  const [, reason] = await Promise.all([followInstanceOutput(outputs, { ...o, follow: true }), waitInstanceExit(outputs, o)]);
  return o.signal?.aborted ? null : reason;
}
