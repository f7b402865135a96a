/**
 * Bundles with esbuild (run by `npm run build`, after tsc), from tsc's output in dist/:
 * - dist/bundle/pulumi-resource-dstack.js: dstack's provider plugin (bin/pulumi-resource-dstack.js
 *   → src/compiler/backends/local/plugin.ts), everything it uses in one file;
 * - dist/bundle/dstack.js: the CLI (cli.ts; bin/dstack runs it when present), dstack's own
 *   code and its light dependencies in one file. The Pulumi packages stay outside (loaded from
 *   node_modules as before, so that a cloud SDK and the Automation API share one @pulumi/pulumi,
 *   whose unused modules src/stacks/deferred-modules.ts defers), and so does ssh2 (its native
 *   crypto binding is found beside it). Modules are still evaluated on first use (tsc's
 *   `import()` becomes a lazy require in the bundle), so a light command stays light.
 *
 * One file loads faster than the hundreds of modules it holds (no module resolution, one
 * compile), and it holds only what the plugin reaches. Modules the plugin reaches at load but
 * never calls are replaced by lazy stand-ins (LAZY below) that load the real module, from
 * node_modules, on first use — so behaviour is unchanged, only the load is deferred.
 *
 *   node dist/scripts/bundle.js        (npm run build does it)
 */
import * as path from "path";
import type { Plugin } from "esbuild";
import { packageRoot } from "../src/paths";

/**
 * Loaded at start by what the plugin imports, used only on paths dstack's plugin never takes:
 * [importer (a path suffix, or "" for any), request, the module to load on first use].
 * - docker-modem's ssh transport (ssh2, for DOCKER_HOST=ssh://);
 * - dockerode's BuildKit session (gRPC proto loading; builds with `version: "2"` only);
 * - TypeScript and npm's arborist (Pulumi's closure serialization, for dynamic providers).
 */
export const LAZY: [string, string, string][] = [
  ["docker-modem/lib/modem.js", "./ssh", "docker-modem/lib/ssh"],
  ["dockerode/lib/docker.js", "./session", "dockerode/lib/session"],
  ["", "../../typescript-shim", "@pulumi/pulumi/typescript-shim"],
  ["", "./typescript-shim", "@pulumi/pulumi/typescript-shim"],
  ["", "@npmcli/arborist", "@npmcli/arborist"],
];

/** A module whose exports (a function or an object) are loaded on first call or property read. */
function lazyModule(request: string): string {
  return `"use strict";
let real;
const load = () => real || (real = require(${JSON.stringify(request)}));
module.exports = new Proxy(function () {}, {
  apply: (_t, self, args) => load().apply(self, args),
  construct: (_t, args) => new (load())(...args),
  // __esModule answered without loading: __importStar then keeps this object (reads go through it)
  get: (_t, k) => (k === "__esModule" ? true : load()[k]),
  has: (_t, k) => k in load(),
});
`;
}

export const lazyPlugin: Plugin = {
  name: "dstack-lazy",
  setup(build) {
    for (const [importer, request, target] of LAZY) {
      const filter = new RegExp(`^${request.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}$`);
      build.onResolve({ filter }, (args) => {
        if (importer && !args.importer.replace(/\\/g, "/").endsWith(importer)) return undefined;
        return { path: target, namespace: "dstack-lazy" };
      });
    }
    build.onLoad({ filter: /.*/, namespace: "dstack-lazy" }, (args) => ({ contents: lazyModule(args.path), loader: "js", resolveDir: packageRoot() }));
  },
};

export async function bundle(root = packageRoot()): Promise<string[]> {
  const esbuild = await import("esbuild");
  const out = path.join(root, "dist", "bundle");
  const entries = {
    "pulumi-resource-dstack": {
      module: path.join(root, "bin", "pulumi-resource-dstack.js"),
      start: (m: string) => `require(${JSON.stringify(m)});`,
      external: ["*.node", "cpu-features"],
    },
    dstack: {
      module: path.join(root, "dist", "cli.js"),
      start: (m: string) => `module.exports = require(${JSON.stringify(m)});`,
      external: ["*.node", "cpu-features", "@pulumi/*", "ssh2"],
    },
  };
  const written: string[] = [];
  for (const [name, e] of Object.entries(entries)) {
    const outfile = path.join(out, `${name}.js`);
    await esbuild.build({
      stdin: { contents: e.start(e.module), resolveDir: root, sourcefile: `${name}-entry.js` },
      bundle: true,
      platform: "node",
      target: "node20",
      format: "cjs",
      outfile,
      plugins: [lazyPlugin],
      // native add-ons and their optional loaders stay outside (none is reached by the plugin)
      external: e.external,
      logLevel: "warning",
      // image.ts resolves dockerode, tar-stream and @pulumi/pulumi by path for its in-process build routine: found at run time, on purpose
      logOverride: { "require-resolve-not-external": "silent" },
      legalComments: "none",
    });
    written.push(outfile);
  }
  return written;
}

if (require.main === module) {
  bundle().then(
    (files) => process.stdout.write(`bundled ${files.map((f) => path.relative(process.cwd(), f)).join(", ")}\n`),
    (e: unknown) => {
      process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
      process.exit(1);
    },
  );
}
