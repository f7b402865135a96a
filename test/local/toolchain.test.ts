/**
 * The Pulumi toolchain: version comparison, which CLI is chosen (an old one is refused), the
 * nodejs plugin wrapper (absolute paths: starts from any directory without NODE_PATH), and
 * the environment handed to the engine.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { compareVersions, dynamicProviderScript, ensurePulumiBinary, findPulumiCandidates, installNodejsPlugin, expectedNodejsPlugin, PINNED_PULUMI_VERSION } from "../../src/stacks/toolchain";
import { engineEnv } from "../../src/stacks/state";
import { describeWhen, setupPulumiCli } from "../support/requirements";
import { tempDir } from "./fixtures";

describe("compareVersions", () => {
  it("orders dotted versions numerically, ignoring a v prefix and pre-release suffixes", () => {
    expect(compareVersions("v3.248.0", "3.248.0")).toBe(0);
    expect(compareVersions("3.249.0", "3.248.0")).toBeGreaterThan(0);
    expect(compareVersions("3.100.0", "3.248.0")).toBeLessThan(0);
    expect(compareVersions("3.248.1-dev.0", "3.248.0")).toBeGreaterThan(0);
    expect(compareVersions("4.0", "3.999.999")).toBeGreaterThan(0);
  });
});

describeWhen(setupPulumiCli, "Pulumi CLI discovery", () => {
  it("refuses an older CLI in DSTACK_HOME and falls back to ~/.dstack/pulumi/bin", async () => {
    const home = tempDir("dstack-tc-");
    const bin = path.join(home, "pulumi", "bin");
    fs.mkdirSync(bin, { recursive: true });
    fs.writeFileSync(path.join(bin, "pulumi"), "#!/bin/sh\necho v3.100.0\n", { mode: 0o755 });
    const env = { ...process.env, DSTACK_HOME: home, PATH: "/usr/bin:/bin" };
    const found = await findPulumiCandidates(env);
    expect(found[0]).toMatchObject({ source: "dstack-home", version: "3.100.0", ok: false });
    expect(found[1]).toMatchObject({ source: "user-home", ok: true });
    expect(compareVersions(found[1].version!, PINNED_PULUMI_VERSION)).toBeGreaterThanOrEqual(0);
  });

  it("ensurePulumiBinary finds it without building, writes the plugin beside it, and engineEnv puts it first on PATH", async () => {
    const r = await ensurePulumiBinary({ noInstall: true });
    expect(r.how).toBe("found");
    expect(fs.readFileSync(r.plugin, "utf8")).toBe(expectedNodejsPlugin(path.dirname(r.plugin)));
    const env = engineEnv(r, process.env, {});
    expect(env.PULUMI_SKIP_UPDATE_CHECK).toBe("true");
    expect(env.PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION).toBe("true");
    expect(env.PATH!.split(path.delimiter)[0]).toBe(r.binDir);
  });
});

describe("nodejs plugin wrapper", () => {
  it("is rewritten only when different and starts the dynamic provider from any directory", async () => {
    const dir = tempDir("dstack-plugin-");
    const p = installNodejsPlugin(dir);
    expect(fs.statSync(p).mode & 0o111).toBeTruthy();
    const text = fs.readFileSync(p, "utf8");
    expect(text).toContain(process.execPath);
    expect(text).toContain(dynamicProviderScript());
    expect(path.isAbsolute(dynamicProviderScript())).toBe(true);
    const mtime = fs.statSync(p).mtimeMs;
    installNodejsPlugin(dir);
    expect(fs.statSync(p).mtimeMs).toBe(mtime);

    // from / with no NODE_PATH: the provider binds a port and prints it (the engine's handshake)
    const env = { ...process.env };
    delete env.NODE_PATH;
    const child = spawn(p, ["127.0.0.1:1"], { cwd: "/", env, stdio: ["ignore", "pipe", "pipe"] });
    let timer: NodeJS.Timeout | undefined;
    const line = await new Promise<string>((resolve, reject) => {
      let out = "";
      child.stdout.on("data", (b: Buffer) => {
        out += b.toString();
        if (out.includes("\n")) resolve(out.trim());
      });
      child.on("exit", (code) => reject(new Error(`plugin exited ${code}`)));
      timer = setTimeout(() => reject(new Error("no port printed")), 15000);
    }).finally(() => clearTimeout(timer));
    child.kill();
    expect(line).toMatch(/^\d+$/);
  });
});

describe("base image recipe and mirror", () => {
  const script = path.join(__dirname, "..", "..", "scripts", "build-base-image.sh");
  function mirrorFor(files: Record<string, string>, suite?: string): string {
    const root = tempDir("dstack-apt-");
    for (const [rel, text] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
      fs.writeFileSync(path.join(root, rel), text);
    }
    const env: NodeJS.ProcessEnv = { ...process.env, DSTACK_APT_ROOT: root };
    delete env.DSTACK_DEBIAN_MIRROR;
    if (suite) env.DSTACK_DEBIAN_SUITE = suite;
    else delete env.DSTACK_DEBIAN_SUITE;
    return require("child_process").execFileSync("bash", [script, "--print-mirror"], { env, encoding: "utf8" }).trim();
  }

  it("reads the mirror of the bookworm suite from deb822 .sources or from sources.list", () => {
    const deb822 = [
      "Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\nComponents: main\n",
      "Types: deb deb-src\nURIs: http://mirror.example/debian http://other.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\n",
    ].join("\n");
    expect(mirrorFor({ "etc/apt/sources.list.d/debian.sources": deb822 })).toBe("http://mirror.example/debian");
    expect(mirrorFor({ "etc/apt/sources.list": "# c\ndeb [signed-by=/k.gpg arch=amd64] http://one.example/debian bookworm main\n" })).toBe("http://one.example/debian");
    expect(mirrorFor({ "etc/apt/sources.list": "deb http://sec.example/ bookworm-security main\ndeb http://two.example/debian bookworm main contrib\n" })).toBe("http://two.example/debian");
  });

  it("another suite (trixie, bullseye) comes from the mirror of this machine's own release", () => {
    const deb822 = "Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\nComponents: main\n\nTypes: deb\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\n";
    const files = { "etc/apt/sources.list.d/debian.sources": deb822, "etc/os-release": 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nVERSION_CODENAME=bookworm\n' };
    expect(mirrorFor(files, "trixie")).toBe("http://mirror.example/debian");
    expect(mirrorFor(files, "bullseye")).toBe("http://mirror.example/debian");
    // the suite's own entry wins
    expect(mirrorFor({ ...files, "etc/apt/sources.list": "deb http://trixie.example/debian trixie main\n" }, "trixie")).toBe("http://trixie.example/debian");
  });

  it("one base image per suite, each with its python; python: picks the suite", async () => {
    const { baseImageRef, BASE_SUITES, isBaseImageRef, offeredPythons, suiteForPython } = await import("../../src/stacks/base-image");
    const refs = BASE_SUITES.map((s) => baseImageRef(s.suite));
    expect(new Set(refs).size).toBe(3);
    for (const r of refs) expect([r, isBaseImageRef(r)]).toEqual([expect.stringMatching(/^dstack-base:[0-9a-f]{12}$/), true]);
    expect(isBaseImageRef("dstack-base:latest")).toBe(false);
    expect(isBaseImageRef("ubuntu:22.04")).toBe(false);
    expect(baseImageRef()).toBe(baseImageRef("bookworm"));
    expect([suiteForPython(null), suiteForPython("3"), suiteForPython("3.11"), suiteForPython("3.11.4")]).toEqual(["bookworm", "bookworm", "bookworm", "bookworm"]);
    expect([suiteForPython("3.13"), suiteForPython("3.9"), suiteForPython("3.12"), suiteForPython("3.10")]).toEqual(["trixie", "bullseye", null, null]);
    expect(offeredPythons()).toBe("3.9 (bullseye), 3.11 (bookworm), 3.13 (trixie)");
  });

  it("tags by the recipe, not by comments or mirror detection", async () => {
    const { baseImageRecipe } = await import("../../src/stacks/base-image");
    const text = fs.readFileSync(script, "utf8");
    const recipe = baseImageRecipe(text);
    expect(recipe).toContain("debootstrap --variant=minbase");
    expect(recipe).toContain("openssh-server,python3,python3-pip,python3-venv,python-is-python3,git,curl,ca-certificates");
    expect(recipe).toContain("EXTERNALLY-MANAGED"); // pip installs into the image's python
    expect(recipe).not.toContain("mirror_from_sources");
    expect(baseImageRecipe(text.replace("# Host keys are per container", "# a changed comment"))).toBe(recipe);
    expect(baseImageRecipe(text.replace("rm -f \"$ROOT\"/etc/ssh/ssh_host_*", "true"))).not.toBe(recipe);
  });
});

describe("pulumi version, once per binary", () => {
  it("is cached by the binary's real path, size and mtime, and asked again when the binary changes", async () => {
    const { cachedPulumiVersion } = await import("../../src/stacks/toolchain");
    const home = tempDir("dstack-vc-");
    const bin = path.join(home, "bin");
    fs.mkdirSync(bin);
    const calls = path.join(home, "calls");
    const fake = path.join(bin, "pulumi");
    fs.writeFileSync(fake, `#!/bin/sh\necho x >> ${calls}\necho v3.250.0\n`, { mode: 0o755 });
    const env = { ...process.env, DSTACK_HOME: path.join(home, "dstack") };
    const count = () => fs.readFileSync(calls, "utf8").split("\n").filter(Boolean).length;
    expect(await cachedPulumiVersion(fake, env)).toBe("3.250.0");
    expect(await cachedPulumiVersion(fake, env)).toBe("3.250.0");
    expect(count()).toBe(1);
    const link = path.join(home, "pulumi-link");
    fs.symlinkSync(fake, link);
    expect(await cachedPulumiVersion(link, env)).toBe("3.250.0"); // the same binary by its real path
    expect(count()).toBe(1);
    fs.writeFileSync(fake, `#!/bin/sh\necho x >> ${calls}\necho v3.251.0\n`, { mode: 0o755 });
    fs.utimesSync(fake, new Date(), new Date(Date.now() + 5000));
    expect(await cachedPulumiVersion(fake, env)).toBe("3.251.0");
    expect(count()).toBe(2);
    expect(await cachedPulumiVersion(path.join(bin, "absent"), env)).toBeNull();
  });
});
