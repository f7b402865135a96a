/**
 * Stack tags, stack removal and secret outputs, straight through the state backend or the CLI
 * (no Automation API):
 * - tags: Pulumi's DIY backends (3.248) keep a stack's tags in `<stack>.pulumi-tags` beside its
 *   checkpoint, `{"version": 1, "tags": {…}}` (pkg/backend/diy/stack_tags.go; the engine never
 *   rewrites it during an update). With the file backend dstack reads and writes that file
 *   directly (written aside and renamed: a reader never sees half of it); with any other backend
 *   it runs `pulumi stack tag ls --json` / `pulumi stack tag set`. `pulumi stack ls --tag k=v`
 *   filters on them either way.
 * - `removeStack`: `pulumi stack rm --yes` (a stack with no resources: an ended run's record);
 * - `readSecretOutput`: one output decrypted (`pulumi stack output NAME --show-secrets --json`).
 */
import * as fs from "fs";
import * as path from "path";
import { writeFileAtomic } from "../paths";
import { runCli } from "./cli-run";
import { engineError } from "./errors";
import { postgresBackend, readTagsTextFromPostgres } from "./postgres-state";
import { diyStacksDir, stateBackendUrl } from "./state";

const TAGS_VERSION = 1;

function tagsFile(stacksDir: string, runName: string): string {
  return path.join(stacksDir, `${runName}.pulumi-tags`);
}

/** Parses a DIY tags file (pure); null for an unknown layout. */
export function parseTagsFile(text: string): Record<string, string> | null {
  try {
    const doc = JSON.parse(text) as { version?: number; tags?: Record<string, unknown> };
    if (doc.version !== TAGS_VERSION) return null;
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(doc.tags ?? {})) if (typeof v === "string") out[k] = v;
    return out;
  } catch {
    return null;
  }
}

/** The file backend's tags of a stack (no CLI); `{}` when it has none, undefined for other backends or an unknown layout. */
export function readTagsFromFile(runName: string, env: NodeJS.ProcessEnv = process.env): Record<string, string> | undefined {
  const dir = diyStacksDir(env);
  if (!dir) return undefined;
  let text: string;
  try {
    text = fs.readFileSync(tagsFile(dir, runName), "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return {};
    return undefined;
  }
  return parseTagsFile(text) ?? undefined;
}

/** A stack's tags (`{}` for a stack without tags; null when there is no such stack). */
export async function readStackTags(runName: string, env: NodeJS.ProcessEnv = process.env): Promise<Record<string, string> | null> {
  const fast = readTagsFromFile(runName, env);
  if (fast !== undefined) return fast;
  // PostgreSQL backend: the same `.pulumi-tags` blob, read from its table (postgres-state.ts)
  const pg = postgresBackend(stateBackendUrl(env));
  if (pg) {
    const text = await readTagsTextFromPostgres(pg, runName);
    if (text === null) return null;
    const parsed = text === "" ? {} : parseTagsFile(text);
    if (parsed) return parsed;
  }
  try {
    const { stdout } = await runCli(["stack", "tag", "ls", "--json", "--stack", runName], env);
    const tags = JSON.parse(stdout || "{}") as Record<string, unknown>;
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(tags)) if (typeof v === "string") out[k] = v;
    return out;
  } catch (e) {
    if (/no stack named|not found|does not exist/i.test(cliText(e))) return null;
    throw engineError(e, `reading the tags of ${runName}`);
  }
}

/**
 * Sets tags on a stack (others kept; an empty value removes the tag). The file backend's file
 * is rewritten whole (atomically); other backends get one `pulumi stack tag set|rm` per tag.
 * Callers serialize writers of one run (dstack's run lock).
 */
export async function setStackTags(runName: string, tags: Record<string, string>, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const dir = diyStacksDir(env);
  if (dir) {
    const file = tagsFile(dir, runName);
    let current: Record<string, string> = {};
    try {
      current = parseTagsFile(fs.readFileSync(file, "utf8")) ?? {};
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    }
    const next: Record<string, string> = { ...current };
    for (const [k, v] of Object.entries(tags)) {
      if (v === "") delete next[k];
      else next[k] = v;
    }
    // what `pulumi stack tag set` adds to a DIY stack's tags
    next["pulumi:project"] ??= "dstack";
    fs.mkdirSync(dir, { recursive: true });
    writeFileAtomic(file, JSON.stringify({ version: TAGS_VERSION, tags: next }, null, 4) + "\n", 0o644);
    return;
  }
  for (const [k, v] of Object.entries(tags)) {
    try {
      await runCli(v === "" ? ["stack", "tag", "rm", k, "--stack", runName] : ["stack", "tag", "set", k, v, "--stack", runName], env);
    } catch (e) {
      if (v === "" && /not found|no tag/i.test(cliText(e))) continue;
      throw engineError(e, `tagging ${runName}`, runName);
    }
  }
}

/** `pulumi stack rm --yes`: removes a stack that holds no resources, with its history, settings and tags. */
export async function removeStack(runName: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  try {
    await runCli(["stack", "rm", "--yes", "--stack", runName], env);
  } catch (e) {
    if (/no stack named|not found|does not exist/i.test(cliText(e))) return;
    throw engineError(e, `removing the record of ${runName}`, runName);
  }
}

/** One stack output, decrypted (`pulumi stack output NAME --show-secrets --json`); null when absent. */
export async function readSecretOutput(runName: string, output: string, env: NodeJS.ProcessEnv = process.env): Promise<unknown> {
  try {
    const { stdout } = await runCli(["stack", "output", output, "--show-secrets", "--json", "--stack", runName], env);
    return stdout.trim() ? (JSON.parse(stdout) as unknown) : null;
  } catch (e) {
    if (/not found|no output|does not exist|no stack named/i.test(cliText(e))) return null;
    throw engineError(e, `reading ${output} of ${runName}`, runName);
  }
}

function cliText(e: unknown): string {
  return `${(e as { commandResult?: { stderr?: string } }).commandResult?.stderr ?? ""} ${(e as Error).message ?? ""}`;
}
