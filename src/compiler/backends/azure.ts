/**
 * The Azure program: a VM (Spot with an eviction policy and a max price, or Regular) of the
 * offer's size in the offer's region, in the run's own resource group with its own virtual
 * network; a network security group opening only SSH (and the run's ports when exposed) from
 * `ssh_ingress_cidrs`; a static public IP; the run's key as the only login (passwords off);
 * NVIDIA's GPU-optimized marketplace image; the run's managed disks (their own volume stacks',
 * in the shared per-project resource group, read by id: deleting the run's group cannot take
 * them along); boot by cloud-init (`customData`); `max_duration` as a timed `shutdown` in the boot script
 * plus an auto-shutdown schedule that deallocates the VM. Prebuilt images go to the project's
 * ACR (created by `registryProgram`).
 */
import * as pulumi from "@pulumi/pulumi";
import * as azure from "@pulumi/azure-native/provider";
import * as resources from "@pulumi/azure-native/resources";
import * as network from "@pulumi/azure-native/network";
import * as compute from "@pulumi/azure-native/compute";
import * as containerregistry from "@pulumi/azure-native/containerregistry";
import * as devtestlab from "@pulumi/azure-native/devtestlab";
import * as authorization from "@pulumi/azure-native/authorization";
import type { Plan } from "../plan";
import { applyTagsPolicy } from "../tags";
import type { BackendProgram, EmitOptions, RunOutputs } from "./program";
import { acceleratorOf, cloudOutputs, RunImage, userData, userImage } from "./cloud/boot";
import type { BootVolume, RegistryLogin } from "./cloud/cloud-init";
import { AZURE_MIN_OS_DISK_GB, AZURE_NVIDIA_IMAGE, AZURE_ROCM_IMAGE, AZURE_UBUNTU_IMAGE, AzureImageReference, azureImageNeedsPlan, azureNeedsGridDriver, parseAzureImageUrn } from "./cloud/images";
import { PrebuiltImage } from "./cloud/prebuilt";
import { assertBackend, CloudSettings, cloudName, ingressPorts, parseCloudSettings } from "./cloud/settings";
import { distinctVolumeNames, volumeRef } from "./cloud/volume-refs";
import { ConfigError } from "../../diagnostics";

/** The shared per-project resource group (registry, volumes) of a region. */
export function azureProjectResourceGroup(project: string, region: string, settings?: CloudSettings): string {
  return settings?.azure_project_resource_group ?? cloudName(["dstack", project, region], 90);
}

/** ACR names are global, 5–50 letters and digits. */
export function azureRegistryName(project: string, region: string): string {
  return `dstack${project}${region}`.toLowerCase().replace(/[^a-z0-9]/g, "").slice(0, 50);
}

/** Auto-shutdown time (`HHmm`, UTC) for an expiry, or null when the expiry is over a day away (a daily schedule would fire early). */
export function azureShutdownTime(plan: Plan): string | null {
  if (plan.max_duration == null || plan.expires_at == null || plan.max_duration > 24 * 3600) return null;
  const d = new Date(plan.expires_at);
  // Round up to the next whole minute, so the schedule never fires before the expiry.
  if (d.getUTCSeconds() > 0 || d.getUTCMilliseconds() > 0) d.setUTCMinutes(d.getUTCMinutes() + 1, 0, 0);
  return `${String(d.getUTCHours()).padStart(2, "0")}${String(d.getUTCMinutes()).padStart(2, "0")}`;
}

/** Whether the VM must deallocate itself at the deadline (max_duration past 24 h: no daily schedule fits). */
export function azureSelfDeallocates(plan: Plan): boolean {
  return plan.max_duration != null && plan.expires_at != null && plan.max_duration > 24 * 3600;
}

/** Virtual Machine Contributor: holds `Microsoft.Compute/virtualMachines/deallocate/action` (assigned on the VM only). */
export const AZURE_VM_CONTRIBUTOR_ROLE = "9980e02c-c2be-4d73-94e8-173b1dc7cf3c";

/** The OS image for the offer: AMD GPUs get the ROCm image, NVadsA10 v5 plain Ubuntu (the GRID driver by extension), other NVIDIA sizes NVIDIA's VMI. */
export function azureImageFor(plan: Plan): AzureImageReference {
  if (acceleratorOf(plan.offer) === "amd") return AZURE_ROCM_IMAGE;
  if (azureNeedsGridDriver(plan.offer.instance_type)) return AZURE_UBUNTU_IMAGE;
  return AZURE_NVIDIA_IMAGE;
}

function prebuiltImage(plan: Plan, provider: azure.Provider, projectRg: string): RunImage {
  const registryName = azureRegistryName(plan.project, plan.offer.region);
  const registry = containerregistry.getRegistryOutput({ registryName, resourceGroupName: projectRg }, { provider });
  const creds = containerregistry.listRegistryCredentialsOutput({ registryName, resourceGroupName: projectRg }, { provider });
  const login: pulumi.Output<RegistryLogin> = pulumi.secret(
    pulumi.all([registry.loginServer, creds.username, creds.passwords]).apply(([server, username, passwords]) => ({
      server,
      username: username ?? registryName,
      password: passwords?.[0]?.value ?? "",
    })),
  );
  const image = new PrebuiltImage(
    `${cloudName([plan.run_name])}-prebuilt`,
    { plan, repository: pulumi.interpolate`${registry.loginServer}/dstack-prebuilt`, login, platform: plan.offer.cpu_arch === "arm" ? "linux/arm64" : "linux/amd64" },
    { providers: { "azure-native": provider } },
  );
  return { image: image.imageName, login, password: true };
}

export const azureProgram: BackendProgram = async (plan: Plan, opts: EmitOptions): Promise<RunOutputs> => {
  assertBackend("azure", plan.offer.backend);
  const settings = parseCloudSettings(opts.settings);
  const imageRef = settings.os_image ? parseAzureImageUrn(settings.os_image) : azureImageFor(plan);
  if (!imageRef)
    throw new ConfigError({
      code: "E3006",
      severity: "error",
      message: `os_image for azure must be publisher:offer:sku:version, got ${JSON.stringify(settings.os_image)}`,
      hint: "write e.g. os_image: microsoft-dsvm:ubuntu-hpc:2204:latest",
    });
  applyTagsPolicy(plan.tags);
  const offer = plan.offer;
  const location = offer.region;
  const base = cloudName(["dstack", plan.run_name], 60);
  const provider = new azure.Provider("azure-native", { location });
  const res = { provider };
  const projectRg = azureProjectResourceGroup(plan.project, location, settings);

  const rg = new resources.ResourceGroup(`${base}-rg`, { resourceGroupName: `${base}-rg`, location }, res);
  const nsg = new network.NetworkSecurityGroup(
    `${base}-nsg`,
    {
      resourceGroupName: rg.name,
      location,
      networkSecurityGroupName: `${base}-nsg`,
      // One rule per port and IP family: Azure refuses IPv4 and IPv6 prefixes in one rule.
      securityRules: ingressPorts(settings, plan.container.ports).flatMap((port, i) => {
        const name = port === 22 ? "host-ssh" : port === settings.container_ssh_port ? "run-ssh" : `run-port-${port}`;
        const families = [settings.ssh_ingress_cidrs.filter((c) => !c.includes(":")), settings.ssh_ingress_cidrs.filter((c) => c.includes(":"))];
        return families
          .map((prefixes, f) => ({ prefixes, f }))
          .filter((x) => x.prefixes.length > 0)
          .map(({ prefixes, f }) => ({
            name: f === 0 ? name : `${name}-v6`,
            priority: 100 + i * 10 + f,
            direction: "Inbound",
            access: "Allow",
            protocol: "Tcp",
            sourceAddressPrefixes: prefixes,
            sourcePortRange: "*",
            destinationAddressPrefix: "*",
            destinationPortRange: String(port),
          }));
      }),
    },
    res,
  );
  // The run's own VNet, or the project's subnet (created by the shared per-project stack, `azureProjectProgram`).
  let subnetId: pulumi.Output<string>;
  if (settings.network === "project") {
    subnetId = network
      .getSubnetOutput({ resourceGroupName: projectRg, virtualNetworkName: azureProjectNetworkName(plan.project), subnetName: "runs" }, res)
      .apply((sn) => sn.id ?? "");
  } else {
    const vnet = new network.VirtualNetwork(
      `${base}-vnet`,
      { resourceGroupName: rg.name, location, virtualNetworkName: `${base}-vnet`, addressSpace: { addressPrefixes: ["10.64.0.0/16"] } },
      { ...res, ignoreChanges: ["subnets"] },
    );
    const subnet = new network.Subnet(
      `${base}-subnet`,
      { resourceGroupName: rg.name, virtualNetworkName: vnet.name, subnetName: "default", addressPrefix: "10.64.0.0/20", networkSecurityGroup: { id: nsg.id } },
      res,
    );
    subnetId = subnet.id;
  }
  const ip = new network.PublicIPAddress(
    `${base}-ip`,
    { resourceGroupName: rg.name, location, publicIpAddressName: `${base}-ip`, sku: { name: "Standard" }, publicIPAllocationMethod: "Static" },
    res,
  );
  const nic = new network.NetworkInterface(
    `${base}-nic`,
    {
      resourceGroupName: rg.name,
      location,
      networkInterfaceName: `${base}-nic`,
      networkSecurityGroup: { id: nsg.id },
      ipConfigurations: [{ name: "primary", primary: true, subnet: { id: subnetId }, publicIPAddress: { id: ip.id }, privateIPAllocationMethod: "Dynamic" }],
    },
    res,
  );

  // Volumes (dstack:volumes): each is its volume stack's managed disk in the region, read by id (never created here; regional: no zone pinning).
  const read = new Map(distinctVolumeNames(plan.volumes).map((name) => [name, compute.Disk.get(cloudName([base, "vol", name], 80), volumeRef(settings, name), res)]));
  const disks = plan.volumes.map((v, i) => ({ plan: v, disk: read.get(v.name) as compute.Disk, lun: i }));
  const bootVolumes: BootVolume[] = disks.map((d) => ({ devices: [`/dev/disk/azure/scsi1/lun${d.lun}`], path: d.plan.path }));

  const image = plan.image.kind === "prebuilt" ? prebuiltImage(plan, provider, projectRg) : userImage(plan);
  const key = plan.ssh.public_key.trim();
  const vmName = base.slice(0, 64);
  const selfDeallocates = azureSelfDeallocates(plan);
  const grid = azureNeedsGridDriver(offer.instance_type);
  const vm = new compute.VirtualMachine(
    `${base}-vm`,
    {
      resourceGroupName: rg.name,
      location,
      vmName,
      hardwareProfile: { vmSize: offer.instance_type },
      priority: plan.spot ? "Spot" : "Regular",
      // past 24 h, the VM deallocates itself at the deadline: an identity with a role on itself (below)
      identity: selfDeallocates ? { type: "SystemAssigned" } : undefined,
      evictionPolicy: plan.spot ? "Delete" : undefined,
      billingProfile: plan.spot ? { maxPrice: plan.max_price ?? -1 } : undefined,
      storageProfile: {
        imageReference: imageRef,
        osDisk: {
          createOption: "FromImage",
          // never below the image's own OS disk (Azure refuses a smaller one)
          diskSizeGB: Math.max(plan.disk_size, AZURE_MIN_OS_DISK_GB),
          managedDisk: { storageAccountType: "Premium_LRS" },
          deleteOption: "Delete",
        },
        dataDisks: disks.map((d) => ({ lun: d.lun, createOption: "Attach", managedDisk: { id: d.disk.id }, deleteOption: "Detach" })),
      },
      plan: azureImageNeedsPlan(imageRef) ? { name: imageRef.sku, product: imageRef.offer, publisher: imageRef.publisher } : undefined,
      osProfile: {
        computerName: vmName.slice(0, 63),
        adminUsername: "dstack",
        customData: userData({ plan, backend: "azure", settings, image, volumes: bootVolumes, base64: true, waitGpuDriver: grid, azureDeallocate: selfDeallocates }),
        linuxConfiguration: {
          disablePasswordAuthentication: true,
          ssh: { publicKeys: [{ path: "/home/dstack/.ssh/authorized_keys", keyData: key }] },
        },
      },
      networkProfile: { networkInterfaces: [{ id: nic.id, primary: true, deleteOption: "Delete" }] },
    },
    res,
  );

  // NVadsA10 v5: NVIDIA's GRID driver, installed by the NVIDIA GPU driver extension (boot.sh waits for it).
  if (grid && !settings.os_image) {
    new compute.VirtualMachineExtension(
      `${base}-gpu-driver`,
      {
        resourceGroupName: rg.name,
        location,
        vmName: vm.name,
        vmExtensionName: "NvidiaGpuDriverLinux",
        publisher: "Microsoft.HpcCompute",
        type: "NvidiaGpuDriverLinux",
        typeHandlerVersion: "1.9",
        autoUpgradeMinorVersion: true,
        settings: {},
      },
      res,
    );
  }

  // max_duration past 24 h: the VM's own identity may deallocate the VM, and nothing else.
  if (selfDeallocates) {
    new authorization.RoleAssignment(
      `${base}-deallocate`,
      {
        scope: vm.id,
        principalId: vm.identity.apply((i) => i?.principalId ?? ""),
        principalType: "ServicePrincipal",
        // the subscription's role definition, from the VM's own id (/subscriptions/<id>/…)
        roleDefinitionId: vm.id.apply((id) => `${id.split("/").slice(0, 3).join("/")}/providers/Microsoft.Authorization/roleDefinitions/${AZURE_VM_CONTRIBUTOR_ROLE}`),
        description: `dstack run ${plan.run_name}: the VM deallocates itself at its max_duration deadline`,
      },
      res,
    );
  }

  // max_duration: the boot script's timed shutdown stops the OS; this schedule deallocates the VM (no more billing).
  const at = azureShutdownTime(plan);
  if (at) {
    new devtestlab.GlobalSchedule(
      `${base}-shutdown`,
      {
        resourceGroupName: rg.name,
        location,
        name: `shutdown-computevm-${vmName}`,
        taskType: "ComputeVmShutdownTask",
        dailyRecurrence: { time: at },
        timeZoneId: "UTC",
        status: "Enabled",
        targetResourceId: vm.id,
        notificationSettings: { status: "Disabled" },
      },
      res,
    );
  }

  return {
    ...cloudOutputs(plan, settings),
    ssh_host: ip.ipAddress.apply((a) => a ?? ""),
    instance_id: vm.vmId,
    backend: "azure",
    region: location,
    zone: null,
    resource_group: rg.name,
    instance_type: offer.instance_type,
    spot: plan.spot,
    image: image.image,
    volume_ids: pulumi.all(disks.map((d) => d.disk.id)),
  };
};

export default azureProgram;

/** Name of the project's VNet with `network: project` (in the project's resource group). */
export function azureProjectNetworkName(project: string): string {
  return cloudName(["dstack", project, "vnet"], 64);
}

/**
 * The shared per-project stack on Azure: the project's resource group (holding volumes too), its
 * container registry for prebuilt images and, with `network`, the project's VNet with a `runs`
 * subnet. Protected.
 */
export async function azureProjectProgram(args: { project: string; region: string; tags: Record<string, string>; registry?: boolean; network?: boolean }): Promise<Record<string, unknown>> {
  applyTagsPolicy(args.tags);
  const provider = new azure.Provider("azure-native", { location: args.region });
  const rgName = azureProjectResourceGroup(args.project, args.region);
  const rg = new resources.ResourceGroup(rgName, { resourceGroupName: rgName, location: args.region }, { provider, protect: true });
  const out: Record<string, unknown> = { resource_group: rg.name };
  if (args.registry !== false) {
    const registry = new containerregistry.Registry(
      azureRegistryName(args.project, args.region),
      { resourceGroupName: rg.name, location: args.region, registryName: azureRegistryName(args.project, args.region), sku: { name: "Standard" }, adminUserEnabled: true },
      { provider, protect: true },
    );
    out.login_server = registry.loginServer;
  }
  if (args.network) {
    const name = azureProjectNetworkName(args.project);
    const vnet = new network.VirtualNetwork(
      name,
      { resourceGroupName: rg.name, location: args.region, virtualNetworkName: name, addressSpace: { addressPrefixes: ["10.100.0.0/16"] } },
      { provider, protect: true, ignoreChanges: ["subnets"] },
    );
    const subnet = new network.Subnet(`${name}-runs`, { resourceGroupName: rg.name, virtualNetworkName: vnet.name, subnetName: "runs", addressPrefix: "10.100.0.0/18" }, { provider, protect: true });
    out.subnet_id = subnet.id;
  }
  return out;
}

/** The registry part of the shared per-project stack (see `azureProjectProgram`). */
export function azureRegistryProgram(args: { project: string; region: string; tags: Record<string, string> }): Promise<Record<string, unknown>> {
  return azureProjectProgram({ ...args, registry: true, network: false });
}
