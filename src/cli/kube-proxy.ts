/**
 * `dstack kube-proxy --kubeconfig FILE [--context C] --namespace NS --pod POD --port N`: the
 * ProxyCommand of a kubernetes run's ssh config (src/runs/kube-connect.ts). It streams its
 * stdin and stdout to the pod's port through the API server's port-forward, until either side
 * closes; errors go to stderr (ssh shows them). Not meant to be typed: `ssh <run>` runs it.
 */
import type { Command } from "commander";
import { ExitCode } from "../diagnostics";

export function register(program: Command): void {
  program
    .command("kube-proxy", { hidden: true })
    .description("Stream stdin/stdout to a kubernetes run's sshd through the API server's port-forward (ssh's ProxyCommand)")
    .requiredOption("--kubeconfig <FILE>", "the kubeconfig")
    .option("--context <NAME>", "the kubeconfig's context")
    .requiredOption("--namespace <NS>", "the pod's namespace")
    .requiredOption("--pod <NAME>", "the run's pod")
    .requiredOption("--port <N>", "the port in the pod")
    .action(async (opts: { kubeconfig: string; context?: string; namespace: string; pod: string; port: string }) => {
      const { streamToPod } = await import("../ssh/kube-forward");
      const error = await streamToPod(
        { kubeconfig: opts.kubeconfig, context: opts.context ?? null, namespace: opts.namespace, pod: opts.pod, port: Number(opts.port) },
        process.stdin,
        process.stdout,
      );
      process.stdin.destroy(); // the pod's side closed: nothing more to send
      if (error) {
        process.stderr.write(`dstack kube-proxy: ${error}\n`);
        process.exitCode = ExitCode.Provisioning;
      }
    });
}
