/**
 * Building a prebuilt image (`build:` commands on top of `from`) over the Docker Engine API: the
 * one build routine, used by `dstack build` and, after the plan and the confirmation, by
 * `dstack up --build` / `--force-build` (src/runs/local-preflight.ts). The engine never builds:
 * LocalImage finds the image made here.
 *
 * The build context is the repo's files (src/runs/repo-files.ts: .gitignore and .dstackignore
 * honoured), so `build:` commands see them, as a run sees them at /workflow:
 *
 *   context/            the repo's files (under a folder of its own, so that the repo's own
 *                       .dockerignore or Dockerfile play no part)
 *   Dockerfile          FROM <from>; COPY context/ /workflow/; RUN the script; LABEL …
 *   dstack-build.sh     set -e; cd <working_dir>; the commands
 *
 * The commands run in the run's working_dir (default /workflow), the files stay in the image at
 * /workflow (the container mounts the live repo over them). Host networking (the engine has
 * no bridge). The plan's hash covers the files (PlanContext.buildContextHash), so a changed
 * file means a new image.
 */
import type Docker from "dockerode";
import type { Plan } from "../compiler/plan";
import { dockerClient } from "../stacks/docker";
import { listRepoFiles, repoTar } from "./repo-files";

export interface PrebuiltBuild {
  /** Image to build from. */
  from: string;
  commands: string[];
  /** Directory the commands run in (absolute, in the image). */
  working_dir: string;
  /** The prebuilt image's content hash (its `dstack.prebuilt` label). */
  hash: string;
  /** Tag to give the result (`dstack-prebuilt:<hash>`). */
  ref: string;
  /** Host folder whose files are the build context (the repo); null: no files. */
  context_dir: string | null;
  labels?: Record<string, string>;
}

/** The prebuilt build of a plan (null when the plan's image is not prebuilt). */
export function prebuiltBuildOf(plan: Plan): PrebuiltBuild | null {
  const b = plan.image.build;
  if (plan.image.kind !== "prebuilt" || !b) return null;
  return { from: b.from, commands: b.commands, working_dir: b.working_dir, hash: b.hash, ref: plan.image.ref, context_dir: plan.repo_dir ?? null };
}

/** The generated Dockerfile and build script (pure). */
export function buildFiles(b: PrebuiltBuild): { dockerfile: string; script: string } {
  const script = ["set -e", "export DEBIAN_FRONTEND=noninteractive", `mkdir -p ${shellQuote(b.working_dir)}`, `cd ${shellQuote(b.working_dir)}`, ...b.commands].join("\n") + "\n";
  const labels = { ...(b.labels ?? {}), "dstack.prebuilt": b.hash, "dstack.from": b.from };
  const dockerfile =
    [
      `FROM ${b.from}`,
      "COPY context/ /workflow/",
      "COPY dstack-build.sh /tmp/dstack-build.sh",
      "RUN if [ -x /bin/bash ]; then /bin/bash -e /tmp/dstack-build.sh; else /bin/sh -e /tmp/dstack-build.sh; fi && rm -f /tmp/dstack-build.sh",
      `LABEL ${Object.entries(labels)
        .map(([k, v]) => `${JSON.stringify(k)}=${JSON.stringify(v)}`)
        .join(" ")}`,
    ].join("\n") + "\n";
  return { dockerfile, script };
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * Builds `b` and resolves to the image id. Docker's output arrives line by line at `onLine`
 * (the caller renders it: the CLI indents it under a "building" phase). Throws on failure.
 */
export async function buildPrebuiltImage(b: PrebuiltBuild, onLine: (line: string) => void, docker?: Docker): Promise<string> {
  const client = docker ?? (await dockerClient());
  const { dockerfile, script } = buildFiles(b);
  const files = b.context_dir ? listRepoFiles(b.context_dir) : [];
  const context = repoTar(b.context_dir ?? "/", {
    prefix: "context/",
    files,
    extra: [
      { name: "Dockerfile", content: dockerfile },
      { name: "dstack-build.sh", content: script, mode: 0o755 },
    ],
  });
  const stream = await client.buildImage(context as unknown as NodeJS.ReadableStream, { t: b.ref, networkmode: "host", rm: true, forcerm: true });
  let error: string | null = null;
  let pending = "";
  await new Promise<void>((resolve, reject) => {
    client.modem.followProgress(
      stream,
      (err: Error | null) => (err ? reject(err) : resolve()),
      (ev: { stream?: string; error?: string; errorDetail?: { message?: string }; status?: string }) => {
        if (ev.error) error = ev.errorDetail?.message ?? ev.error;
        pending += ev.stream ?? (ev.status ? ev.status + "\n" : "");
        const lines = pending.split("\n");
        pending = lines.pop() ?? "";
        for (const l of lines) if (l.trim()) onLine(l.replace(/\r/g, ""));
      },
    );
  });
  if (pending.trim()) onLine(pending);
  if (error) throw new Error(`building ${b.ref} failed: ${error}`);
  return (await client.getImage(b.ref).inspect()).Id;
}
