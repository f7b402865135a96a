/**
 * `dstack setup [--json] [--skip-base-image] [--python VERSION]…`: makes this machine ready for
 * local runs: the Pulumi CLI (found, else built from the Go module proxy, else installed;
 * src/stacks/toolchain.ts), the nodejs dynamic-provider plugin beside it, dstack's provider plugin
 * (pulumi-resource-dstack, in PULUMI_HOME's plugins folder), a reachable Docker engine, and the local base image (debootstrap + docker import, once; src/stacks/base-image.ts)
 * — the default one (Debian bookworm, python 3.11), or with `--python` (repeatable) the one of
 * each version asked (3.9: bullseye, 3.11: bookworm, 3.13: trixie). Idempotent: a second run
 * only checks (well under a second); a changed recipe is a new image tag, built then. Progress
 * on stderr; `--json` prints one document.
 */
import type { Command } from "commander";
import { DstackError, ExitCode } from "../diagnostics";

export interface SetupReport {
  pulumi: { version: string; binary: string; how: "found" | "built" | "installed"; plugin: string; provider_plugin: string };
  docker: { endpoint: string; server_version: string };
  /** The first base image built or found (the default one, or the first `--python`'s). */
  base_image: BaseImageReport | null;
  /** Every base image built or found, one per `--python` (or the default one). */
  base_images: BaseImageReport[];
  /** The offer catalogs, loaded once so that their cache exists and the first `dstack offer` is fast. */
  catalog: { rows: number; seconds: number };
  seconds: number;
}

export interface BaseImageReport {
  ref: string;
  suite: string;
  id: string | null;
  built: boolean;
  python: string[];
  timings: Record<string, number>;
}

export async function runSetup(opts: { skipBaseImage?: boolean; python?: string[]; onLog?: (line: string) => void } = {}): Promise<SetupReport> {
  const started = Date.now();
  const log = opts.onLog ?? (() => undefined);
  const { ensurePulumiBinary } = await import("../stacks/toolchain");
  const { dockerClient, dockerEndpoint } = await import("../stacks/docker");
  const [pulumi, docker] = await Promise.all([ensurePulumiBinary({ onLog: log }), dockerClient()]);
  log(`pulumi v${pulumi.version} (${pulumi.how}) at ${pulumi.binary}`);
  const version = (await docker.version()) as { Version?: string };
  const bases: BaseImageReport[] = [];
  if (!opts.skipBaseImage) {
    const { defaultSuite, ensureBaseImage, offeredPythons, suiteForPython } = await import("../stacks/base-image");
    const suites: string[] = [];
    for (const v of opts.python?.length ? opts.python : [null]) {
      const suite = suiteForPython(v);
      if (suite === null) {
        throw new DstackError(
          { code: "E4112", severity: "error", message: `--python ${v}: no local base image has it; they provide python ${offeredPythons()}`, hint: "pick one of those" },
          ExitCode.Usage,
        );
      }
      if (!suites.includes(suite)) suites.push(suite);
    }
    for (const suite of suites.length ? suites : [defaultSuite()]) {
      const r = await ensureBaseImage(docker, (l) => log(l), suite);
      bases.push({ ref: r.ref, suite, id: r.id, built: r.built, python: r.python, timings: r.timings });
      log(r.built ? `base image ${r.ref} (${suite}) built in ${r.timings.total?.toFixed(1)} s` : `base image ${r.ref} (${suite}) present`);
    }
  }
  const catalogStarted = Date.now();
  const { loadCatalogs } = await import("../offers");
  const catalog = { rows: loadCatalogs().size, seconds: (Date.now() - catalogStarted) / 1000 };
  log(`offer catalogs: ${catalog.rows} rows (${catalog.seconds.toFixed(2)} s)`);
  return {
    catalog,
    pulumi: { version: pulumi.version, binary: pulumi.binary, how: pulumi.how, plugin: pulumi.plugin, provider_plugin: pulumi.dstackPlugin },
    docker: { endpoint: dockerEndpoint(), server_version: version.Version ?? "unknown" },
    base_image: bases[0] ?? null,
    base_images: bases,
    seconds: (Date.now() - started) / 1000,
  };
}

export function register(program: Command): void {
  program
    .command("setup")
    .description("Prepare this machine: Pulumi CLI, its plugins, Docker check, the local base image (idempotent)")
    .option("--json", "print the result as JSON")
    .option("--skip-base-image", "do not build the local base image")
    .option("--python <VERSION>", "build the base image with this Python: 3.9, 3.11 (the default) or 3.13 (repeatable)", (v: string, prev: string[] | undefined) => [...(prev ?? []), v])
    .action(async (opts: { json?: boolean; skipBaseImage?: boolean; python?: string[] }) => {
      const r = await runSetup({ skipBaseImage: opts.skipBaseImage, python: opts.python, onLog: (l) => process.stderr.write(`[setup] ${l}\n`) });
      if (opts.json) {
        process.stdout.write(JSON.stringify(r, null, 2) + "\n");
        return;
      }
      const lines = [
        `Pulumi      v${r.pulumi.version} (${r.pulumi.how}) ${r.pulumi.binary}`,
        `Plugin      ${r.pulumi.plugin}`,
        `Provider    ${r.pulumi.provider_plugin}`,
        `Docker      ${r.docker.server_version} at ${r.docker.endpoint}`,
      ];
      for (const b of r.base_images) lines.push(`Base image  ${b.ref} (${b.suite}, ${b.built ? "built" : "present"}; python ${b.python.join(", ") || "?"})`);
      lines.push(`Ready in ${r.seconds.toFixed(2)} s. Next: dstack up`);
      process.stdout.write(lines.join("\n") + "\n");
    });
}
