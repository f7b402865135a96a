import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as tarStream from "tar-stream";
import { listRepoFiles, repoFilesHash, repoTar } from "../../src/runs/repo-files";

function repo(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dstack-repo-files-"));
  for (const [rel, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), content);
  }
  return dir;
}

async function untar(stream: NodeJS.ReadableStream): Promise<Record<string, { type: string; mode: number; body: string; linkname?: string }>> {
  const out: Record<string, { type: string; mode: number; body: string; linkname?: string }> = {};
  const extract = tarStream.extract();
  await new Promise<void>((resolve, reject) => {
    extract.on("entry", (header, body, next) => {
      const chunks: Buffer[] = [];
      body.on("data", (c: unknown) => chunks.push(c as Buffer));
      body.on("end", () => {
        out[header.name] = { type: header.type ?? "file", mode: header.mode ?? 0, body: Buffer.concat(chunks).toString(), linkname: header.linkname ?? undefined };
        next();
      });
    });
    extract.on("finish", resolve);
    extract.on("error", reject);
    stream.pipe(extract);
  });
  return out;
}

describe("repo files", () => {
  let dir: string;
  beforeEach(() => {
    dir = repo({
      "requirements.txt": "local-pkg\n",
      "src/app.py": "print('hi')\n",
      ".gitignore": "*.log\nbuild/\n/secret.txt\n!keep.log\n",
      "debug.log": "x",
      "keep.log": "kept",
      "build/out.bin": "x",
      "secret.txt": "x",
      "src/secret.txt": "nested: only /secret.txt at the top is ignored",
      "data/.dstackignore": "*.csv\n",
      "data/big.csv": "1,2",
      "data/README.md": "data",
      "models/.gitignore": "*\n!.gitignore\n!small.bin\n",
      "models/weights.bin": "x",
      "models/small.bin": "s",
      ".git/HEAD": "ref: refs/heads/main\n",
      ".git/info/exclude": "local-notes.md\n",
      "local-notes.md": "x",
    });
    fs.chmodSync(path.join(dir, "src/app.py"), 0o775);
    fs.symlinkSync("src/app.py", path.join(dir, "app-link"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("lists the repo without .git and what .gitignore, .dstackignore and .git/info/exclude leave out, nested rules relative to their folder", () => {
    expect(listRepoFiles(dir).map((f) => f.path)).toEqual([
      ".gitignore",
      "app-link",
      "data/.dstackignore",
      "data/README.md",
      "keep.log",
      "models/.gitignore",
      "models/small.bin",
      "requirements.txt",
      "src/app.py",
      "src/secret.txt",
    ]);
    const byPath = Object.fromEntries(listRepoFiles(dir).map((f) => [f.path, f]));
    expect(byPath["src/app.py"]).toMatchObject({ kind: "file", mode: 0o755, size: 12 });
    expect(byPath["requirements.txt"]).toMatchObject({ kind: "file", mode: 0o644 });
    expect(byPath["app-link"]).toMatchObject({ kind: "symlink", target: "src/app.py" });
  });

  it("an ignored folder is not entered: nothing under it comes back", () => {
    fs.writeFileSync(path.join(dir, ".dstackignore"), "data/\n");
    fs.writeFileSync(path.join(dir, "data/.gitignore"), "!big.csv\n");
    expect(listRepoFiles(dir).filter((f) => f.path.startsWith("data/"))).toEqual([]);
  });

  it("the hash follows contents, names and exec bits, not ignored files or mtimes", () => {
    const h0 = repoFilesHash(dir);
    fs.writeFileSync(path.join(dir, "debug.log"), "changed, but ignored");
    fs.utimesSync(path.join(dir, "requirements.txt"), new Date(1000), new Date(1000));
    expect(repoFilesHash(dir)).toBe(h0);
    fs.writeFileSync(path.join(dir, "requirements.txt"), "other-pkg\n");
    const h1 = repoFilesHash(dir);
    expect(h1).not.toBe(h0);
    fs.chmodSync(path.join(dir, "requirements.txt"), 0o755);
    expect(repoFilesHash(dir)).not.toBe(h1);
    fs.renameSync(path.join(dir, "data/README.md"), path.join(dir, "data/README2.md"));
    expect(repoFilesHash(dir)).not.toBe(h1);
  });

  it("packs the listed files (links as links, modes normalized) under a prefix, plus extra entries", async () => {
    const entries = await untar(repoTar(dir, { prefix: "workflow", extra: [{ name: "Dockerfile", content: "FROM x\n" }] }));
    expect(Object.keys(entries).sort()).toEqual(["workflow/", ...listRepoFiles(dir).map((f) => `workflow/${f.path}`), "Dockerfile"].sort());
    expect(entries["workflow/requirements.txt"]).toMatchObject({ type: "file", mode: 0o644, body: "local-pkg\n" });
    expect(entries["workflow/src/app.py"]).toMatchObject({ mode: 0o755, body: "print('hi')\n" });
    expect(entries["workflow/app-link"]).toMatchObject({ type: "symlink", linkname: "src/app.py" });
    expect(entries["Dockerfile"].body).toBe("FROM x\n");
    expect(entries["workflow/"].type).toBe("directory");
  });
});
