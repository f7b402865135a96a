/**
 * The local backend's provider plugin, without Docker: type tokens (old and new), the URN's
 * type, secrets opened for the resource providers and sealed again on the way out, and the
 * dispatch (an unknown type is refused with the known ones).
 */
import { localProvider, revealSecrets, sealSecrets, secretKeys, typeOfUrn } from "../../src/compiler/backends/local/provider";
import { legacyLocalType, localKindOf, localType } from "../../src/compiler/backends/local/tokens";

const SIG = "4dabf18193072939515e22adb298388d";
const SECRET = "1b47061264138c4ac30d75fd1eb44270";
const secret = (value: unknown) => ({ [SIG]: SECRET, value });

describe("local type tokens", () => {
  it("names the plugin's types and knows the dynamic-provider types of older stacks", () => {
    expect(localType("LocalContainer")).toBe("dstack:index:LocalContainer");
    expect(legacyLocalType("LocalVolume")).toBe("pulumi-nodejs:dynamic/dstack:LocalVolume");
    expect(localKindOf("dstack:index:LocalImage")).toBe("LocalImage");
    expect(localKindOf("pulumi-nodejs:dynamic/dstack:LocalContainer")).toBe("LocalContainer");
    expect(localKindOf("pulumi-nodejs:dynamic:Resource")).toBeNull();
    expect(localKindOf("aws:ec2/instance:Instance")).toBeNull();
  });

  it("reads the type of a URN, a child's included", () => {
    expect(typeOfUrn("urn:pulumi:run1::dstack::dstack:index:LocalContainer::container")).toBe("dstack:index:LocalContainer");
    expect(typeOfUrn("urn:pulumi:run1::dstack::my:Component$dstack:index:LocalVolume::v")).toBe("dstack:index:LocalVolume");
  });
});

describe("secrets across the plugin", () => {
  it("opens every envelope (nested too) and seals the keys whose input held one", () => {
    const inputs = { env: { A: "1" }, secret_env: secret({ TOKEN: "t" }), auth: { password: secret("pw") }, n: 3 };
    expect(revealSecrets(inputs)).toEqual({ env: { A: "1" }, secret_env: { TOKEN: "t" }, auth: { password: "pw" }, n: 3 });
    expect(secretKeys(inputs).sort()).toEqual(["auth", "secret_env"]);
    const sealed = sealSecrets({ env: { A: "1" }, secret_env: { TOKEN: "t" }, auth: { password: "pw" }, id: "x" }, ["secret_env", "auth", "absent"]);
    expect(sealed).toEqual({ env: { A: "1" }, secret_env: secret({ TOKEN: "t" }), auth: secret({ password: "pw" }), id: "x" });
    expect(sealSecrets({ a: secret(1) }, ["a"])).toEqual({ a: secret(1) }); // not sealed twice
  });
});

describe("localProvider dispatch", () => {
  const p = localProvider("1.2.3");

  it("reports its version and refuses a type it does not serve", async () => {
    expect(p.version).toBe("1.2.3");
    await expect(p.diff!("id", "urn:pulumi:s::dstack::aws:s3/bucket:Bucket::b", {}, {})).rejects.toThrow(/unknown resource type.*dstack:index:LocalContainer/);
  });

  it("diffs with the resource provider's rules on plain values, for old and new type tokens alike", async () => {
    for (const type of [localType("LocalVolume"), legacyLocalType("LocalVolume")]) {
      const urn = `urn:pulumi:s::dstack::${type}::volume-v`;
      const olds = { name: "v", labels: {}, retain: true, adopted: false, mountpoint: "/m", __provider: "exports.handler = …" };
      expect(await p.diff!("v", urn, olds, { name: "v", labels: { x: "y" }, retain: true })).toEqual({ changes: false, replaces: [] });
      expect(await p.diff!("v", urn, olds, { name: "w", labels: {}, retain: true })).toEqual({ changes: true, replaces: ["name"] });
    }
  });

  it("checks inputs (a bad volume name fails) and keeps a secret input secret", async () => {
    const urn = `urn:pulumi:s::dstack::${localType("LocalVolume")}::volume-v`;
    const bad = await p.check!(urn, {}, { name: "bad name!", labels: {}, retain: true });
    expect(bad.failures?.[0]?.property).toBe("name");
    const ok = await p.check!(urn, {}, { name: "v", labels: secret({ a: "b" }), retain: true });
    expect(ok.failures).toEqual([]);
    expect(ok.inputs.labels).toEqual(secret({ a: "b" }));
  });
});
