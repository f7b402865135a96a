/**
 * `dstack setup [--json] [--skip-base-image]`: makes this machine ready for local runs:
 * the Pulumi CLI (found, else built from the Go module proxy, else installed; src/stacks/toolchain.ts),
 * the nodejs dynamic-provider plugin beside it, dstack's provider plugin (pulumi-resource-dstack,
 * in PULUMI_HOME's plugins folder), a reachable Docker engine, and the local base
 * image (debootstrap + docker import, once; src/stacks/base-image.ts). Idempotent: a second run
 * only checks (well under a second). Progress on stderr; `--json` prints one document.
 */
import type { Command } from "commander";

export interface SetupReport {
  pulumi: { version: string; binary: string; how: "found" | "built" | "installed"; plugin: string; provider_plugin: string };
  docker: { endpoint: string; server_version: string };
  base_image: { ref: string; id: string | null; built: boolean; python: string[]; timings: Record<string, number> } | null;
  /** The offer catalogs, loaded once so that their cache exists and the first `dstack offer` is fast. */
  catalog: { rows: number; seconds: number };
  seconds: number;
}

export async function runSetup(opts: { skipBaseImage?: boolean; onLog?: (line: string) => void } = {}): Promise<SetupReport> {
  const started = Date.now();
  const log = opts.onLog ?? (() => undefined);
  const { ensurePulumiBinary } = await import("../stacks/toolchain");
  const { dockerClient, dockerEndpoint } = await import("../stacks/docker");
  const [pulumi, docker] = await Promise.all([ensurePulumiBinary({ onLog: log }), dockerClient()]);
  log(`pulumi v${pulumi.version} (${pulumi.how}) at ${pulumi.binary}`);
  const version = (await docker.version()) as { Version?: string };
  let base: SetupReport["base_image"] = null;
  if (!opts.skipBaseImage) {
    const { ensureBaseImage } = await import("../stacks/base-image");
    const r = await ensureBaseImage(docker, (l) => log(l));
    base = { ref: r.ref, id: r.id, built: r.built, python: r.python, timings: r.timings };
    log(r.built ? `base image ${r.ref} built in ${r.timings.total?.toFixed(1)} s` : `base image ${r.ref} present`);
  }
  const catalogStarted = Date.now();
  const { loadCatalogs } = await import("../offers");
  const catalog = { rows: loadCatalogs().size, seconds: (Date.now() - catalogStarted) / 1000 };
  log(`offer catalogs: ${catalog.rows} rows (${catalog.seconds.toFixed(2)} s)`);
  return {
    catalog,
    pulumi: { version: pulumi.version, binary: pulumi.binary, how: pulumi.how, plugin: pulumi.plugin, provider_plugin: pulumi.dstackPlugin },
    docker: { endpoint: dockerEndpoint(), server_version: version.Version ?? "unknown" },
    base_image: base,
    seconds: (Date.now() - started) / 1000,
  };
}

export function register(program: Command): void {
  program
    .command("setup")
    .description("Prepare this machine: Pulumi CLI, its plugins, Docker check, the local base image (idempotent)")
    .option("--json", "print the result as JSON")
    .option("--skip-base-image", "do not build the local base image")
    .action(async (opts: { json?: boolean; skipBaseImage?: boolean }) => {
      const r = await runSetup({ skipBaseImage: opts.skipBaseImage, onLog: (l) => process.stderr.write(`[setup] ${l}\n`) });
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
      if (r.base_image) lines.push(`Base image  ${r.base_image.ref} (${r.base_image.built ? "built" : "present"}; python ${r.base_image.python.join(", ") || "?"})`);
      lines.push(`Ready in ${r.seconds.toFixed(2)} s. Next: dstack up`);
      process.stdout.write(lines.join("\n") + "\n");
    });
}
