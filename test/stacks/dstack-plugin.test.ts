/**
 * dstack's provider plugin as `dstack setup` installs it: a wrapper in PULUMI_HOME's plugins
 * folder (the engine's plugin cache layout), rewritten only when different, that starts the
 * bundle from any directory and answers the engine's handshake (its gRPC port on stdout);
 * a package without the plugin built is E4160.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { dstackPluginPath, dstackPluginScript, dstackPluginWrapper, enginePulumiHome, installDstackPlugin } from "../../src/stacks/dstack-plugin";
import { packageVersion } from "../../src/paths";
import { builtPlugin, describeWhen } from "../support/requirements";

const tmp = (p: string) => fs.mkdtempSync(path.join(os.tmpdir(), p));

describe("dstack provider plugin: paths", () => {
  it("lives in the plugin cache layout under the engine's PULUMI_HOME, versioned like dstack", () => {
    expect(dstackPluginPath("/ph", "1.2.3")).toBe("/ph/plugins/resource-dstack-v1.2.3/pulumi-resource-dstack");
    expect(enginePulumiHome({ DSTACK_HOME: "/d" })).toBe("/d/pulumi/home");
    expect(enginePulumiHome({ DSTACK_HOME: "/d", PULUMI_HOME: "/p" })).toBe("/d/pulumi/home");
    expect(enginePulumiHome({ DSTACK_HOME: "/d", PULUMI_HOME: "/p", DSTACK_USE_PULUMI_HOME: "1" })).toBe("/p");
    expect(dstackPluginWrapper("/x/it's.js", "/usr/bin/node")).toContain(`exec '/usr/bin/node' '/x/it'\\''s.js' "$@"`);
  });

  it("is E4160 when the package has no plugin built", () => {
    expect(() => dstackPluginScript(tmp("dstack-noplugin-"))).toThrow(expect.objectContaining({ diagnostics: [expect.objectContaining({ code: "E4160" })] }));
  });
});

describeWhen(builtPlugin, "dstack provider plugin: installed", () => {
  it("is written once, and starts from any directory, printing the port the engine connects to", async () => {
    const home = tmp("dstack-ph-");
    const p = installDstackPlugin(home);
    expect(p).toBe(dstackPluginPath(home, packageVersion()));
    expect(fs.statSync(p).mode & 0o111).toBeTruthy();
    expect(fs.readFileSync(p, "utf8")).toContain(path.join("dist", "bundle", "pulumi-resource-dstack.js"));
    const mtime = fs.statSync(p).mtimeMs;
    installDstackPlugin(home);
    expect(fs.statSync(p).mtimeMs).toBe(mtime);

    const child = spawn(p, [], { cwd: tmp("dstack-cwd-"), env: { PATH: "/usr/bin:/bin" }, stdio: ["ignore", "pipe", "pipe"] });
    try {
      const port = await new Promise<string>((resolve, reject) => {
        let out = "";
        let err = "";
        child.stdout.on("data", (d: Buffer) => {
          out += d.toString();
          if (out.includes("\n")) resolve(out.trim());
        });
        child.stderr.on("data", (d: Buffer) => (err += d.toString()));
        child.on("exit", (code) => reject(new Error(`the plugin exited ${code}: ${err}`)));
      });
      expect(port).toMatch(/^\d+$/);
    } finally {
      child.kill();
    }
  });
});
