/**
 * What a backend program is: it turns the backend-neutral Plan into Pulumi resources. A
 * program is the body of an inline Pulumi program (called inside `LocalWorkspace` / under
 * mocks) and returns the stack outputs. The compiler never calls the Automation API itself
 * (that is src/stacks).
 */
import type * as pulumi from "@pulumi/pulumi";
import type { Plan } from "../plan";

/** Stack outputs every backend returns, so `dstack up` / `ps` / ssh work the same everywhere. */
export interface RunOutputs {
  /** Host to ssh to (127.0.0.1 for local, the public IP on clouds). */
  ssh_host: pulumi.Input<string>;
  ssh_port: pulumi.Input<number>;
  ssh_user: pulumi.Input<string>;
  /** Backend-specific id of the thing that runs (container id, instance id). */
  instance_id: pulumi.Input<string>;
  backend: string;
  region: string;
  [key: string]: unknown;
}

export interface EmitOptions {
  /** Extra options for backends (e.g. the local Docker socket, cloud network settings). */
  settings?: Record<string, unknown>;
}

export type BackendProgram = (plan: Plan, opts: EmitOptions) => Promise<RunOutputs>;
