/**
 * The repo's code for a cloud run: `dstack up` streams the repo's files (src/runs/repo-files.ts:
 * .gitignore and .dstackignore honoured) as a tar over SSH into /workflow of the run's
 * container, then touches /workflow/.dstack-uploaded, which the container's entry script waits
 * for before `setup`, `init` and the commands. The size is reported; past the limit
 * (DSTACK_CODE_UPLOAD_LIMIT bytes, default 500 MB) nothing is sent and E6350 says what to ignore.
 */
import { DstackError, ExitCode } from "../diagnostics";
import { extractTarOverSsh } from "../ssh/upload";
import type { RunKey } from "../ssh/keys";
import { listRepoFiles, repoTar } from "./repo-files";

export const DEFAULT_UPLOAD_LIMIT = 500 * 1024 * 1024;
export const UPLOAD_DIR = "/workflow";
export const UPLOAD_MARKER = ".dstack-uploaded";

export interface UploadResult {
  files: number;
  /** Bytes of the files. */
  bytes: number;
  /** Bytes of the tar stream sent. */
  sent: number;
}

export function uploadLimit(env: NodeJS.ProcessEnv = process.env): number {
  const v = Number(env.DSTACK_CODE_UPLOAD_LIMIT);
  return Number.isFinite(v) && v > 0 ? v : DEFAULT_UPLOAD_LIMIT;
}

/** `12.3 MB` */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(2)} GB`;
}

/** Uploads `repoDir` to the run's /workflow over SSH (pinned host key); throws E6350 / E6351. */
export async function uploadRepo(
  repoDir: string,
  outputs: Record<string, unknown>,
  key: RunKey,
  o: { env?: NodeJS.ProcessEnv; onStart?: (files: number, bytes: number) => void } = {},
): Promise<UploadResult> {
  const files = listRepoFiles(repoDir);
  const bytes = files.reduce((n, f) => n + f.size, 0);
  const limit = uploadLimit(o.env);
  if (bytes > limit) {
    const biggest = [...files].sort((a, b) => b.size - a.size).slice(0, 3).map((f) => `${f.path} (${formatBytes(f.size)})`);
    throw new DstackError(
      {
        code: "E6350",
        severity: "error",
        message: `the repo's files (${files.length} files, ${formatBytes(bytes)}) exceed the upload limit of ${formatBytes(limit)}; the largest: ${biggest.join(", ")}`,
        hint: "list what the run does not need in .dstackignore (or .gitignore), put data on a volume, or raise DSTACK_CODE_UPLOAD_LIMIT (bytes)",
      },
      ExitCode.Usage,
    );
  }
  o.onStart?.(files.length, bytes);
  const host = outputs.ssh_host;
  const port = outputs.ssh_port;
  const user = outputs.ssh_user;
  const hostKey = typeof outputs.host_key === "string" ? outputs.host_key : null;
  if (typeof host !== "string" || typeof port !== "number" || typeof user !== "string") throw new Error("the run's outputs lack ssh_host / ssh_port / ssh_user");
  try {
    const sent = await extractTarOverSsh({ host, port, username: user, privateKey: key.privateKey, hostKey }, repoTar(repoDir, { files }), UPLOAD_DIR, UPLOAD_MARKER);
    return { files: files.length, bytes, sent };
  } catch (e) {
    throw new DstackError(
      {
        code: "E6351",
        severity: "error",
        message: `uploading the repo to ${UPLOAD_DIR} on ${host}:${port} failed: ${(e as Error).message}`,
        hint: "run `dstack up` again (the upload is repeated); the run is kept until `dstack down`",
      },
      ExitCode.Provisioning,
    );
  }
}
