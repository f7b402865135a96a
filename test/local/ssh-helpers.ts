/** Real OpenSSH client helpers for the local backend tests (keys and known_hosts in a temp folder). */
import { execFile } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { generateEd25519KeyPair } from "../../src/ssh/keygen";

export interface ClientKey {
  privatePath: string;
  publicKey: string;
}

/** A client key from src/ssh/keygen (ssh2's generator writes an invalid key ~0.4% of the time). */
export function clientKey(dir: string): ClientKey {
  const k = generateEd25519KeyPair("dstack-test");
  const privatePath = path.join(dir, "id_ed25519");
  fs.writeFileSync(privatePath, k.privateKey, { mode: 0o600 });
  return { privatePath, publicKey: k.publicKey };
}

export function sshRun(key: ClientKey, port: number, hostKey: string, dir: string, command: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const kh = path.join(dir, `known_hosts_${port}`);
  fs.writeFileSync(kh, `[127.0.0.1]:${port} ${hostKey}\n`);
  const args = [
    "-F", "/dev/null", "-i", key.privatePath, "-p", String(port),
    "-o", "StrictHostKeyChecking=yes", "-o", `UserKnownHostsFile=${kh}`, "-o", "BatchMode=yes",
    "-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=5", "-o", "LogLevel=ERROR",
    "root@127.0.0.1", command,
  ];
  return new Promise((resolve) => {
    execFile("ssh", args, { timeout: 30000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === "number" ? ((err as { code: number }).code) : 255) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: "127.0.0.1", port }, () => {
      s.once("data", () => { s.destroy(); resolve(true); });
    });
    s.setTimeout(1000, () => { s.destroy(); resolve(false); });
    s.once("error", () => resolve(false));
  });
}

/** Waits until sshd sends its banner on 127.0.0.1:port; returns the seconds waited. */
export async function waitForBanner(port: number, timeoutMs = 60000): Promise<number> {
  const start = Date.now();
  while (Date.now() - start < timeoutMs) {
    if (await tcpOpen(port)) return (Date.now() - start) / 1000;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`sshd on 127.0.0.1:${port} did not answer within ${timeoutMs} ms`);
}
