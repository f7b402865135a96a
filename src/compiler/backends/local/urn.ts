/**
 * The labels that tie a Docker object to the run and the Pulumi resource that made it:
 * `dstack.run` (the run's name, from the plan's tags) and `dstack.urn` (the resource's URN).
 * With them, a create the engine never recorded (dstack killed mid-create: a pending
 * operation in the state, no id) can still be found in Docker and removed
 * (src/runs/cleanup.ts), and `dstack down` can check that nothing of the run is left.
 */
import * as pulumi from "@pulumi/pulumi";
import { localType, type LocalKind } from "./tokens";

export const RUN_LABEL = "dstack.run";
export const URN_LABEL = "dstack.urn";

/**
 * The URN the engine gives a top-level local resource of the current stack
 * (`urn:pulumi:<stack>::<project>::dstack:index:<Kind>::<name>`), computed in the program so
 * that the provider can label the object before the engine records it. (Objects made before
 * the provider plugin carry the old `pulumi-nodejs:dynamic/dstack:<Kind>` URN: the label is
 * set at create time and never diffed.)
 */
export function localResourceUrn(kind: LocalKind, name: string): string {
  return `urn:pulumi:${pulumi.getStack()}::${pulumi.getProject()}::${localType(kind)}::${name}`;
}
