/**
 * The gcp program's canned answers under the mock engine (src/compiler/mock-engine.ts): the
 * lookups gcp.ts makes and the outputs Google Cloud computes for the resources it creates.
 */
import { hex, ipv4, NOT_FOUND, type PackageMocks } from "./cloud/mocks";

export const gcpMocks: PackageMocks = {
  call(token, args, ctx) {
    const a = args as Record<string, never>;
    switch (token) {
      case "gcp:compute/getImage:getImage": {
        const project = String(a.project ?? "mock-project");
        const name = `${String(a.family ?? a.name)}-v20261001`;
        return { id: `projects/${project}/global/images/${name}`, name, family: a.family, selfLink: `https://www.googleapis.com/compute/v1/projects/${project}/global/images/${name}`, project, diskSizeGb: 50 };
      }
      case "gcp:compute/getNetwork:getNetwork": {
        const name = String(a.name);
        return { id: `projects/mock-project/global/networks/${name}`, name, selfLink: `https://www.googleapis.com/compute/v1/projects/mock-project/global/networks/${name}`, project: "mock-project" };
      }
      case "gcp:organizations/getClientConfig:getClientConfig":
        return { id: "mock-project", project: "mock-project", region: ctx.region, zone: ctx.zone ?? "", accessToken: `mock-gcp-access-token${ctx.tokenSeed ? `-${ctx.tokenSeed}` : ""}`, defaultLabels: {} };
      case "gcp:artifactregistry/getRepository:getRepository": {
        const id = String(a.repositoryId);
        const loc = String(a.location);
        return { id: `projects/mock-project/locations/${loc}/repositories/${id}`, name: id, repositoryId: id, location: loc, format: "DOCKER", registryUri: `${loc}-docker.pkg.dev/mock-project/${id}` };
      }
      case "gcp:artifactregistry/getDockerImage:getDockerImage": {
        const [, tag] = String(a.imageName).split(":");
        if (!(ctx.existingImageTags ?? []).includes(tag)) return NOT_FOUND;
        const uri = `${String(a.location)}-docker.pkg.dev/mock-project/${String(a.repositoryId)}/${String(a.imageName)}`;
        return { id: uri, name: uri, imageName: a.imageName, location: a.location, repositoryId: a.repositoryId, selfLink: uri, tags: [tag], buildTime: "2026-12-01T09:00:00Z", uploadTime: "2026-12-01T09:00:00Z", updateTime: "2026-12-01T09:00:00Z", mediaType: "application/vnd.docker.distribution.manifest.v2+json", imageSizeBytes: "4200000000" };
      }
      default:
        return undefined;
    }
  },

  state(type, name, inputs, ctx) {
    const i = inputs;
    const h = (n: number) => hex(type + name, n);
    switch (type) {
      case "gcp:compute/instance:Instance": {
        const nis = (i.networkInterfaces as Record<string, unknown>[] | undefined) ?? [];
        return {
          id: `projects/mock-project/zones/${String(i.zone)}/instances/${String(i.name ?? name)}`,
          state: {
            ...i,
            instanceId: String(BigInt(`0x${h(12)}`)),
            selfLink: `https://www.googleapis.com/compute/v1/projects/mock-project/zones/${String(i.zone)}/instances/${String(i.name ?? name)}`,
            networkInterfaces: nis.map((ni) => ({ ...ni, networkIp: "10.128.0.2", accessConfigs: ((ni.accessConfigs as Record<string, unknown>[]) ?? []).map((ac) => ({ ...ac, natIp: ipv4(name) })) })),
          },
        };
      }
      case "gcp:compute/disk:Disk": {
        const zone = String(i.zone ?? ctx.zone);
        const n = String(i.name ?? name);
        return { id: `projects/mock-project/zones/${zone}/disks/${n}`, state: { zone, ...i, name: n, selfLink: `https://www.googleapis.com/compute/v1/projects/mock-project/zones/${zone}/disks/${n}` } };
      }
      case "gcp:tpu/v2Vm:V2Vm":
        return { id: `projects/mock-project/locations/${String(i.zone)}/nodes/${String(i.name ?? name)}`, state: { ...i, networkEndpoints: [{ ipAddress: "10.128.0.3", port: 8470, accessConfigs: [{ externalIp: ipv4(name) }] }] } };
      case "gcp:compute/network:Network": {
        const n = String(i.name ?? name);
        return { id: `projects/mock-project/global/networks/${n}`, state: { ...i, name: n, selfLink: `https://www.googleapis.com/compute/v1/projects/mock-project/global/networks/${n}` } };
      }
      case "gcp:compute/firewall:Firewall":
        return { id: `projects/mock-project/global/firewalls/${String(i.name ?? name)}`, state: i };
      case "gcp:serviceaccount/account:Account": {
        const email = `${String(i.accountId)}@mock-project.iam.gserviceaccount.com`;
        return { id: `projects/mock-project/serviceAccounts/${email}`, state: { ...i, email, member: `serviceAccount:${email}`, uniqueId: String(BigInt(`0x${h(12)}`)), name: `projects/mock-project/serviceAccounts/${email}` } };
      }
      case "gcp:artifactregistry/repository:Repository":
        return { id: String(i.repositoryId), state: { ...i, name: String(i.repositoryId), registryUri: `${String(i.location)}-docker.pkg.dev/mock-project/${String(i.repositoryId)}` } };
      default:
        return undefined;
    }
  },
};
