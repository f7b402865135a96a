/**
 * The local volume program: a named Docker volume (dstack's LocalVolume resource), labelled
 * `dstack.volume`, `dstack.kind=volume`, `dstack.project`, `dstack.owner`. Created, or adopted
 * when a Docker volume of that name exists; deleted with its stack (`dstack volume delete`).
 * With `volume_id` (an existing Docker volume's name) it is registered and never deleted.
 */
import { LocalVolume } from "./local/resources";
import { dockerLabels } from "./local";
import type { VolumePlan, VolumeProgram, VolumeProgramOutputs } from "./volume";

export const localVolumeProgram: VolumeProgram = async (plan: VolumePlan): Promise<VolumeProgramOutputs> => {
  const name = plan.volume_id ?? plan.name;
  const external = plan.volume_id !== null;
  const volume = new LocalVolume(`volume-${name}`, { name, labels: dockerLabels(plan.tags), retain: external }, { retainOnDelete: external });
  return {
    kind: "volume",
    name: plan.name,
    backend: "local",
    region: "local",
    zone: null,
    volume_id: volume.name,
    size: null,
    external,
    created_at: plan.created_at,
    mountpoint: volume.mountpoint,
  };
};
