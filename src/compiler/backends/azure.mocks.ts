/**
 * The azure program's canned answers under the mock engine (src/compiler/mock-engine.ts): the
 * lookups azure.ts makes and the outputs Azure computes for the resources it creates. Every
 * other azure-native resource gets an id of Azure's shape from its name inputs.
 */
import { hex, ipv4, type PackageMocks } from "./cloud/mocks";

const SUBSCRIPTION = "/subscriptions/00000000-0000-0000-0000-000000000000";

export const azureMocks: PackageMocks = {
  call(token, args, ctx) {
    const a = args as Record<string, never>;
    switch (token) {
      case "azure-native:resources:getResourceGroup": {
        const name = String(a.resourceGroupName);
        return { id: `${SUBSCRIPTION}/resourceGroups/${name}`, name, location: ctx.region, type: "Microsoft.Resources/resourceGroups" };
      }
      case "azure-native:network:getSubnet": {
        const id = `${SUBSCRIPTION}/resourceGroups/${String(a.resourceGroupName)}/providers/Microsoft.Network/virtualNetworks/${String(a.virtualNetworkName)}/subnets/${String(a.subnetName)}`;
        return { id, name: a.subnetName, addressPrefix: "10.100.0.0/18", provisioningState: "Succeeded" };
      }
      case "azure-native:containerregistry:getRegistry":
        return { id: `${SUBSCRIPTION}/resourceGroups/${String(a.resourceGroupName)}/providers/Microsoft.ContainerRegistry/registries/${String(a.registryName)}`, name: a.registryName, loginServer: `${String(a.registryName)}.azurecr.io`, location: ctx.region };
      case "azure-native:containerregistry:listRegistryCredentials":
        return { username: a.registryName, passwords: [{ name: "password", value: "mock-acr-password" }, { name: "password2", value: "mock-acr-password-2" }] };
      default:
        return undefined;
    }
  },

  state(type, name, inputs) {
    const i = inputs;
    const h = (n: number) => hex(type + name, n);
    switch (type) {
      case "azure-native:network:PublicIPAddress":
        return { id: `${SUBSCRIPTION}/resourceGroups/rg/providers/Microsoft.Network/publicIPAddresses/${name}`, state: { ...i, name: i.publicIpAddressName ?? name, ipAddress: ipv4(name) } };
      case "azure-native:compute:VirtualMachine":
        return { id: `${SUBSCRIPTION}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/${String(i.vmName ?? name)}`, state: { ...i, name: i.vmName ?? name, vmId: `${h(8)}-${h(4)}-4${h(3)}-8${h(3)}-${h(12)}`, identity: i.identity ? { ...(i.identity as object), principalId: `${h(8)}-0000-4000-8000-${h(12)}`, tenantId: "00000000-0000-0000-0000-00000000feed" } : undefined } };
      case "azure-native:containerregistry:Registry":
        return { id: `${SUBSCRIPTION}/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/${String(i.registryName)}`, state: { ...i, loginServer: `${String(i.registryName)}.azurecr.io` } };
      default: {
        const nameKey = Object.keys(i).find((k) => k.endsWith("Name") && k !== "resourceGroupName" && typeof i[k] === "string");
        const n = String(nameKey ? i[nameKey] : name);
        return { id: `${SUBSCRIPTION}/resourceGroups/${String(i.resourceGroupName ?? n)}/providers/${type.split(":")[1]}/${n}`, state: { ...i, name: n } };
      }
    }
  },
};
