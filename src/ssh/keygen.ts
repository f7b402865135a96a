/**
 * Ed25519 key pairs in OpenSSH's own formats, made with node:crypto (pure apart from the
 * random seed).
 *
 * Why not ssh2's `utils.generateKeyPairSync`: it reads the public key out of the SPKI BIT STRING
 * by stripping *every* leading zero byte (meant for the unused-bits byte only), so a key whose
 * public half starts with 0x00 — about 1 in 256 — is written with a 31-byte public key that
 * OpenSSH and ssh2 itself refuse (ssh2 issues 1390 and 1513). Here the 32-byte public key and
 * the 32-byte seed are taken at fixed offsets of the DER encodings, whose prefixes are checked.
 *
 * Formats (OpenSSH's PROTOCOL.key and RFC 8709):
 * - private key: PEM "OPENSSH PRIVATE KEY" around `openssh-key-v1\0`, cipher "none", kdf "none",
 *   one key: the public blob, then a private section of two equal check integers, the key type,
 *   the public key, seed || public key (64 bytes), the comment, and padding 1, 2, 3, … to a
 *   multiple of 8 bytes;
 * - public key: one line `ssh-ed25519 AAAA… comment`.
 *
 * Self-contained (node:crypto only), so the local backend's dynamic provider can make the
 * container's host key with it inside the engine's provider process. For that closure
 * serialization, module-level constants are strings, not Buffers (a captured Buffer is not
 * rebuilt), and none is exported (tsc compiles a reference to an exported const to
 * `exports.NAME`, which is not captured); test/ssh/keygen.test.ts checks both compilers' output.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes } from "crypto";

/** A key pair as OpenSSH writes it: the private key file's text and the `.pub` line (no newline). */
export interface OpenSshKeyPair {
  /** `-----BEGIN OPENSSH PRIVATE KEY-----` … (ends with a newline). */
  privateKey: string;
  /** `ssh-ed25519 AAAA… comment`. */
  publicKey: string;
}

/** The parts of an unencrypted OpenSSH ed25519 private key. */
export interface Ed25519KeyParts {
  seed: Buffer;
  publicKey: Buffer;
  comment: string;
}

const KEY_TYPE = "ssh-ed25519";
const MAGIC = "openssh-key-v1\0";
const PEM_BEGIN = "-----BEGIN OPENSSH PRIVATE KEY-----";
const PEM_END = "-----END OPENSSH PRIVATE KEY-----";
/** DER of PKCS#8 `PrivateKeyInfo` for Ed25519 up to the 32-byte seed (RFC 8410). */
const PKCS8_PREFIX = "302e020100300506032b657004220420";
/** DER of `SubjectPublicKeyInfo` for Ed25519 up to the 32-byte key (BIT STRING, 0 unused bits). */
const SPKI_PREFIX = "302a300506032b6570032100";
/** The cipher "none" pads the private section to this block size. */
const BLOCK = 8;

function sshString(data: Buffer | string): Buffer {
  const body = typeof data === "string" ? Buffer.from(data, "utf8") : data;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
}

function uint32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

function afterPrefix(der: Buffer, prefixHex: string, what: string): Buffer {
  const prefix = Buffer.from(prefixHex, "hex");
  if (der.length !== prefix.length + 32 || !der.subarray(0, prefix.length).equals(prefix)) {
    throw new Error(`unexpected ${what} encoding of an ed25519 key (${der.length} bytes)`);
  }
  return Buffer.from(der.subarray(prefix.length));
}

function checkComment(comment: string): void {
  if (/[\r\n]/.test(comment)) throw new Error(`a key comment is one line: ${JSON.stringify(comment)}`);
}

/** The 32-byte ed25519 public key of a 32-byte seed (RFC 8032 private key). */
export function ed25519PublicKeyOf(seed: Buffer): Buffer {
  if (seed.length !== 32) throw new Error(`an ed25519 seed is 32 bytes, got ${seed.length}`);
  const key = createPrivateKey({ key: Buffer.concat([Buffer.from(PKCS8_PREFIX, "hex"), seed]), format: "der", type: "pkcs8" });
  const spki = createPublicKey(key).export({ format: "der", type: "spki" });
  return afterPrefix(spki, SPKI_PREFIX, "SPKI");
}

/** The public key blob: string "ssh-ed25519", string key (32 bytes). */
function publicBlob(publicKey: Buffer): Buffer {
  return Buffer.concat([sshString(KEY_TYPE), sshString(publicKey)]);
}

/** The `ssh-ed25519 AAAA… comment` line of a 32-byte public key. */
export function openSshPublicKeyLine(publicKey: Buffer, comment = ""): string {
  if (publicKey.length !== 32) throw new Error(`an ed25519 public key is 32 bytes, got ${publicKey.length}`);
  checkComment(comment);
  const line = `${KEY_TYPE} ${publicBlob(publicKey).toString("base64")}`;
  return comment ? `${line} ${comment}` : line;
}

/**
 * The `openssh-key-v1` private key file of an ed25519 key, unencrypted. `checkInt` is the
 * random pair of check integers (fixed only for known-answer tests).
 */
export function openSshPrivateKey(parts: Ed25519KeyParts, checkInt: number = randomBytes(4).readUInt32BE()): string {
  const { seed, publicKey, comment } = parts;
  if (seed.length !== 32 || publicKey.length !== 32) throw new Error("an ed25519 seed and public key are 32 bytes each");
  checkComment(comment);
  const section = Buffer.concat([
    uint32(checkInt),
    uint32(checkInt),
    sshString(KEY_TYPE),
    sshString(publicKey),
    sshString(Buffer.concat([seed, publicKey])),
    sshString(comment),
  ]);
  const padLength = (BLOCK - (section.length % BLOCK)) % BLOCK;
  const padding = Buffer.from(Array.from({ length: padLength }, (_, i) => i + 1));
  const body = Buffer.concat([
    Buffer.from(MAGIC, "latin1"),
    sshString("none"),
    sshString("none"),
    sshString(Buffer.alloc(0)),
    uint32(1),
    sshString(publicBlob(publicKey)),
    sshString(Buffer.concat([section, padding])),
  ]);
  const lines = body.toString("base64").match(/.{1,70}/g) ?? [];
  return `${PEM_BEGIN}\n${lines.join("\n")}\n${PEM_END}\n`;
}

/** The OpenSSH key pair of a 32-byte seed (deterministic apart from the check integers). */
export function ed25519KeyPairFromSeed(seed: Buffer, comment = "", checkInt?: number): OpenSshKeyPair {
  const publicKey = ed25519PublicKeyOf(seed);
  return {
    privateKey: openSshPrivateKey({ seed, publicKey, comment }, checkInt),
    publicKey: openSshPublicKeyLine(publicKey, comment),
  };
}

/** A new ed25519 key pair in OpenSSH formats (what `ssh-keygen -t ed25519 -N "" -C comment` writes). */
export function generateEd25519KeyPair(comment = ""): OpenSshKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const seed = afterPrefix(privateKey.export({ format: "der", type: "pkcs8" }), PKCS8_PREFIX, "PKCS#8");
  const pub = afterPrefix(publicKey.export({ format: "der", type: "spki" }), SPKI_PREFIX, "SPKI");
  return {
    privateKey: openSshPrivateKey({ seed, publicKey: pub, comment }),
    publicKey: openSshPublicKeyLine(pub, comment),
  };
}

/** Reads SSH wire-format fields off a buffer; every read is bounds-checked. */
class Reader {
  private pos = 0;
  constructor(private readonly buf: Buffer) {}
  uint32(): number {
    if (this.pos + 4 > this.buf.length) throw new Error("truncated key");
    const n = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return n;
  }
  bytes(): Buffer {
    const n = this.uint32();
    if (this.pos + n > this.buf.length) throw new Error("truncated key");
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  text(): string {
    return this.bytes().toString("utf8");
  }
  rest(): Buffer {
    return this.buf.subarray(this.pos);
  }
  get done(): boolean {
    return this.pos === this.buf.length;
  }
}

function readPublicBlob(blob: Buffer): Buffer {
  const r = new Reader(blob);
  const type = r.text();
  if (type !== KEY_TYPE) throw new Error(`not an ed25519 key: ${JSON.stringify(type)}`);
  const key = r.bytes();
  if (key.length !== 32) throw new Error(`the public key is ${key.length} bytes, not 32`);
  if (!r.done) throw new Error("trailing bytes after the public key");
  return Buffer.from(key);
}

/**
 * Parses an unencrypted OpenSSH ed25519 private key and checks everything OpenSSH checks and
 * more: the structure, 32-byte keys, equal check integers, the padding, the public key stored
 * twice and after the seed, and that the seed derives that public key. Throws on any flaw.
 */
export function parseOpenSshEd25519PrivateKey(text: string): Ed25519KeyParts {
  const m = new RegExp(`^\\s*${PEM_BEGIN}\\s*([A-Za-z0-9+/=\\s]+?)\\s*${PEM_END}\\s*$`).exec(text);
  if (!m) throw new Error("not an OpenSSH private key (PEM OPENSSH PRIVATE KEY)");
  const body = Buffer.from(m[1]!.replace(/\s+/g, ""), "base64");
  if (body.subarray(0, MAGIC.length).toString("latin1") !== MAGIC) throw new Error("not an openssh-key-v1 key");
  const r = new Reader(body.subarray(MAGIC.length));
  const cipher = r.text();
  const kdf = r.text();
  r.bytes();
  if (cipher !== "none" || kdf !== "none") throw new Error(`the key is encrypted (cipher ${cipher}, kdf ${kdf})`);
  if (r.uint32() !== 1) throw new Error("the file does not hold exactly one key");
  const outerPublic = readPublicBlob(r.bytes());
  const section = r.bytes();
  if (!r.done) throw new Error("trailing bytes after the private section");
  if (section.length % BLOCK !== 0) throw new Error("the private section is not padded to 8 bytes");
  const s = new Reader(section);
  if (s.uint32() !== s.uint32()) throw new Error("the check integers differ");
  if (s.text() !== KEY_TYPE) throw new Error("the private key is not ed25519");
  const publicKey = Buffer.from(s.bytes());
  const priv = s.bytes();
  const comment = s.text();
  const padding = s.rest();
  if (publicKey.length !== 32) throw new Error(`the public key is ${publicKey.length} bytes, not 32`);
  if (priv.length !== 64) throw new Error(`the private key is ${priv.length} bytes, not 64`);
  if (!publicKey.equals(outerPublic)) throw new Error("the public key differs from the one in the header");
  if (!priv.subarray(32).equals(publicKey)) throw new Error("the private key does not end with its public key");
  if (padding.length >= BLOCK || padding.some((b, i) => b !== i + 1)) throw new Error("bad padding");
  const seed = Buffer.from(priv.subarray(0, 32));
  if (!ed25519PublicKeyOf(seed).equals(publicKey)) throw new Error("the seed does not derive the stored public key");
  return { seed, publicKey, comment };
}

/** The 32-byte key of an `ssh-ed25519 AAAA… [comment]` line; throws when it is not one. */
export function parseOpenSshEd25519PublicKey(line: string): Buffer {
  const m = /^\s*(\S+)\s+([A-Za-z0-9+/]+={0,2})(\s.*)?$/s.exec(line);
  if (!m || m[1] !== KEY_TYPE) throw new Error("not an ssh-ed25519 public key line");
  return readPublicBlob(Buffer.from(m[2]!, "base64"));
}

/**
 * Why an ed25519 key pair as stored cannot be used (the private key does not parse, or its
 * public key is not the `.pub` line's), or null when it is sound.
 */
export function ed25519KeyPairProblem(privateKey: string, publicKeyLine?: string): string | null {
  let parts: Ed25519KeyParts;
  try {
    parts = parseOpenSshEd25519PrivateKey(privateKey);
  } catch (e) {
    return `the private key is invalid: ${e instanceof Error ? e.message : String(e)}`;
  }
  if (publicKeyLine === undefined) return null;
  try {
    if (!parseOpenSshEd25519PublicKey(publicKeyLine).equals(parts.publicKey)) return "the public key file does not match the private key";
  } catch (e) {
    return `the public key file is invalid: ${e instanceof Error ? e.message : String(e)}`;
  }
  return null;
}
