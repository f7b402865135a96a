/**
 * The Azure volume program: a Premium_LRS managed disk named dstack-<project>-<name> in the
 * project's resource group of the region (as the run program reads it; regional, no zone).
 * With `volume_id` (the disk's resource id), the existing disk is read (`compute.Disk.get`) and
 * never deleted.
 */
import * as azure from "@pulumi/azure-native/provider";
import * as resources from "@pulumi/azure-native/resources";
import * as compute from "@pulumi/azure-native/compute";
import { applyTagsPolicy } from "../tags";
import { azureProjectResourceGroup } from "./azure";
import { cloudName, parseCloudSettings } from "./cloud/settings";
import type { VolumeEmitOptions, VolumePlan, VolumeProgramOutputs, VolumeProgram } from "./volume";

export const azureVolumeProgram: VolumeProgram = async (plan: VolumePlan, opts: VolumeEmitOptions): Promise<VolumeProgramOutputs> => {
  applyTagsPolicy(plan.tags);
  const settings = parseCloudSettings(opts.settings);
  const provider = new azure.Provider("azure-native", { location: plan.region });
  const rname = cloudName(["dstack", "vol", plan.name], 80);
  let disk: compute.Disk;
  if (plan.volume_id) disk = compute.Disk.get(rname, plan.volume_id, { provider });
  else {
    const group = resources.getResourceGroupOutput({ resourceGroupName: azureProjectResourceGroup(plan.project, plan.region, settings) }, { provider });
    disk = new compute.Disk(
      rname,
      {
        resourceGroupName: group.name,
        location: plan.region,
        diskName: cloudName(["dstack", plan.project, plan.name], 80),
        diskSizeGB: plan.size,
        sku: { name: "Premium_LRS" },
        creationData: { createOption: "Empty" },
      },
      { provider },
    );
  }
  return {
    kind: "volume",
    name: plan.name,
    backend: "azure",
    region: plan.region,
    zone: null,
    volume_id: disk.id,
    size: disk.diskSizeGB.apply((s) => s ?? null),
    external: plan.volume_id !== null,
    created_at: plan.created_at,
  };
};
