/**
 * The AWS volume program: an EBS gp3 volume in the volume's availability zone (given, else the
 * first standard zone that offers the instance type of the run it is made for, else the
 * region's first standard zone), tagged Name=dstack-<project>-<name>. With `volume_id`, the
 * existing volume is read (`ebs.Volume.get`) and never deleted.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws/provider";
import { getAvailabilityZonesOutput } from "@pulumi/aws/getAvailabilityZones";
import * as ec2 from "@pulumi/aws/ec2";
import * as ebs from "@pulumi/aws/ebs";
import { applyTagsPolicy } from "../tags";
import { awsFirstZone } from "./aws";
import { cloudName } from "./cloud/settings";
import type { VolumePlan, VolumeProgram, VolumeProgramOutputs } from "./volume";

export const awsVolumeProgram: VolumeProgram = async (plan: VolumePlan): Promise<VolumeProgramOutputs> => {
  applyTagsPolicy(plan.tags);
  const provider = new aws.Provider("aws", { region: plan.region as aws.ProviderArgs["region"] });
  const rname = cloudName(["dstack", "vol", plan.name]);
  let volume: ebs.Volume;
  if (plan.volume_id) volume = ebs.Volume.get(rname, plan.volume_id, undefined, { provider });
  else {
    let zone: pulumi.Input<string>;
    if (plan.zone) zone = plan.zone;
    else if (plan.instance_type) {
      const type = plan.instance_type;
      const offerings = ec2.getInstanceTypeOfferingsOutput({ locationType: "availability-zone", filters: [{ name: "instance-type", values: [type] }] }, { provider });
      zone = offerings.locations.apply((l) => awsFirstZone(plan.region, type, l));
    } else {
      zone = getAvailabilityZonesOutput({ state: "available" }, { provider }).names.apply((n) => awsFirstZone(plan.region, "a volume", n));
    }
    volume = new ebs.Volume(rname, { availabilityZone: zone, size: plan.size, type: "gp3", tags: { Name: cloudName(["dstack", plan.project, plan.name]) } }, { provider });
  }
  return {
    kind: "volume",
    name: plan.name,
    backend: "aws",
    region: plan.region,
    zone: volume.availabilityZone,
    volume_id: volume.id,
    size: volume.size,
    external: plan.volume_id !== null,
    created_at: plan.created_at,
  };
};
