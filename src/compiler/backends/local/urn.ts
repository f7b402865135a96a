/**
 * The labels that tie a Docker object to the run and the Pulumi resource that made it:
 * `dstack.run` (the run's name, from the plan's tags) and `dstack.urn` (the resource's URN).
 * With them, a create the engine never recorded (dstack killed mid-create: a pending
 * operation in the state, no id) can still be found in Docker and removed
 * (src/runs/cleanup.ts), and `dstack down` can check that nothing of the run is left.
 */
import * as pulumi from "@pulumi/pulumi";

export const RUN_LABEL = "dstack.run";
export const URN_LABEL = "dstack.urn";

/**
 * The URN the engine gives a top-level local resource of the current stack
 * (`urn:pulumi:<stack>::<project>::pulumi-nodejs:dynamic/dstack:<Type>::<name>`), computed
 * in the program so that the provider can label the object before the engine records it.
 */
export function localResourceUrn(type: string, name: string): string {
  return `urn:pulumi:${pulumi.getStack()}::${pulumi.getProject()}::pulumi-nodejs:dynamic/dstack:${type}::${name}`;
}
