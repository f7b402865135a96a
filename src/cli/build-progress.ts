/**
 * A prebuilt image's build as progress: Docker's classic-builder lines turned into indented
 * steps and command output (`buildProgressLine`, pure), and `up`'s build after the
 * confirmation, shown under a "building" phase of the progress display.
 */
import type { PrebuiltBuild } from "../runs/image-build";
import type { ProgressDisplay } from "./progress";

/**
 * One line of Docker's build output as shown: `Step 2/4 : RUN …` → `  step 2/4: RUN …`, the
 * commands' own output indented below it, and the builder's bookkeeping (` ---> <id>`,
 * `Running in`, `Removing intermediate container`, `Successfully built/tagged`) left out.
 */
export function buildProgressLine(line: string): string | null {
  const text = line.replace(/\s+$/, "");
  if (!text.trim()) return null;
  const step = /^Step (\d+\/\d+) : (.*)$/.exec(text);
  if (step) return `  step ${step[1]}: ${step[2].length > 100 ? step[2].slice(0, 99) + "…" : step[2]}`;
  if (/^ ---> /.test(text) || /^Removing intermediate container /.test(text) || /^Successfully (built|tagged) /.test(text)) return null;
  return `      ${text}`;
}

/** Builds `b` (runs' buildPending: E4114 on failure), its output as indented progress lines. */
export async function buildWithProgress(b: PrebuiltBuild, display: ProgressDisplay): Promise<void> {
  const { buildPending } = await import("../runs/local-preflight");
  display.phase(`building ${b.ref}`);
  await buildPending(b, (l) => {
    const shown = buildProgressLine(l);
    if (shown !== null) display.handle({ kind: "log", severity: "info", message: shown });
  });
}
