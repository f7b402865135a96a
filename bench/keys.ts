/**
 * bench/keys: dstack's ed25519 key generator (src/ssh/keygen.ts, node:crypto) at scale.
 *   1. generate N keys (default 10,000) and check every one with OpenSSH: `ssh-keygen -y -f`
 *      loads each private key and must print exactly the key's `.pub` line; ssh2's parser must
 *      load each and give the same public key. Prints count and failures; exits 1 on any failure.
 *   2. time per key; baselines in the same run: ssh2's `utils.generateKeyPairSync` (what dstack
 *      used before, on N keys, and how many of 3,000 of them OpenSSH refuses) and
 *      `ssh-keygen -t ed25519` spawned once per key (100 keys).
 * `ssh-keygen -y` runs in batches of files per shell, the batches side by side on every CPU.
 *
 *   npm run build && node dist/bench/keys.js [N]      (npm run bench -- keys)
 */
import { execFile, execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { utils } from "ssh2";
import { generateEd25519KeyPair, type OpenSshKeyPair } from "../src/ssh/keygen";

const N = Number(process.argv[2] ?? 10_000);
const SSH_KEYGEN_SAMPLE = Math.min(100, N);
/** ssh2's keys checked with OpenSSH (its failure rate, ~0.4%, needs a few thousand to show). */
const SSH2_SAMPLE = Math.min(3000, N);
const BATCH = 250;

const line = (label: string, value: string) => process.stdout.write(`${label.padEnd(58)} ${value}\n`);
const perKey = (ms: number, n: number) => `${((ms * 1000) / n).toFixed(1).padStart(8)} µs/key  (${n} keys, ${(ms / 1000).toFixed(2)} s)`;

function timed<T>(fn: () => T): [T, number] {
  const t = process.hrtime.bigint();
  const out = fn();
  return [out, Number(process.hrtime.bigint() - t) / 1e6];
}

function runShell(script: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile("sh", ["-c", script, "sh", ...args], { encoding: "utf8", maxBuffer: 64 << 20 }, (err, out) => (err ? reject(err) : resolve(out))),
  );
}

/** `ssh-keygen -y -f` of every file, in batches run side by side: the printed line of each, or `ERR`. */
async function openSshPublicKeys(files: string[]): Promise<string[]> {
  const script = 'for f in "$@"; do ssh-keygen -y -f "$f" 2>/dev/null || echo ERR; done';
  const batches: string[][] = [];
  for (let i = 0; i < files.length; i += BATCH) batches.push(files.slice(i, i + BATCH));
  const results: string[][] = new Array(batches.length);
  let next = 0;
  const worker = async () => {
    while (next < batches.length) {
      const i = next++;
      results[i] = (await runShell(script, batches[i]!)).trimEnd().split("\n");
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, os.cpus().length) }, worker));
  return results.flat();
}

function writeKeys(dir: string, pairs: OpenSshKeyPair[]): string[] {
  fs.mkdirSync(dir, { recursive: true });
  return pairs.map((p, i) => {
    const file = path.join(dir, `k${i}`);
    fs.writeFileSync(file, p.privateKey, { mode: 0o600 });
    return file;
  });
}

function ssh2Problem(p: OpenSshKeyPair): boolean {
  const k = utils.parseKey(p.privateKey);
  if (k instanceof Error || Array.isArray(k)) return true;
  return `ssh-ed25519 ${k.getPublicSSH().toString("base64")} ${k.comment}` !== p.publicKey;
}

async function main(): Promise<void> {
  try {
    execFileSync("ssh-keygen", ["-?"], { stdio: "ignore" });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") {
      process.stderr.write("bench/keys needs ssh-keygen (apt-get install openssh-client)\n");
      process.exit(1);
    }
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "dstack-bench-keys-"));
  process.stdout.write(`node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? "?"}), load ${os.loadavg()[0]!.toFixed(2)}\n\n`);
  try {
    // warm-up: the first key pays for loading OpenSSL's ed25519
    for (let i = 0; i < 50; i++) generateEd25519KeyPair("warm-up");

    process.stdout.write("generation, time per key\n");
    const [ours, oursMs] = timed(() => Array.from({ length: N }, (_, i) => generateEd25519KeyPair(`dstack:bench-${i}`)));
    line("  dstack (src/ssh/keygen.ts, node:crypto)", perKey(oursMs, N));
    const [theirs, theirsMs] = timed(() => Array.from({ length: N }, (_, i) => utils.generateKeyPairSync("ed25519", { comment: `ssh2:bench-${i}` })));
    line("  baseline: ssh2 utils.generateKeyPairSync", perKey(theirsMs, N));
    const keygenDir = path.join(tmp, "ssh-keygen");
    fs.mkdirSync(keygenDir);
    const [, keygenMs] = timed(() => {
      for (let i = 0; i < SSH_KEYGEN_SAMPLE; i++) execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", `k${i}`, "-f", path.join(keygenDir, `k${i}`)]);
    });
    line("  baseline: ssh-keygen -t ed25519, one process per key", perKey(keygenMs, SSH_KEYGEN_SAMPLE));

    process.stdout.write("\nevery key loaded by OpenSSH (ssh-keygen -y -f) and ssh2 (utils.parseKey)\n");
    const [printed, checkMs] = await (async () => {
      const t = process.hrtime.bigint();
      const out = await openSshPublicKeys(writeKeys(path.join(tmp, "ours"), ours));
      return [out, Number(process.hrtime.bigint() - t) / 1e6] as const;
    })();
    const openSshFailures = ours.filter((p, i) => printed[i] !== p.publicKey).length;
    const ssh2Failures = ours.filter(ssh2Problem).length;
    line("  dstack keys checked", `${N} (ssh-keygen -y: ${(checkMs / 1000).toFixed(1)} s)`);
    line("  OpenSSH failures (refused, or another public key)", String(openSshFailures));
    line("  ssh2 failures", String(ssh2Failures));

    const theirPairs = theirs.slice(0, SSH2_SAMPLE).map((p) => ({ privateKey: p.private, publicKey: p.public.trim() }));
    const theirPrinted = await openSshPublicKeys(writeKeys(path.join(tmp, "ssh2"), theirPairs));
    const theirFailures = theirPairs.filter((p, i) => theirPrinted[i] !== p.publicKey).length;
    line("  baseline: ssh2-generated keys OpenSSH refuses", `${theirFailures} of ${SSH2_SAMPLE} (${((100 * theirFailures) / SSH2_SAMPLE).toFixed(2)}%)`);

    if (openSshFailures || ssh2Failures || printed.length !== N) {
      process.stderr.write(`FAILED: ${openSshFailures} keys OpenSSH did not load, ${ssh2Failures} ssh2 did not\n`);
      process.exitCode = 1;
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
