/**
 * The workspace's Pulumi.yaml, shared by every run of a state backend. Written atomically
 * (aside, then renamed over) and only when its content differs, so that an engine starting
 * for another run never reads a half-written file.
 */
import * as path from "path";
import { writeFileAtomicIfDifferent } from "../paths";

/** Pulumi.yaml's text (pure). The URL is a JSON string, which YAML reads as a quoted scalar. */
export function projectFileText(project: string, backendUrl: string): string {
  return `name: ${project}\nruntime: nodejs\nbackend:\n  url: ${JSON.stringify(backendUrl)}\n`;
}

/** The workspace folder's Pulumi.yaml for this project and backend. */
export function writeProjectFile(workDir: string, project: string, backendUrl: string): void {
  writeFileAtomicIfDifferent(path.join(workDir, "Pulumi.yaml"), projectFileText(project, backendUrl));
}
