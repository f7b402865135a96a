/**
 * TEST ONLY — the emulated AWS: a Pulumi resource provider plugin for package `aws`, at the
 * exact version the installed @pulumi/aws SDK requests, served with `@pulumi/pulumi/provider`'s
 * `main` over the engine's gRPC protocol. The dstack CLI never ships it; tests install it into
 * a test PULUMI_HOME (./install.ts). It implements what src/compiler/backends/aws.ts creates
 * and looks up: instances (containers on the local Docker, ./instances.ts), security groups,
 * key pairs, EBS volumes (Docker volumes) and their attachments (the device appears on the VM and
 * mounts the Docker volume: ./instances.ts); the AMI, availability-zone,
 * VPC, subnet and instance-type-offering lookups. Faults come from `faults.json` (./state.ts).
 * Anything else fails loudly, with the token, so that a new resource cannot slip past it.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { main, type Provider } from "@pulumi/pulumi/provider";
import { awsId, readFaults, readState, updateState } from "./state";
import { attachDevice, createInstance, deleteInstance, instanceState } from "./instances";

const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
const ZONES = ["a", "b", "c"];

/** Plain values: secrets unwrapped (the engine sends them as signature objects). */
export function unwrap(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(unwrap);
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    if (o[SECRET_SIG] === "1b47061264138c4ac30d75fd1eb44270") return unwrap(o.value);
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, unwrap(x)]));
  }
  return v;
}

function containsUnknown(v: unknown): boolean {
  if (v === UNKNOWN) return true;
  if (Array.isArray(v)) return v.some(containsUnknown);
  if (v && typeof v === "object") return Object.values(v as object).some(containsUnknown);
  return false;
}

/** `aws:ec2/instance:Instance` from a URN. */
function typeOf(urn: string): string {
  const t = urn.split("::")[2] ?? "";
  return t.split("$").pop() ?? t;
}

/** Inputs whose change replaces the resource (as the AWS provider's schema marks them ForceNew). */
const REPLACE_ON: Record<string, string[]> = {
  "aws:ec2/instance:Instance": ["ami", "availabilityZone", "subnetId", "keyName", "instanceMarketOptions", "rootBlockDevice", "userData", "userDataBase64", "associatePublicIpAddress"],
  "aws:ec2/securityGroup:SecurityGroup": ["description", "name", "namePrefix", "vpcId"],
  "aws:ec2/keyPair:KeyPair": ["keyName", "keyNamePrefix", "publicKey"],
  "aws:ebs/volume:Volume": ["availabilityZone", "snapshotId", "encrypted", "kmsKeyId"],
  "aws:ec2/volumeAttachment:VolumeAttachment": ["deviceName", "instanceId", "volumeId"],
};
/** Inputs the provider ignores in a diff (computed by the tags policy, or write-only switches). */
const IGNORED = new Set(["tagsAll", "__defaults", "userDataReplaceOnChange"]);

function docker(args: string[]): { ok: boolean; out: string } {
  const r = spawnSync("docker", args, { encoding: "utf8", timeout: 60_000 });
  return { ok: r.status === 0, out: (r.stdout || r.stderr || "").trim() };
}

function filterValues(args: Record<string, unknown>, name: string): string[] {
  const filters = (args.filters ?? []) as { name: string; values: string[] }[];
  return filters.find((f) => f.name === name)?.values ?? [];
}

function regionOf(zone: string): string {
  return zone.replace(/[a-z]$/, "");
}

const provider: Provider = {
  version: process.env.DSTACK_AWS_EMULATOR_VERSION ?? "0.0.0",

  async check(_urn, _olds, news) {
    return { inputs: news };
  },

  async diff(_id, urn, olds, news) {
    const type = typeOf(urn);
    const replaceOn = new Set(REPLACE_ON[type] ?? []);
    const changed: string[] = [];
    for (const k of new Set([...Object.keys(news ?? {}), ...Object.keys(olds ?? {})])) {
      if (IGNORED.has(k) || !(k in (news ?? {}))) continue;
      const a = unwrap(olds?.[k]);
      const b = unwrap(news?.[k]);
      if (containsUnknown(b) || JSON.stringify(a ?? null) !== JSON.stringify(b ?? null)) changed.push(k);
    }
    const replaces = changed.filter((k) => replaceOn.has(k));
    return { changes: changed.length > 0, replaces, deleteBeforeReplace: type === "aws:ec2/keyPair:KeyPair" || type === "aws:ec2/volumeAttachment:VolumeAttachment" };
  },

  async create(urn, raw) {
    const type = typeOf(urn);
    const inputs = unwrap(raw) as Record<string, unknown>;
    switch (type) {
      case "aws:ec2/instance:Instance": {
        const made = await createInstance({ inputs });
        // the inputs as sent (a secret user data stays secret in the state)
        return { id: made.id, outs: { ...made.outs, ...raw } };
      }
      case "aws:ec2/securityGroup:SecurityGroup": {
        const id = awsId("sg");
        await updateState((s) => {
          s.securityGroups[id] = { id, name: String(inputs.name ?? urn.split("::").pop()), vpcId: String(inputs.vpcId ?? "") };
        });
        return { id, outs: { ...raw, id, arn: `arn:aws:ec2:us-east-1:123456789012:security-group/${id}`, ownerId: "123456789012" } };
      }
      case "aws:ec2/keyPair:KeyPair": {
        const keyName = String(inputs.keyName ?? urn.split("::").pop());
        const keyPairId = awsId("key");
        await updateState((s) => {
          if (s.keyPairs[keyName]) throw new Error(`importing EC2 Key Pair (${keyName}): operation error EC2: ImportKeyPair, api error InvalidKeyPair.Duplicate: The keypair already exists`);
          s.keyPairs[keyName] = { keyName, publicKey: String(inputs.publicKey ?? ""), keyPairId };
        });
        return { id: keyName, outs: { ...raw, keyName, keyPairId, fingerprint: "emulated", keyType: "ed25519" } };
      }
      case "aws:ebs/volume:Volume": {
        const id = awsId("vol");
        const dockerVolume = `dstack-emu-${id}`;
        const made = docker(["volume", "create", "--label", "ai.dstack.emulator=aws", dockerVolume]);
        if (!made.ok) throw new Error(`creating EBS Volume: ${made.out}`);
        await updateState((s) => {
          s.volumes[id] = { id, zone: String(inputs.availabilityZone), size: Number(inputs.size ?? 8), dockerVolume, tags: (inputs.tags ?? {}) as Record<string, string>, attachedTo: null };
        });
        return { id, outs: { ...raw, id, arn: `arn:aws:ec2:${regionOf(String(inputs.availabilityZone))}:123456789012:volume/${id}`, iops: 3000, throughput: 125 } };
      }
      case "aws:ec2/volumeAttachment:VolumeAttachment": {
        const volumeId = String(inputs.volumeId);
        const instanceId = String(inputs.instanceId);
        await updateState((s) => {
          const v = s.volumes[volumeId];
          if (!v) throw new Error(`attaching EBS Volume (${volumeId}): api error InvalidVolume.NotFound: The volume '${volumeId}' does not exist.`);
          const i = s.instances[instanceId];
          if (i && i.zone !== v.zone) throw new Error(`attaching EBS Volume (${volumeId}): api error InvalidVolume.ZoneMismatch: The volume '${volumeId}' is not in the same availability zone as instance '${instanceId}'`);
          if (v.attachedTo && v.attachedTo !== instanceId) throw new Error(`attaching EBS Volume (${volumeId}): api error VolumeInUse: vol ${volumeId} is already attached to an instance`);
          v.attachedTo = instanceId;
          s.attachments[`${volumeId}:${instanceId}`] = { volumeId, instanceId, deviceName: String(inputs.deviceName) };
          // the device appears on the VM (what boot.sh waits for), standing for the Docker volume
          if (i) attachDevice(i.root, volumeId, v.dockerVolume);
        });
        return { id: `vai-${volumeId}-${instanceId}`, outs: { ...raw } };
      }
      default:
        throw new Error(`the emulated AWS does not implement ${type} (create ${urn})`);
    }
  },

  async read(id, urn, props) {
    const type = typeOf(urn);
    const s = readState();
    const gone = { id: "", props: {} };
    switch (type) {
      case "aws:ec2/instance:Instance": {
        const st = instanceState(id);
        // A terminated instance is gone for the provider (as terraform's aws_instance reads it).
        return st.state === "running" ? { id, props } : gone;
      }
      case "aws:ec2/securityGroup:SecurityGroup":
        return s.securityGroups[id] ? { id, props } : gone;
      case "aws:ec2/keyPair:KeyPair":
        return s.keyPairs[id] ? { id, props } : gone;
      case "aws:ebs/volume:Volume": {
        const v = s.volumes[id];
        if (!v) return gone;
        // Volume.get: the live volume's facts.
        return { id, props: { ...(props ?? {}), id, availabilityZone: v.zone, size: v.size, type: "gp3", tags: v.tags } };
      }
      case "aws:ec2/volumeAttachment:VolumeAttachment":
        return Object.keys(s.attachments).some((k) => id === `vai-${k.replace(":", "-")}`) ? { id, props } : gone;
      default:
        throw new Error(`the emulated AWS does not implement ${type} (read ${urn})`);
    }
  },

  async update(_id, _urn, _olds, news) {
    return { outs: news };
  },

  async delete(id, urn) {
    const type = typeOf(urn);
    switch (type) {
      case "aws:ec2/instance:Instance":
        await deleteInstance(id);
        await updateState((s) => {
          for (const [k, a] of Object.entries(s.attachments)) if (a.instanceId === id) {
            delete s.attachments[k];
            if (s.volumes[a.volumeId]) s.volumes[a.volumeId].attachedTo = null;
          }
        });
        return;
      case "aws:ec2/securityGroup:SecurityGroup":
        await updateState((s) => {
          delete s.securityGroups[id];
        });
        return;
      case "aws:ec2/keyPair:KeyPair":
        await updateState((s) => {
          delete s.keyPairs[id];
        });
        return;
      case "aws:ebs/volume:Volume": {
        const v = await updateState((s) => {
          const vol = s.volumes[id];
          if (vol?.attachedTo) throw new Error(`deleting EBS Volume (${id}): api error VolumeInUse: Volume ${id} is currently attached to ${vol.attachedTo}`);
          delete s.volumes[id];
          return vol;
        });
        if (v) docker(["volume", "rm", "-f", v.dockerVolume]);
        return;
      }
      case "aws:ec2/volumeAttachment:VolumeAttachment":
        await updateState((s) => {
          for (const [k, a] of Object.entries(s.attachments)) if (id === `vai-${a.volumeId}-${a.instanceId}`) {
            delete s.attachments[k];
            if (s.volumes[a.volumeId]) s.volumes[a.volumeId].attachedTo = null;
          }
        });
        return;
      default:
        throw new Error(`the emulated AWS does not implement ${type} (delete ${urn})`);
    }
  },

  async invoke(token, raw) {
    const args = unwrap(raw) as Record<string, unknown>;
    const region = process.env.DSTACK_AWS_EMULATOR_REGION ?? "us-east-1";
    switch (token) {
      case "aws:index/getAvailabilityZones:getAvailabilityZones": {
        const names = ZONES.map((z) => `${region}${z}`);
        return { outputs: { id: region, names, zoneIds: names.map((_, i) => `use1-az${i + 1}`), groupNames: names.map(() => region), state: "available", region } };
      }
      case "aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings": {
        const type = filterValues(args, "instance-type")[0] ?? "t3.micro";
        const unoffered = readFaults().errors?.[type] === "Unsupported";
        const locations = unoffered ? [] : ZONES.map((z) => `${region}${z}`);
        return { outputs: { id: region, instanceTypes: locations.map(() => type), locations, locationTypes: locations.map(() => "availability-zone"), region } };
      }
      case "aws:ec2/getVpcs:getVpcs":
        // the emulated account has its default VPC unless a test removes it
        return { outputs: { id: region, ids: readFaults().no_default_vpc ? [] : ["vpc-0emulated0000001"], region } };
      case "aws:ec2/getVpc:getVpc": {
        if (args.default !== true) return { outputs: {}, failures: [{ property: "", reason: "no matching EC2 VPC found" }] };
        return { outputs: { id: "vpc-0emulated0000001", cidrBlock: "172.31.0.0/16", default: true, arn: `arn:aws:ec2:${region}:123456789012:vpc/vpc-0emulated0000001`, state: "available", region } };
      }
      case "aws:ec2/getSubnets:getSubnets": {
        const az = filterValues(args, "availability-zone")[0] ?? `${region}a`;
        return { outputs: { id: region, ids: [`subnet-0emulated${az.slice(-1)}`], region } };
      }
      case "aws:ec2/getAmi:getAmi": {
        const pattern = filterValues(args, "name")[0] ?? "image *";
        const arch = filterValues(args, "architecture")[0] ?? "x86_64";
        const id = filterValues(args, "image-id")[0] ?? "ami-0emulated00000001";
        return {
          outputs: {
            id,
            imageId: id,
            blockDeviceMappings: [{ deviceName: "/dev/sda1", ebs: { volume_size: "75", volume_type: "gp3", delete_on_termination: "true" }, noDevice: "", virtualName: "" }], name: pattern.replace("*", "20261101"), architecture: arch, ownerId: "898082745236", rootDeviceName: "/dev/sda1", state: "available", virtualizationType: "hvm", region },
        };
      }
      default:
        throw new Error(`the emulated AWS does not implement the lookup ${token}`);
    }
  },
};

/** Test-side view of the emulated account (what exists now). */
export function accountSummary(): { instances: string[]; volumes: string[]; securityGroups: string[]; keyPairs: string[] } {
  const s = readState();
  return { instances: Object.keys(s.instances), volumes: Object.keys(s.volumes), securityGroups: Object.keys(s.securityGroups), keyPairs: Object.keys(s.keyPairs) };
}

if (require.main === module) {
  // The engine passes its address as the first argument; main prints the port it listens on.
  const versionFile = path.join(__dirname, "VERSION");
  if (fs.existsSync(versionFile)) provider.version = fs.readFileSync(versionFile, "utf8").trim();
  void main(provider, process.argv.slice(2));
}
