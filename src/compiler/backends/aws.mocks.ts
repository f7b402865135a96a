/**
 * The aws program's canned answers under the mock engine (src/compiler/mock-engine.ts): the
 * lookups aws.ts makes and the outputs AWS computes for the resources it creates.
 */
import { filterValues, hex, ipv4, NOT_FOUND, type PackageMocks } from "./cloud/mocks";

const AWS_ACCOUNT = "123456789012";

export const awsMocks: PackageMocks = {
  call(token, args, ctx) {
    const a = args as Record<string, never>;
    const filter = (name: string) => filterValues(args, name);
    switch (token) {
      case "aws:ec2/getAmi:getAmi": {
        const arch = filter("architecture")[0] ?? "x86_64";
        const pattern = filter("name")[0] ?? "image *";
        const id = filter("image-id")[0] ?? `ami-0${hex(pattern + arch, 16)}`;
        return {
          id,
          imageId: id,
          // The DLAMI's root snapshot: 75 GB (EC2 refuses a smaller root volume).
          blockDeviceMappings: [{ deviceName: "/dev/sda1", ebs: { volume_size: "75", volume_type: "gp3", delete_on_termination: "true" }, noDevice: "", virtualName: "" }],
          name: pattern.replace("*", "20261006"),
          architecture: arch,
          ownerId: "898082745236",
          rootDeviceName: "/dev/sda1",
          state: "available",
          virtualizationType: "hvm",
        };
      }
      case "aws:ec2/getVpcs:getVpcs":
        return { id: ctx.region, ids: [`vpc-0${hex(ctx.region, 16)}`], region: ctx.region };
      case "aws:ec2/getVpc:getVpc":
        return { id: `vpc-0${hex(ctx.region, 16)}`, cidrBlock: "172.31.0.0/16", default: true, arn: `arn:aws:ec2:${ctx.region}:${AWS_ACCOUNT}:vpc/vpc-0${hex(ctx.region, 16)}` };
      case "aws:ec2/getSubnets:getSubnets": {
        const az = filter("availability-zone")[0] ?? `${ctx.region}a`;
        return { id: ctx.region, ids: [`subnet-0${hex(az, 16)}`] };
      }
      case "aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings": {
        const type = filter("instance-type")[0] ?? "t3.micro";
        const locations = ["b", "a", "c"].map((s) => `${ctx.region}${s}`);
        return { id: ctx.region, instanceTypes: locations.map(() => type), locations, locationTypes: locations.map(() => "availability-zone"), region: ctx.region };
      }
      case "aws:index/getAvailabilityZones:getAvailabilityZones": {
        const names = ["a", "b", "c"].map((z) => `${ctx.region}${z}`);
        return { id: ctx.region, names, zoneIds: names.map((_, i) => `use1-az${i + 1}`), groupNames: names.map(() => ctx.region), state: "available", region: ctx.region };
      }
      case "aws:ecr/getRepository:getRepository":
        return {
          id: String(a.name),
          name: a.name,
          registryId: AWS_ACCOUNT,
          repositoryUrl: `${AWS_ACCOUNT}.dkr.ecr.${ctx.region}.amazonaws.com/${String(a.name)}`,
          arn: `arn:aws:ecr:${ctx.region}:${AWS_ACCOUNT}:repository/${String(a.name)}`,
        };
      case "aws:ecr/getImage:getImage": {
        const tag = String(a.imageTag);
        if (!(ctx.existingImageTags ?? []).includes(tag)) return NOT_FOUND;
        const uri = `${AWS_ACCOUNT}.dkr.ecr.${ctx.region}.amazonaws.com/${String(a.repositoryName)}:${tag}`;
        return { id: `sha256:${hex(uri, 64)}`, imageDigest: `sha256:${hex(uri, 64)}`, imageTag: tag, imageTags: [tag], imageUri: uri, imagePushedAt: 1764579600, imageSizeInBytes: 4200000000, region: ctx.region, registryId: AWS_ACCOUNT, repositoryName: a.repositoryName };
      }
      case "aws:ecr/getAuthorizationToken:getAuthorizationToken":
        return {
          id: ctx.region,
          userName: "AWS",
          // a fresh token at every call in real life: ctx.tokenSeed stands for "a later `up`"
          password: `mock-ecr-password${ctx.tokenSeed ? `-${ctx.tokenSeed}` : ""}`,
          authorizationToken: Buffer.from(`AWS:mock-ecr-password${ctx.tokenSeed ? `-${ctx.tokenSeed}` : ""}`).toString("base64"),
          proxyEndpoint: `https://${AWS_ACCOUNT}.dkr.ecr.${ctx.region}.amazonaws.com`,
          expiresAt: "2030-01-01T00:00:00Z",
          region: ctx.region,
        };
      default:
        return undefined;
    }
  },

  state(type, name, inputs, ctx) {
    const i = inputs;
    const h = (n: number) => hex(type + name, n);
    switch (type) {
      case "aws:ec2/instance:Instance":
        return { id: `i-0${h(16)}`, state: { ...i, publicIp: ipv4(name), privateIp: `172.31.${parseInt(h(2), 16)}.10`, arn: `arn:aws:ec2:${ctx.region}:${AWS_ACCOUNT}:instance/i-0${h(16)}` } };
      case "aws:ebs/volume:Volume":
        return { id: `vol-0${h(16)}`, state: { availabilityZone: `${ctx.region}a`, ...i, arn: `arn:aws:ec2:${ctx.region}:${AWS_ACCOUNT}:volume/vol-0${h(16)}` } };
      case "aws:ec2/securityGroup:SecurityGroup":
        return { id: `sg-0${h(16)}`, state: i };
      case "aws:ec2/keyPair:KeyPair":
        return { id: String(i.keyName ?? name), state: { ...i, keyPairId: `key-0${h(16)}` } };
      case "aws:iam/role:Role":
      case "aws:iam/instanceProfile:InstanceProfile":
        return { id: String(i.name ?? name), state: { ...i, name: String(i.name ?? name), arn: `arn:aws:iam::${AWS_ACCOUNT}:${type.includes("role") ? "role" : "instance-profile"}/${String(i.name ?? name)}` } };
      case "aws:ecr/repository:Repository":
        return { id: String(i.name ?? name), state: { ...i, registryId: AWS_ACCOUNT, repositoryUrl: `${AWS_ACCOUNT}.dkr.ecr.${ctx.region}.amazonaws.com/${String(i.name ?? name)}` } };
      default:
        return undefined;
    }
  },
};
