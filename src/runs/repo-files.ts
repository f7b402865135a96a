/**
 * The repo's files as a run sees them: what `build:` commands find in their working directory
 * (the local backend's image build context) and what a cloud run gets at /workflow.
 *
 *   listRepoFiles(dir)            -> RepoFile[]   sorted by path; .git, .gitignore'd and
 *                                                  .dstackignore'd paths left out
 *   repoFilesHash(dir[, files])   -> string       sha256 (hex) of paths, kinds, exec bits and contents
 *   repoTar(dir[, opts])          -> Readable     a tar stream of those files (tar-stream), paths
 *                                                  under opts.prefix, plus opts.extra entries
 *
 * Ignore rules, as git reads them: `.gitignore` and `.dstackignore` in every folder (their
 * patterns are relative to that folder; a later rule, or a deeper file's, wins: `!keep.txt`
 * re-includes), plus `.git/info/exclude` at the top. A folder that is ignored is not entered,
 * so nothing under it can be re-included (git's rule too). The ignore files themselves are
 * part of the listing. `.git` is never listed. Symbolic links are kept as links (never
 * followed); sockets, fifos and devices are skipped. Modes are normalized to 0644 / 0755 (the
 * owner's exec bit), so the hash and the tar depend on contents, not on umasks or mtimes.
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import type { Readable } from "stream";
import ignore, { type Ignore } from "ignore";
import * as tarStream from "tar-stream";

export interface RepoFile {
  /** Path relative to the repo, with `/` separators (`src/main.py`). */
  path: string;
  kind: "file" | "symlink";
  /** 0o644 or 0o755 (files); 0o777 (links). */
  mode: number;
  /** Bytes (files); 0 for links. */
  size: number;
  /** The link's target as written (links only). */
  target?: string;
}

/** The names of the per-folder ignore files, in the order their rules apply. */
export const IGNORE_FILES = [".gitignore", ".dstackignore"] as const;

interface Rules {
  /** Folder the rules are relative to, `""` for the top, else `a/b/`. */
  base: string;
  ig: Ignore;
}

function readRules(file: string): string | null {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return null;
  }
}

function rulesOf(absDir: string, base: string, top: boolean): Rules | null {
  const ig = ignore();
  let any = false;
  if (top) {
    const exclude = readRules(path.join(absDir, ".git", "info", "exclude"));
    if (exclude !== null) {
      ig.add(exclude);
      any = true;
    }
  }
  for (const name of IGNORE_FILES) {
    const text = readRules(path.join(absDir, name));
    if (text !== null) {
      ig.add(text);
      any = true;
    }
  }
  return any ? { base, ig } : null;
}

/** Whether `rel` (a file, or a folder when `dir`) is ignored by the rules in force. */
function ignored(rel: string, dir: boolean, stack: Rules[]): boolean {
  let result = false;
  for (const r of stack) {
    const sub = rel.slice(r.base.length) + (dir ? "/" : "");
    const t = r.ig.test(sub);
    if (t.ignored) result = true;
    else if (t.unignored) result = false;
  }
  return result;
}

/** The repo's files (see the module comment for the rules), sorted by path. */
export function listRepoFiles(dir: string): RepoFile[] {
  const root = path.resolve(dir);
  const out: RepoFile[] = [];
  const walk = (absDir: string, rel: string, stack: Rules[]) => {
    const own = rulesOf(absDir, rel, rel === "");
    const rules = own ? [...stack, own] : stack;
    const entries = fs.readdirSync(absDir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const relPath = rel + e.name;
      const abs = path.join(absDir, e.name);
      if (e.isDirectory()) {
        if (e.name === ".git" || ignored(relPath, true, rules)) continue;
        walk(abs, relPath + "/", rules);
      } else if (e.isSymbolicLink()) {
        if (ignored(relPath, false, rules)) continue;
        out.push({ path: relPath, kind: "symlink", mode: 0o777, size: 0, target: fs.readlinkSync(abs) });
      } else if (e.isFile()) {
        if (ignored(relPath, false, rules)) continue;
        const st = fs.statSync(abs);
        out.push({ path: relPath, kind: "file", mode: st.mode & 0o100 ? 0o755 : 0o644, size: st.size });
      }
    }
  };
  walk(root, "", []);
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** sha256 (hex) of the listed files: each one's path, kind, mode and contents (or link target). */
export function repoFilesHash(dir: string, files: RepoFile[] = listRepoFiles(dir)): string {
  const root = path.resolve(dir);
  const h = createHash("sha256");
  for (const f of files) {
    h.update(`${f.kind}\0${f.path}\0${f.mode.toString(8)}\0`);
    if (f.kind === "symlink") h.update(`${f.target ?? ""}\0`);
    else {
      const content = fs.readFileSync(path.join(root, f.path));
      h.update(`${content.length}\0`);
      h.update(content);
    }
  }
  return h.digest("hex");
}

export interface RepoTarEntry {
  /** Path inside the tar (no prefix is added). */
  name: string;
  content: string | Buffer;
  mode?: number;
}

export interface RepoTarOptions {
  /** Folder inside the tar the repo's files go under (`""`: the top, the default; `workflow/`); it gets an entry of its own. */
  prefix?: string;
  /** The listing to pack (default: listRepoFiles(dir)). */
  files?: RepoFile[];
  /** More entries, added after the repo's files (a Dockerfile, a script). */
  extra?: RepoTarEntry[];
}

/**
 * A tar stream (ustar/pax, from tar-stream) of the repo's files: regular files and symbolic
 * links with normalized modes, mtime 0 and uid/gid 0, read one at a time. Errors reading a
 * file end the stream with that error.
 */
export function repoTar(dir: string, opts: RepoTarOptions = {}): Readable {
  const root = path.resolve(dir);
  const files = opts.files ?? listRepoFiles(root);
  const prefix = opts.prefix ? opts.prefix.replace(/\/*$/, "/") : "";
  const pack = tarStream.pack();
  const common = { mtime: new Date(0), uid: 0, gid: 0 };
  const entry = (header: Partial<tarStream.Header> & { name: string }, body?: string | Buffer) =>
    new Promise<void>((resolve, reject) => {
      pack.entry(header, body ?? "", (err) => (err ? reject(err) : resolve()));
    });
  (async () => {
    if (prefix) await entry({ ...common, name: prefix, type: "directory", mode: 0o755 }); // present even for an empty repo
    for (const f of files) {
      const name = prefix + f.path;
      if (f.kind === "symlink") await entry({ ...common, name, type: "symlink", linkname: f.target ?? "", mode: 0o777 });
      else await entry({ ...common, name, type: "file", mode: f.mode }, await fs.promises.readFile(path.join(root, f.path)));
    }
    for (const x of opts.extra ?? []) await entry({ ...common, name: x.name, type: "file", mode: x.mode ?? 0o644 }, x.content);
    pack.finalize();
  })().catch((e: Error) => pack.destroy(e));
  return pack as unknown as Readable; // tar-stream's Pack is a streamx Readable, read as a node one
}
