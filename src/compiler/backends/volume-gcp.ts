/**
 * The GCP volume program: a persistent disk (`pd-balanced`, or `hyperdisk-balanced` for the
 * Hyperdisk-only series of the run it is made for) named dstack-<project>-<name>, in the
 * volume's zone (given, else `<region>-a`). With `volume_id` (a disk id or self-link), the
 * existing disk is read (`compute.Disk.get`) and never deleted.
 */
import * as gcp from "@pulumi/gcp/provider";
import * as compute from "@pulumi/gcp/compute";
import { applyTagsPolicy } from "../tags";
import { gcpNeedsHyperdisk } from "./gcp";
import { cloudName, parseCloudSettings } from "./cloud/settings";
import type { VolumeEmitOptions, VolumePlan, VolumeProgramOutputs, VolumeProgram } from "./volume";

export const gcpVolumeProgram: VolumeProgram = async (plan: VolumePlan, opts: VolumeEmitOptions): Promise<VolumeProgramOutputs> => {
  applyTagsPolicy(plan.tags);
  const settings = parseCloudSettings(opts.settings);
  const zone = plan.zone ?? `${plan.region}-a`;
  const provider = new gcp.Provider("gcp", { project: settings.gcp_project ?? undefined, region: plan.region, zone });
  const rname = cloudName(["dstack", "vol", plan.name], 63);
  const disk = plan.volume_id
    ? compute.Disk.get(rname, plan.volume_id, undefined, { provider })
    : new compute.Disk(rname, { name: cloudName(["dstack", plan.project, plan.name], 63), zone, size: plan.size, type: plan.disk_type ?? (plan.instance_type && gcpNeedsHyperdisk(plan.instance_type) ? "hyperdisk-balanced" : "pd-balanced"), labels: {} }, { provider });
  return {
    kind: "volume",
    name: plan.name,
    backend: "gcp",
    region: plan.region,
    zone: disk.zone,
    volume_id: disk.id,
    size: disk.size,
    external: plan.volume_id !== null,
    created_at: plan.created_at,
  };
};
