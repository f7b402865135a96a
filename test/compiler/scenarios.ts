/**
 * The scenarios every cloud backend is compiled for (mock-engine tests and golden snapshots).
 */
import type { RunSpec } from "../../src/config/runspec";
import type { Offer } from "../../src/offers/offer";
import type { Plan } from "../../src/compiler/plan";
import { OFFERS, planFor, runSpec } from "./fixtures";

export type CloudName = "aws" | "gcp" | "azure";
export type ScenarioName = "on-demand" | "spot" | "spot-auto" | "volume" | "build" | "registry-auth" | "max-duration" | "multi-gpu" | "tpu";

export const REGISTRY_PASSWORD = "hunter2-registry-password";
export const SECRET_TOKEN = "sk-secret-token-value";

interface Scenario {
  spec: RunSpec;
  offer: Offer;
}

function offers(cloud: CloudName): { onDemand: Offer; spot: Offer; multi: Offer } {
  if (cloud === "aws") return { onDemand: OFFERS.aws, spot: OFFERS.awsSpot, multi: OFFERS.awsMulti };
  if (cloud === "gcp") return { onDemand: OFFERS.gcp, spot: OFFERS.gcpSpot, multi: OFFERS.gcpMulti };
  return { onDemand: OFFERS.azure, spot: OFFERS.azureSpot, multi: OFFERS.azureMulti };
}

export function scenario(cloud: CloudName, name: ScenarioName): Scenario {
  const o = offers(cloud);
  switch (name) {
    case "on-demand":
      return { spec: runSpec({ type: "dev-environment", name: "dev-box", ports: [{ container_port: 8888, local_port: 8888 }] }), offer: o.onDemand };
    case "spot":
      return { spec: runSpec({ spot_policy: "spot", max_price: 0.5 }), offer: o.spot };
    case "spot-auto":
      return { spec: runSpec({ spot_policy: "auto" }), offer: o.spot };
    case "volume":
      return {
        spec: runSpec({ volumes: [{ kind: "volume", name: ["my-data"], path: "/data" }, { kind: "instance", instance_path: "/mnt/cache", path: "/cache", optional: true }] }),
        offer: o.onDemand,
      };
    case "build":
      return { spec: runSpec({ build: ["pip install -r requirements.txt", "apt-get update && apt-get install -y ffmpeg"] }), offer: o.onDemand };
    case "registry-auth":
      return {
        spec: runSpec({
          image: "ghcr.io/acme/trainer:2.1",
          registry_auth: { username: "acme-bot", password: REGISTRY_PASSWORD },
          env: { HF_HOME: "/workflow/.hf", HF_TOKEN: SECRET_TOKEN },
          secret_env: ["HF_TOKEN"],
        }),
        offer: o.onDemand,
      };
    case "max-duration":
      return { spec: runSpec({ max_duration: 2 * 3600 + 30 }), offer: o.onDemand };
    case "multi-gpu":
      return { spec: runSpec({ resources: { ...runSpec().resources, shm_size: 16 } }), offer: o.multi };
    case "tpu":
      if (cloud !== "gcp") throw new Error("TPU scenario is GCP only");
      return { spec: runSpec({ spot_policy: "spot", image: "us-docker.pkg.dev/cloud-tpu-images/jax:latest" }), offer: OFFERS.gcpTpu };
  }
}

export const SCENARIOS: Record<CloudName, ScenarioName[]> = {
  aws: ["on-demand", "spot", "spot-auto", "volume", "build", "registry-auth", "max-duration", "multi-gpu"],
  gcp: ["on-demand", "spot", "spot-auto", "volume", "build", "registry-auth", "max-duration", "multi-gpu", "tpu"],
  azure: ["on-demand", "spot", "spot-auto", "volume", "build", "registry-auth", "max-duration", "multi-gpu"],
};

export function scenarioPlan(cloud: CloudName, name: ScenarioName): Plan {
  const s = scenario(cloud, name);
  return planFor(s.spec, s.offer);
}
