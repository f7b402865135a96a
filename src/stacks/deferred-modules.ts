/**
 * Modules the Pulumi SDK and dockerode load at start that dstack's process never uses, made
 * lazy: each is replaced in Node's module cache by a stand-in that loads the real module on
 * first use (a call, a `new` or a property read), so behaviour is unchanged and only the load
 * moves. Measured on this machine, they were most of loading `@pulumi/pulumi/automation`:
 * - TypeScript (@pulumi/pulumi's typescript-shim) and `@npmcli/arborist`: Pulumi's
 *   closure serialization, which only dynamic providers need (dstack's resources are served by
 *   its provider plugin, src/compiler/backends/local/plugin.ts);
 * - dockerode's BuildKit session (gRPC; builds with `version: "2"` only) and docker-modem's ssh
 *   transport (ssh2; DOCKER_HOST=ssh:// only): a no-op `up` then loads neither gRPC nor, until
 *   it waits for sshd, ssh2.
 * The provider plugin's bundle defers the same modules at bundle time (scripts/bundle.ts).
 * The same technique as the nodejs plugin's preload (src/stacks/toolchain.ts, PROVIDER_PRELOAD).
 */
import Module from "module";
import * as path from "path";

/** [the package whose dependency it is, the request]. */
const DEFERRED: [string, string][] = [
  ["@pulumi/pulumi", "@pulumi/pulumi/typescript-shim"], // TypeScript, or the SDK's vendored copy
  ["@pulumi/pulumi", "@npmcli/arborist"],
  ["dockerode", "dockerode/lib/session"], // BuildKit sessions: gRPC and its proto loader
  ["dockerode", "docker-modem/lib/ssh"], // DOCKER_HOST=ssh://: ssh2 (src/ssh loads it when it waits for sshd)
];

const ModuleLoader = Module as unknown as { _load(request: string, parent: unknown, isMain: boolean): unknown };

function lazyExports(file: string): unknown {
  let real: Record<string | symbol, unknown> | undefined;
  const load = (): Record<string | symbol, unknown> => {
    if (!real) {
      delete require.cache[file];
      real = ModuleLoader._load(file, null, false) as Record<string | symbol, unknown>;
      require.cache[file] = { id: file, filename: file, loaded: true, exports: real } as NodeJS.Module;
    }
    return real;
  };
  return new Proxy(function deferred() {}, {
    apply: (_t, self, args) => (load() as unknown as (...a: unknown[]) => unknown).apply(self, args),
    construct: (_t, args) => new (load() as unknown as new (...a: unknown[]) => object)(...args),
    // `__esModule` answered without loading: `__importStar` then keeps this object (reads go through it)
    get: (_t, k) => (k === "__esModule" ? true : load()[k]),
    has: (_t, k) => k in load(),
  });
}

let done = false;

/** Installs the stand-ins (once per process; a module already loaded is left as it is). */
export function deferUnusedModules(): void {
  if (done) return;
  done = true;
  for (const [owner, request] of DEFERRED) {
    let file: string;
    try {
      const ownerDir = path.dirname(require.resolve(`${owner}/package.json`));
      file = require.resolve(request, { paths: [ownerDir] });
    } catch {
      continue; // not installed: nothing to defer
    }
    if (require.cache[file]) continue;
    require.cache[file] = { id: file, filename: file, loaded: true, exports: lazyExports(file) } as NodeJS.Module;
  }
}
