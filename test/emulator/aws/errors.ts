/**
 * TEST ONLY — part of the emulated AWS (test/emulator/aws); the dstack CLI never ships it.
 *
 * EC2's error texts, as the AWS provider (terraform-provider-aws under pulumi-aws) reports a
 * failed RunInstances: `creating EC2 Instance: operation error EC2: RunInstances, https response
 * error StatusCode: …, RequestID: …, api error <Code>: <message>`.
 */
import { requestId } from "./state";

const STATUS: Record<string, number> = {
  InsufficientInstanceCapacity: 500,
  VcpuLimitExceeded: 400,
  SpotMaxPriceTooLow: 400,
  MaxSpotInstanceCountExceeded: 400,
  Unsupported: 400,
  InvalidParameterValue: 400,
};

function message(code: string, instanceType: string, zone: string, region: string): string {
  const others = ["a", "b", "c"].map((s) => `${region}${s}`).filter((z) => z !== zone);
  switch (code) {
    case "InsufficientInstanceCapacity":
      return (
        `We currently do not have sufficient ${instanceType} capacity in the Availability Zone you requested (${zone}). ` +
        `Our system will be working on provisioning additional capacity. You can currently get ${instanceType} capacity by not specifying an ` +
        `Availability Zone in your request or choosing ${others.join(", ")}.`
      );
    case "VcpuLimitExceeded":
      return "You have requested more vCPU capacity than your current vCPU limit of 0 allows for the instance bucket that the specified instance type belongs to. Please visit http://aws.amazon.com/contact-us/ec2-request to request an adjustment to this limit.";
    case "SpotMaxPriceTooLow":
      return "Your Spot request price of 0.001 is lower than the minimum required Spot request fulfillment price of 0.0104.";
    case "MaxSpotInstanceCountExceeded":
      return "Max spot instance count exceeded";
    case "Unsupported":
      return `Your requested instance type (${instanceType}) is not supported in your requested Availability Zone (${zone}). Please retry your request by not specifying an Availability Zone or choosing ${others.join(", ")}.`;
    default:
      return `The request failed (${code}).`;
  }
}

/** The error a failed RunInstances gives, with AWS's code and text. */
export function runInstancesError(code: string, instanceType: string, zone: string): Error {
  const region = zone.replace(/[a-z]$/, "");
  const status = STATUS[code] ?? 400;
  return new Error(
    `creating EC2 Instance: operation error EC2: RunInstances, https response error StatusCode: ${status}, RequestID: ${requestId()}, ` +
      `api error ${code}: ${message(code, instanceType, zone, region)}`,
  );
}
