/**
 * src/ssh/keygen.ts: ed25519 keys in OpenSSH formats from node:crypto, checked against OpenSSH
 * itself (`ssh-keygen -y -f`, which loads the private key and prints its public key) and ssh2's
 * parser; a known answer from RFC 8032's first test vector; byte-for-byte the encoding
 * ssh-keygen writes; the flaws of stored keys (ssh2's 31-byte public keys among them) detected
 * and the run's key replaced; and the generator surviving Pulumi's closure serialization (the
 * local backend's provider makes container host keys with it). bench/keys.ts checks 10,000.
 */
import { execFileSync, spawnSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { utils } from "ssh2";
import {
  ed25519KeyPairFromSeed,
  ed25519KeyPairProblem,
  ed25519PublicKeyOf,
  generateEd25519KeyPair,
  openSshPrivateKey,
  openSshPublicKeyLine,
  parseOpenSshEd25519PrivateKey,
  parseOpenSshEd25519PublicKey,
} from "../../src/ssh/keygen";
import { ensureRunKey, readRunKey, storedKeyProblem } from "../../src/ssh/keys";

const sshKeygen = spawnSync("ssh-keygen", ["-?"], { encoding: "utf8" }).error ? null : "ssh-keygen";
/** OpenSSH checks run when ssh-keygen is installed; under CI=true its absence is a failure. */
function requireSshKeygen(): boolean {
  if (sshKeygen) return true;
  if (process.env.CI === "true") throw new Error("ssh-keygen (openssh-client) is not installed; CI must check keys with OpenSSH");
  process.stderr.write("keygen.test: ssh-keygen not found (install openssh-client); the OpenSSH checks are skipped\n");
  return false;
}

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "dstack-keygen-"));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function writeKey(name: string, privateKey: string): string {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, privateKey, { mode: 0o600 });
  fs.chmodSync(file, 0o600);
  return file;
}

/** `ssh-keygen -y -f` of many files in one shell: the public line of each, or `ERR`. */
function openSshPublicKeys(files: string[]): string[] {
  const script = 'for f in "$@"; do ssh-keygen -y -f "$f" 2>/dev/null || echo ERR; done';
  const out = execFileSync("sh", ["-c", script, "sh", ...files], { encoding: "utf8", maxBuffer: 64 << 20 });
  return out.trimEnd().split("\n");
}

/** The wire format written field by field, for keys our encoder refuses to write. */
function sshString(b: Buffer | string): Buffer {
  const body = typeof b === "string" ? Buffer.from(b) : b;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
}

/** What ssh2's generator writes when the public key starts with 0x00: every leading zero stripped. */
function ssh2StyleKey(seed: Buffer, comment: string): { privateKey: string; publicKey: string } {
  let pub = ed25519PublicKeyOf(seed);
  while (pub[0] === 0) pub = pub.subarray(1);
  const blob = Buffer.concat([sshString("ssh-ed25519"), sshString(pub)]);
  const section = Buffer.concat([Buffer.from([0, 0, 0, 7, 0, 0, 0, 7]), blob, sshString(Buffer.concat([seed, pub])), sshString(comment)]);
  const pad = Buffer.from(Array.from({ length: (8 - (section.length % 8)) % 8 }, (_, i) => i + 1));
  const body = Buffer.concat([Buffer.from("openssh-key-v1\0"), sshString("none"), sshString("none"), sshString(""), Buffer.from([0, 0, 0, 1]), sshString(blob), sshString(Buffer.concat([section, pad]))]);
  const pem = `-----BEGIN OPENSSH PRIVATE KEY-----\n${body.toString("base64").match(/.{1,70}/g)!.join("\n")}\n-----END OPENSSH PRIVATE KEY-----\n`;
  return { privateKey: pem, publicKey: `ssh-ed25519 ${blob.toString("base64")} ${comment}` };
}

/** The first seed sha256("dstack-" + i) whose public key starts with a zero byte (about 1 in 256). */
function seedWithLeadingZeroPublicKey(): Buffer {
  for (let i = 0; ; i++) {
    const seed = createHash("sha256").update(`dstack-${i}`).digest();
    if (ed25519PublicKeyOf(seed)[0] === 0) return seed;
  }
}

describe("known answers", () => {
  // RFC 8032, section 7.1, TEST 1
  const seed = Buffer.from("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", "hex");
  const expectedPublic = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
  const expectedLine = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINdamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea rfc8032-test-1";
  const expectedPem = [
    "-----BEGIN OPENSSH PRIVATE KEY-----",
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW",
    "QyNTUxOQAAACDXWpgBgrEKt9VL/tPJZAc6DuFy89qmIyWvAhpo9wdRGgAAAJgBAgMEAQID",
    "BAAAAAtzc2gtZWQyNTUxOQAAACDXWpgBgrEKt9VL/tPJZAc6DuFy89qmIyWvAhpo9wdRGg",
    "AAAECdYbGd7/1aYLqESvSS7CzEREnFaXsyaRlwO6wDHK5/YNdamAGCsQq31Uv+08lkBzoO",
    "4XLz2qYjJa8CGmj3B1EaAAAADnJmYzgwMzItdGVzdC0xAQIDBAUGBw==",
    "-----END OPENSSH PRIVATE KEY-----",
    "",
  ].join("\n");

  it("derives RFC 8032's public key and writes the expected OpenSSH files", () => {
    expect(ed25519PublicKeyOf(seed).toString("hex")).toBe(expectedPublic);
    const pair = ed25519KeyPairFromSeed(seed, "rfc8032-test-1", 0x01020304);
    expect(pair.publicKey).toBe(expectedLine);
    expect(pair.privateKey).toBe(expectedPem);
    const parts = parseOpenSshEd25519PrivateKey(pair.privateKey);
    expect(parts.seed.equals(seed)).toBe(true);
    expect(parts.comment).toBe("rfc8032-test-1");
    expect(parseOpenSshEd25519PublicKey(pair.publicKey).toString("hex")).toBe(expectedPublic);
    if (requireSshKeygen()) expect(openSshPublicKeys([writeKey("kat", pair.privateKey)])).toEqual([expectedLine]);
  });

  it("writes byte for byte what ssh-keygen writes for the same key", () => {
    if (!requireSshKeygen()) return;
    const file = path.join(tmp, "from-ssh-keygen");
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "made by ssh-keygen", "-f", file]);
    const text = fs.readFileSync(file, "utf8");
    const parts = parseOpenSshEd25519PrivateKey(text);
    // the check integer is random: read it where openssh-key-v1 puts it (after 98 bytes)
    const checkInt = Buffer.from(text.split("\n").slice(1, -2).join(""), "base64").readUInt32BE(98);
    expect(openSshPrivateKey(parts, checkInt)).toBe(text);
    expect(openSshPublicKeyLine(parts.publicKey, parts.comment)).toBe(fs.readFileSync(`${file}.pub`, "utf8").trim());
  });
});

describe("generated keys load in OpenSSH and ssh2", () => {
  it("300 keys: ssh-keygen -y prints each .pub line; ssh2 parses each to the same public key", () => {
    const pairs = Array.from({ length: 300 }, (_, i) => generateEd25519KeyPair(`dstack:k${i}`));
    expect(new Set(pairs.map((p) => p.publicKey)).size).toBe(300);
    for (const p of pairs) {
      expect(ed25519KeyPairProblem(p.privateKey, p.publicKey)).toBeNull();
      const k = utils.parseKey(p.privateKey);
      if (k instanceof Error || Array.isArray(k)) throw new Error(`ssh2 rejected ${p.publicKey}: ${String(k)}`);
      expect(`ssh-ed25519 ${k.getPublicSSH().toString("base64")} ${k.comment}`).toBe(p.publicKey);
    }
    if (!requireSshKeygen()) return;
    const files = pairs.map((p, i) => writeKey(`gen-${i}`, p.privateKey));
    expect(openSshPublicKeys(files)).toEqual(pairs.map((p) => p.publicKey));
  }, 120000);

  /**
   * keygen.ts compiled to CommonJS by swc (as jest runs it) or tsc (dist/, what dstack runs; it
   * compiles a reference to an exported const to `exports.NAME`, which the serializer misses).
   */
  async function compiledKeygen(compiler: "swc" | "tsc"): Promise<string> {
    const source = fs.readFileSync(path.join(__dirname, "..", "..", "src", "ssh", "keygen.ts"), "utf8");
    let js: string;
    if (compiler === "tsc") {
      const ts = await import("typescript");
      js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } }).outputText;
    } else {
      const swc = await import("@swc/core");
      js = swc.transformSync(source, { filename: "keygen.ts", jsc: { target: "es2022", parser: { syntax: "typescript" } }, module: { type: "commonjs" } }).code;
    }
    const file = path.join(tmp, `keygen-${compiler}.js`);
    fs.writeFileSync(file, js);
    return file;
  }

  /**
   * Serializes the module's generateEd25519KeyPair with Pulumi in a plain node process (as the
   * local program does for the container provider), then runs the result in another.
   */
  function runSerialized(moduleFile: string): { privateKey: string; publicKey: string } {
    const serialized = `${moduleFile}.serialized.js`;
    const serialize = [
      `const pulumi = require(${JSON.stringify(require.resolve("@pulumi/pulumi"))});`,
      `const keygen = require(${JSON.stringify(moduleFile)});`,
      "pulumi.runtime.serializeFunction(() => keygen.generateEd25519KeyPair, { allowSecrets: false })",
      `  .then((f) => require("fs").writeFileSync(${JSON.stringify(serialized)}, f.text), (e) => { console.error(e); process.exit(1); });`,
    ].join("\n");
    const made = spawnSync(process.execPath, ["-e", serialize], { encoding: "utf8" });
    if (made.status !== 0) throw new Error(`serializing ${moduleFile} failed:\n${made.stderr}`);
    const out = spawnSync(process.execPath, ["-e", `process.stdout.write(JSON.stringify(require(${JSON.stringify(serialized)}).handler()("dstack-host")))`], { encoding: "utf8" });
    if (out.status !== 0) throw new Error(`the serialized generator of ${moduleFile} failed:\n${out.stderr}`);
    return JSON.parse(out.stdout) as { privateKey: string; publicKey: string };
  }

  it.each(["swc", "tsc"] as const)("survives Pulumi's closure serialization (the local container provider's host keys), compiled by %s", async (compiler) => {
    const pair = runSerialized(await compiledKeygen(compiler));
    expect(ed25519KeyPairProblem(pair.privateKey, pair.publicKey)).toBeNull();
    expect(pair.publicKey).toMatch(/^ssh-ed25519 AAAA\S+ dstack-host$/);
    if (requireSshKeygen()) expect(openSshPublicKeys([writeKey(`serialized-${compiler}-key`, pair.privateKey)])).toEqual([pair.publicKey]);
  }, 90000);
});

describe("flawed keys are detected", () => {
  const good = generateEd25519KeyPair("dstack:good");

  it("ssh2's stripped 31-byte public key (ssh2 issues 1390, 1513)", () => {
    const bad = ssh2StyleKey(seedWithLeadingZeroPublicKey(), "dstack:bad");
    expect(Buffer.from(bad.publicKey.split(" ")[1]!, "base64").length).toBe(50);
    expect(ed25519KeyPairProblem(bad.privateKey, bad.publicKey)).toMatch(/public key is 31 bytes/);
    expect(storedKeyProblem(bad.privateKey, bad.publicKey)).toMatch(/31 bytes/);
    expect(utils.parseKey(bad.privateKey)).toBeInstanceOf(Error);
    if (requireSshKeygen()) expect(openSshPublicKeys([writeKey("ssh2-style", bad.privateKey)])).toEqual(["ERR"]);
  });

  it("a corrupted body, a truncated file, a foreign .pub, a seed that does not derive its key", () => {
    const lines = good.privateKey.split("\n");
    const flipped = [...lines];
    flipped[3] = flipped[3]!.replace(/^./, (c) => (c === "A" ? "B" : "A"));
    expect(ed25519KeyPairProblem(flipped.join("\n"), good.publicKey)).not.toBeNull();
    expect(ed25519KeyPairProblem(lines.slice(0, 3).join("\n"), good.publicKey)).toMatch(/not an OpenSSH private key/);
    expect(ed25519KeyPairProblem(good.privateKey, generateEd25519KeyPair("x").publicKey)).toBe("the public key file does not match the private key");
    expect(ed25519KeyPairProblem(good.privateKey, "ssh-rsa AAAAB3NzaC1yc2E x")).toMatch(/public key file is invalid/);
    const parts = parseOpenSshEd25519PrivateKey(good.privateKey);
    const otherSeed = Buffer.from(parts.seed);
    otherSeed[0] ^= 1;
    expect(ed25519KeyPairProblem(openSshPrivateKey({ ...parts, seed: otherSeed }))).toMatch(/seed does not derive/);
    expect(ed25519KeyPairProblem(good.privateKey, good.publicKey)).toBeNull();
  });
});

describe("ensureRunKey replaces a stored key that does not load", () => {
  const env = (): NodeJS.ProcessEnv => ({ DSTACK_HOME: path.join(tmp, `home-${Math.random().toString(36).slice(2)}`) });

  it("a new key: valid, no warning; the same key on the next call", () => {
    const e = env();
    const k = ensureRunKey("calm-fox-1", e);
    expect(k.replaced).toBeUndefined();
    expect(storedKeyProblem(k.privateKey, k.publicKey)).toBeNull();
    expect(ensureRunKey("calm-fox-1", e)).toEqual(k);
  });

  it("ssh2's bad key, a mismatched .pub, half a pair: replaced (private and .pub rewritten) with a reason", () => {
    const e = env();
    const first = ensureRunKey("calm-fox-2", e);
    const bad = ssh2StyleKey(seedWithLeadingZeroPublicKey(), "dstack:calm-fox-2");
    fs.writeFileSync(first.privateKeyPath, bad.privateKey);
    fs.writeFileSync(first.publicKeyPath, bad.publicKey + "\n");
    const replaced = ensureRunKey("calm-fox-2", e);
    expect(replaced.replaced).toMatch(/^the SSH key of run calm-fox-2 \(.*id_calm-fox-2\) could not be used \(the private key is invalid: the public key is 31 bytes, not 32\); a new key was generated$/);
    expect(replaced.publicKey).not.toBe(bad.publicKey);
    expect(fs.readFileSync(replaced.privateKeyPath, "utf8")).toBe(replaced.privateKey);
    expect(fs.readFileSync(replaced.publicKeyPath, "utf8")).toBe(replaced.publicKey + "\n");
    expect(fs.statSync(replaced.privateKeyPath).mode & 0o777).toBe(0o600);
    expect(storedKeyProblem(replaced.privateKey, replaced.publicKey)).toBeNull();
    expect(ensureRunKey("calm-fox-2", e).replaced).toBeUndefined();

    fs.writeFileSync(replaced.publicKeyPath, generateEd25519KeyPair("dstack:other").publicKey + "\n");
    expect(ensureRunKey("calm-fox-2", e).replaced).toMatch(/does not match the private key/);

    fs.rmSync(replaced.publicKeyPath);
    const half = ensureRunKey("calm-fox-2", e);
    expect(half.replaced).toMatch(/incomplete/);
    expect(readRunKey("calm-fox-2", e)?.publicKey).toBe(half.publicKey);
    if (requireSshKeygen()) expect(openSshPublicKeys([half.privateKeyPath])).toEqual([half.publicKey]);
  });
});
