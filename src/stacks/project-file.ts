/**
 * The workspace's Pulumi.yaml, shared by every run of a state backend. Written atomically
 * (aside, then renamed over) and only when its content differs, so that an engine starting
 * for another run never reads a half-written file.
 */
import * as fs from "fs";
import * as path from "path";

/** Pulumi.yaml's text (pure). The URL is a JSON string, which YAML reads as a quoted scalar. */
export function projectFileText(project: string, backendUrl: string): string {
  return `name: ${project}\nruntime: nodejs\nbackend:\n  url: ${JSON.stringify(backendUrl)}\n`;
}

/** Writes `text` to `file` through a temporary file and rename(2), unless it already holds it. */
export function writeFileAtomicIfDifferent(file: string, text: string, mode = 0o644): boolean {
  try {
    if (fs.readFileSync(file, "utf8") === text) return false;
  } catch {
    // absent
  }
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  try {
    fs.writeFileSync(tmp, text, { mode });
    fs.renameSync(tmp, file);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  return true;
}

/** The workspace folder's Pulumi.yaml for this project and backend. */
export function writeProjectFile(workDir: string, project: string, backendUrl: string): void {
  writeFileAtomicIfDifferent(path.join(workDir, "Pulumi.yaml"), projectFileText(project, backendUrl));
}
