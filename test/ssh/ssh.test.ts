import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Server, utils } from "ssh2";
import type { AddressInfo } from "net";
import { DstackError } from "../../src/diagnostics";
import { ensureRunKey, readRunKey, removeRunKey } from "../../src/ssh/keys";
import { generateEd25519KeyPair } from "../../src/ssh/keygen";
import {
  listBlocks,
  removeBlock,
  removeRunSshConfig,
  upsertBlock,
  withInclude,
  withKnownHost,
  writeRunSshConfig,
  userSshConfigPath,
} from "../../src/ssh/config";
import { waitForSsh } from "../../src/ssh/wait";

const entry = (run: string, port = 2222) => ({
  run,
  hostName: "127.0.0.1",
  port,
  user: "root",
  identityFile: `/h/ssh/id_${run}`,
  knownHostsFile: "/h/ssh/known_hosts",
});

describe("ssh config text", () => {
  test("upsert is idempotent and replaces only its own block", () => {
    const a = upsertBlock("", entry("a"));
    const ab = upsertBlock(a, entry("b"));
    expect(listBlocks(ab)).toEqual(["a", "b"]);
    expect(upsertBlock(ab, entry("b"))).toBe(ab);
    const moved = upsertBlock(ab, entry("a", 3333));
    expect(listBlocks(moved)).toEqual(["b", "a"]);
    expect(moved).toContain("Port 3333");
    expect(moved).not.toContain("Port 2222\n  User root\n  IdentityFile /h/ssh/id_a");
    expect(removeBlock(removeBlock(moved, "a"), "b").trim()).toBe("");
    expect(ab).toMatch(/Host a\n {2}HostName 127\.0\.0\.1\n {2}Port 2222\n {2}User root\n {2}IdentityFile \/h\/ssh\/id_a\n {2}IdentitiesOnly yes\n {2}UserKnownHostsFile \/h\/ssh\/known_hosts\n {2}HostKeyAlias a\n {2}StrictHostKeyChecking yes/);
  });

  test("Include goes on top once and keeps the user's text", () => {
    const user = "Host gitlab\n  User git\n";
    const once = withInclude(user, "/x/.dstack/ssh/config");
    expect(once.startsWith("# Added by dstack")).toBe(true);
    expect(once.split("\n")[1]).toBe("Include /x/.dstack/ssh/config");
    expect(once.endsWith(user)).toBe(true);
    expect(withInclude(once, "/x/.dstack/ssh/config")).toBe(once);
    expect(withInclude("", "/a b/config")).toContain('Include "/a b/config"');
  });

  test("known_hosts pins one key per alias", () => {
    const k1 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA1 root@x";
    const k2 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA2";
    let t = withKnownHost("", "a", k1);
    t = withKnownHost(t, "b", k1);
    t = withKnownHost(t, "a", k2);
    expect(t).toBe("b ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA1\na ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA2\n");
    expect(() => withKnownHost("", "a", "not a key")).toThrow(DstackError);
  });
});

describe("ssh files under DSTACK_HOME and HOME", () => {
  let tmp: string;
  const saved = { HOME: process.env.HOME, DSTACK_HOME: process.env.DSTACK_HOME };
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "dstack-ssh-"));
    process.env.HOME = path.join(tmp, "home");
    process.env.DSTACK_HOME = path.join(tmp, "dstack");
  });
  afterEach(() => {
    process.env.HOME = saved.HOME;
    process.env.DSTACK_HOME = saved.DSTACK_HOME;
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test("keys are ed25519 OpenSSH, 0600, stable, removable", () => {
    const k = ensureRunKey("fast-moth-1");
    expect(k.publicKey).toMatch(/^ssh-ed25519 AAAA[A-Za-z0-9+/=]+ dstack:fast-moth-1$/);
    expect(k.privateKey).toContain("BEGIN OPENSSH PRIVATE KEY");
    expect(fs.statSync(k.privateKeyPath).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.dirname(k.privateKeyPath)).mode & 0o777).toBe(0o700);
    expect(ensureRunKey("fast-moth-1").publicKey).toBe(k.publicKey);
    const parsed = utils.parseKey(k.privateKey);
    expect(parsed instanceof Error).toBe(false);
    removeRunKey("fast-moth-1");
    expect(readRunKey("fast-moth-1")).toBeNull();
    expect(() => ensureRunKey("../etc")).toThrow(DstackError);
  });

  test("write and remove the run's entry; Include is added once to the redirected ~/.ssh/config", () => {
    expect(userSshConfigPath()).toBe(path.join(tmp, "home", ".ssh", "config"));
    const hk = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA1";
    const cfg = writeRunSshConfig({ run: "r1", hostName: "127.0.0.1", port: 4000, user: "root", identityFile: "/k" }, hk);
    writeRunSshConfig({ run: "r1", hostName: "127.0.0.1", port: 4001, user: "root", identityFile: "/k" }, hk);
    const text = fs.readFileSync(cfg, "utf8");
    expect(listBlocks(text)).toEqual(["r1"]);
    expect(text).toContain("Port 4001");
    const user = fs.readFileSync(userSshConfigPath(), "utf8");
    expect(user.match(/^Include /gm)).toHaveLength(1);
    expect(fs.statSync(userSshConfigPath()).mode & 0o777).toBe(0o600);
    removeRunSshConfig("r1");
    expect(listBlocks(fs.readFileSync(cfg, "utf8"))).toEqual([]);
    expect(fs.readFileSync(path.join(tmp, "dstack", "ssh", "known_hosts"), "utf8")).toBe("");
  });

  test("include: false leaves ~/.ssh alone", () => {
    writeRunSshConfig({ run: "r2", hostName: "127.0.0.1", port: 4000, user: "root", identityFile: "/k" }, null, { include: false });
    expect(fs.existsSync(path.join(tmp, "home", ".ssh"))).toBe(false);
  });
});

/** A key pair in ssh2's shape, from src/ssh/keygen (ssh2's own generator fails ~0.4% of the time). */
function keyPair(): { private: string; public: string } {
  const k = generateEd25519KeyPair();
  return { private: k.privateKey, public: k.publicKey };
}

describe("waitForSsh against a real ssh2 server on loopback", () => {
  const hostKey = keyPair();
  const clientKey = keyPair();
  const allowed = utils.parseKey(clientKey.public);

  function startServer(): Promise<{ server: Server; port: number }> {
    const server = new Server({ hostKeys: [hostKey.private] }, (client) => {
      client.on("authentication", (ctx) => {
        if (ctx.method === "publickey" && !(allowed instanceof Error) && ctx.key.data.equals(allowed.getPublicSSH())) ctx.accept();
        else ctx.reject(["publickey"]);
      });
      client.on("ready", () => client.end());
      client.on("error", () => undefined);
    });
    return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({ server, port: (server.address() as AddressInfo).port })));
  }

  test("waits for a server that starts late, and verifies the host key", async () => {
    // reserve a port, then start the server on it after a delay
    const probe = await startServer();
    const port = probe.port;
    await new Promise<void>((r) => probe.server.close(() => r()));
    let server: Server | undefined;
    const timer = setTimeout(() => {
      server = new Server({ hostKeys: [hostKey.private] }, (client) => {
        client.on("authentication", (ctx) => {
          if (ctx.method === "publickey" && !(allowed instanceof Error) && ctx.key.data.equals(allowed.getPublicSSH())) ctx.accept();
          else ctx.reject(["publickey"]);
        });
        client.on("error", () => undefined);
      });
      server.listen(port, "127.0.0.1");
    }, 400);
    try {
      const r = await waitForSsh({ host: "127.0.0.1", port, username: "root", privateKey: clientKey.private, hostKey: hostKey.public, timeoutMs: 10_000 });
      expect(r.attempts).toBeGreaterThan(1);
    } finally {
      clearTimeout(timer);
      await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    }
  });

  test("refuses a different host key and times out on a wrong client key", async () => {
    const { server, port } = await startServer();
    try {
      const other = keyPair();
      await expect(waitForSsh({ host: "127.0.0.1", port, username: "root", privateKey: clientKey.private, hostKey: other.public, timeoutMs: 3000 })).rejects.toMatchObject({ diagnostics: [{ code: "E5004" }] });
      await expect(waitForSsh({ host: "127.0.0.1", port, username: "root", privateKey: other.private, timeoutMs: 1500 })).rejects.toMatchObject({ diagnostics: [{ code: "E5003" }] });
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
