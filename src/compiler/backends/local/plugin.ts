/**
 * The entry of dstack's provider plugin, `pulumi-resource-dstack`: serves ./provider.ts over
 * the engine's gRPC protocol with `@pulumi/pulumi/provider`'s `main`.
 *
 * `serve` is started by bin/pulumi-resource-dstack.js; what runs is that entry bundled into one
 * file (dist/bundle/pulumi-resource-dstack.js, scripts/bundle.ts), which holds only what it uses: the provider server, the three providers, dockerode — not
 * the SDK's program runtime, nor the nodejs dynamic-provider host, which loads the whole SDK
 * and deserializes closures. `dstack setup` (src/stacks/toolchain.ts) installs a small
 * wrapper, `$PULUMI_HOME/plugins/resource-dstack-v<version>/pulumi-resource-dstack`, that
 * runs it with this Node.
 *
 * The engine passes its own address first: PULUMI_NODEJS_ENGINE lets `pulumi.log` inside a
 * provider send diagnostics to it (an image the engine builds streams its output so).
 */
import { main } from "@pulumi/pulumi/provider";
import { packageVersion } from "../../../paths";
import { localProvider } from "./provider";

/** The SDK's own reading of a provider's arguments (untyped in its .d.ts): the engine's address, flags skipped. */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- no types for this module
const { parseArgs } = require("@pulumi/pulumi/provider/internals") as { parseArgs(args: string[]): { engineAddress: string } | undefined };

export function serve(args: string[]): Promise<void> {
  const engine = parseArgs(args)?.engineAddress;
  if (engine) process.env.PULUMI_NODEJS_ENGINE = engine;
  return main(localProvider(packageVersion()), args);
}
