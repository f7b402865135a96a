/**
 * Where a cloud run's VM is reached over SSH: its public IP, its own sshd (`host_ssh_port`,
 * root), the run's key and the pinned host key, and the name of the run container on it.
 */
import { isCloudBackend } from "../compiler/backends/cloud/prerequisites";
import { readRunKey } from "../ssh/keys";
import type { SshTarget } from "../ssh/upload";

/** Whether the outputs are a cloud run's. */
export function isCloudOutputs(outputs: Record<string, unknown> | null): boolean {
  const backend = outputs?.backend ?? (outputs?.dstack_run as { backend?: string } | undefined)?.backend;
  return typeof backend === "string" && isCloudBackend(backend);
}

/** The VM's sshd and the run container's name, from the outputs and the run's key; null without them. */
export function cloudTarget(outputs: Record<string, unknown>, env: NodeJS.ProcessEnv): { vm: SshTarget; container: string } | null {
  const name = typeof outputs.run_name === "string" ? outputs.run_name : null;
  const host = outputs.ssh_host;
  const key = name ? readRunKey(name, env) : null;
  if (!name || typeof host !== "string" || !host || !key) return null;
  const port = typeof outputs.host_ssh_port === "number" ? outputs.host_ssh_port : 22;
  const hostKey = typeof outputs.host_key === "string" ? outputs.host_key : null;
  return { vm: { host, port, username: "root", privateKey: key.privateKey, hostKey }, container: `dstack-run-${name}` };
}

