/**
 * A run's volumes on a cloud are its volume stacks' (src/compiler/backends/volume.ts; created
 * and found by name in src/runs/volumes.ts): the run's program reads each by the id the runs
 * layer passes in `settings.volumes[name].id`, and never creates one (a volume made by a run
 * would leave the run's state at `down`, and a retained one could not be found by name again).
 */
import * as pulumi from "@pulumi/pulumi";
import { ConfigError } from "../../../diagnostics";
import type { CloudSettings } from "./settings";

/**
 * The id `dstack preview` gives a volume that `up` would create first (its volume stack does not
 * exist yet): the program reads it with an unknown id, which the engine does not read in a
 * preview (the volume's attributes are unknown, as a new resource's are).
 */
export const PENDING_VOLUME_ID = "dstack:pending-volume";

/** The cloud id of a run's volume (its volume stack's `volume_id`); E6403 when there is none. */
export function volumeRef(settings: CloudSettings, name: string): pulumi.Input<string> {
  const id = settings.volumes[name]?.id ?? null;
  if (id === PENDING_VOLUME_ID && pulumi.runtime.isDryRun()) return pulumi.output(pulumi.unknown) as unknown as pulumi.Output<string>;
  if (id === null || id === PENDING_VOLUME_ID)
    throw new ConfigError({
      code: "E6403",
      severity: "error",
      message: `volume ${name} has no volume stack: a run's program only attaches volumes by id`,
      hint: `\`dstack up\` creates it first (or apply a \`type: volume\` configuration named ${name}); a program compiled by hand needs settings.volumes.${name}.id`,
    });
  return id;
}

/** The run's volume names, each once (a name mounted at two paths is one volume). */
export function distinctVolumeNames(volumes: { name: string }[]): string[] {
  return [...new Set(volumes.map((v) => v.name))];
}
