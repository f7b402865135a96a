/**
 * src/runs/provider-errors.ts: each cloud's capacity errors, in the texts their providers give,
 * are `no-capacity`; anything else is `error`; the message is kept short.
 */
import { classifyProviderError, MAX_MESSAGE, shortProviderMessage } from "../../src/runs/provider-errors";

const engineWrap = (inner: string) =>
  `error: update failed\n\n  aws:ec2:Instance (dstack-x-instance):\n    error:  sdk-v2/provider2.go:572: sdk.helper_schema: ${inner}: provider=aws@7.48.0\n    error: 1 error occurred:\n    \t* ${inner}\n`;

const AWS = {
  InsufficientInstanceCapacity:
    "creating EC2 Instance: operation error EC2: RunInstances, https response error StatusCode: 500, RequestID: 5d6e1c2a-0a1b-4c3d-9e8f-0123456789ab, api error InsufficientInstanceCapacity: We currently do not have sufficient g5.xlarge capacity in the Availability Zone you requested (us-east-1a). Our system will be working on provisioning additional capacity.",
  SpotMaxPriceTooLow: "creating EC2 Instance: operation error EC2: RunInstances, https response error StatusCode: 400, RequestID: 1, api error SpotMaxPriceTooLow: Your Spot request price of 0.001 is lower than the minimum required Spot request fulfillment price of 0.0104.",
  MaxSpotInstanceCountExceeded: "creating EC2 Instance: operation error EC2: RunInstances, https response error StatusCode: 400, RequestID: 2, api error MaxSpotInstanceCountExceeded: Max spot instance count exceeded",
  VcpuLimitExceeded: "creating EC2 Instance: operation error EC2: RunInstances, https response error StatusCode: 400, RequestID: 3, api error VcpuLimitExceeded: You have requested more vCPU capacity than your current vCPU limit of 0 allows",
  Unsupported: "creating EC2 Instance: operation error EC2: RunInstances, https response error StatusCode: 400, RequestID: 4, api error Unsupported: Your requested instance type (p5.48xlarge) is not supported in your requested Availability Zone (us-east-1e).",
};

const GCP = {
  ZONE_RESOURCE_POOL_EXHAUSTED: "Error waiting for instance to create: The zone 'projects/p/zones/us-central1-a' does not have enough resources available to fulfill the request.  Try a different zone, or try again later. (ZONE_RESOURCE_POOL_EXHAUSTED)",
  QUOTA_EXCEEDED: "Error creating instance: googleapi: Error 403: Quota 'NVIDIA_T4_GPUS' exceeded.  Limit: 0.0 in region us-central1., quotaExceeded",
  MACHINE_TYPE_UNAVAILABLE: "Error creating instance: googleapi: Error 400: Invalid value for field 'resource.machineType': 'zones/us-central1-f/machineTypes/a2-highgpu-1g'. Machine type with name 'a2-highgpu-1g' does not exist in zone 'us-central1-f'., invalid",
};

const AZURE = {
  SkuNotAvailable: `creating/updating VirtualMachine: Code="SkuNotAvailable" Message="The requested VM size for resource 'Following SKUs have failed for Capacity Restrictions: Standard_NC4as_T4_v3' is currently not available in location 'eastus'."`,
  AllocationFailed: `Code="AllocationFailed" Message="Allocation failed. We do not have sufficient capacity for the requested VM size in this region."`,
  OperationNotAllowed: `Code="OperationNotAllowed" Message="Operation could not be completed as it results in exceeding approved standardNCASv3_T4Family Cores quota. Additional details - Deployment Model: Resource Manager, Location: eastus, Current Limit: 0"`,
};

test.each(Object.entries(AWS))("AWS %s is no-capacity", (code, text) => {
  const c = classifyProviderError("aws", engineWrap(text));
  expect(c).toEqual({ kind: "no-capacity", code, message: expect.stringContaining(`api error ${code}:`) });
  expect(c.message).not.toMatch(/RequestID|urn:pulumi/);
});

test.each(Object.entries(GCP))("GCP %s is no-capacity", (code, text) => {
  expect(classifyProviderError("gcp", text)).toEqual(expect.objectContaining({ kind: "no-capacity", code }));
});

test.each(Object.entries(AZURE))("Azure %s is no-capacity", (code, text) => {
  expect(classifyProviderError("azure", text)).toEqual(expect.objectContaining({ kind: "no-capacity", code }));
});

test("anything else is an error, with the provider's message kept short", () => {
  const other = engineWrap("creating EC2 Instance: operation error EC2: RunInstances, https response error StatusCode: 400, RequestID: 9, api error InvalidParameterValue: Invalid value for userData: " + "x".repeat(500));
  const c = classifyProviderError("aws", other);
  expect(c.kind).toBe("error");
  expect(c.code).toBeNull();
  expect(c.message.startsWith("api error InvalidParameterValue: Invalid value for userData")).toBe(true);
  expect(c.message.length).toBeLessThanOrEqual(MAX_MESSAGE);
  // an AWS OperationNotAllowed (not Azure's quota) and an UnsupportedOperation are not capacity
  expect(classifyProviderError("aws", "api error UnsupportedOperation: The instance configuration is not supported").kind).toBe("error");
  expect(classifyProviderError("azure", `Code="OperationNotAllowed" Message="The operation is not allowed on a deallocated VM."`).kind).toBe("error");
  expect(classifyProviderError("gcp", "googleapi: Error 404: The resource 'projects/p/global/networks/default' was not found, notFound").kind).toBe("error");
});

test("the short message is one line", () => {
  expect(shortProviderMessage("error: a\n  * api error X: first line\nmore")).toBe("api error X: first line");
});
