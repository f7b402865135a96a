/**
 * The editor schema in a real editor's language server: yaml-language-server (the server behind
 * VS Code's YAML extension) over stdio, driven by a small LSP client, with the settings
 * docs/configuration.md shows (`yaml.schemas` mapping the schema file to `.dstack.yml` and
 * `*.dstack.yml`) and with the modeline. The real configurations are read in place from
 * ../shared/dstack-configs: no diagnostic on any valid one, an error on every invalid one (each
 * breaks a rule JSON Schema can say).
 */
import { spawn, type ChildProcessWithoutNullStreams } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { pathToFileURL } from "url";
import * as g from "../../src/config/grammar";
import { EDITOR_PATTERNS } from "../../src/config/schema/editor";
import { describeWhen, sharedConfigs, sharedConfigsDir } from "../support/requirements";

jest.setTimeout(120000);

const repoRoot = path.join(__dirname, "..", "..");
const schemaFile = path.join(repoRoot, "schemas", "dstack-configuration.schema.json");

interface Diagnostic {
  message: string;
  severity?: number;
  range: { start: { line: number; character: number } };
}

/** A minimal LSP client over stdio (Content-Length framing, JSON-RPC 2.0). */
class LspClient {
  private readonly proc: ChildProcessWithoutNullStreams;
  private buffer = Buffer.alloc(0);
  private nextId = 1;
  private readonly pending = new Map<number, (result: unknown) => void>();
  private readonly diagnostics = new Map<string, Diagnostic[][]>();
  private readonly waiters = new Map<string, () => void>();

  constructor(private readonly settings: Record<string, unknown>) {
    const server = require.resolve("yaml-language-server/bin/yaml-language-server");
    this.proc = spawn(process.execPath, [server, "--stdio"], { stdio: ["pipe", "pipe", "pipe"] });
    this.proc.stdout.on("data", (d: Buffer) => this.read(d));
    this.proc.stderr.on("data", () => undefined);
  }

  private send(msg: Record<string, unknown>): void {
    const body = Buffer.from(JSON.stringify({ jsonrpc: "2.0", ...msg }), "utf8");
    this.proc.stdin.write(`Content-Length: ${body.length}\r\n\r\n`);
    this.proc.stdin.write(body);
  }

  private read(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      const sep = this.buffer.indexOf("\r\n\r\n");
      if (sep < 0) return;
      const m = /Content-Length: (\d+)/i.exec(this.buffer.subarray(0, sep).toString("ascii"));
      if (!m) throw new Error("LSP message without Content-Length");
      const len = Number(m[1]);
      if (this.buffer.length < sep + 4 + len) return;
      const msg = JSON.parse(this.buffer.subarray(sep + 4, sep + 4 + len).toString("utf8")) as { id?: number; method?: string; params?: unknown; result?: unknown };
      this.buffer = this.buffer.subarray(sep + 4 + len);
      this.dispatch(msg);
    }
  }

  private dispatch(msg: { id?: number; method?: string; params?: unknown; result?: unknown }): void {
    if (msg.method === undefined && msg.id !== undefined) {
      this.pending.get(msg.id)?.(msg.result);
      this.pending.delete(msg.id);
    } else if (msg.method === "textDocument/publishDiagnostics") {
      const p = msg.params as { uri: string; diagnostics: Diagnostic[] };
      this.diagnostics.set(p.uri, [...(this.diagnostics.get(p.uri) ?? []), p.diagnostics]);
      this.waiters.get(p.uri)?.();
    } else if (msg.method !== undefined && msg.id !== undefined) {
      // requests from the server: the settings it asks for, and registrations (accepted)
      let result: unknown = null;
      if (msg.method === "workspace/configuration") {
        const items = (msg.params as { items: { section?: string }[] }).items;
        result = items.map((i) => (i.section ? (this.settings[i.section] ?? null) : this.settings));
      }
      this.send({ id: msg.id, result });
    }
  }

  request(method: string, params: unknown): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.send({ id, method, params });
    });
  }

  notify(method: string, params: unknown): void {
    this.send({ method, params });
  }

  async start(rootUri: string): Promise<void> {
    await this.request("initialize", {
      processId: process.pid,
      rootUri,
      capabilities: { workspace: { configuration: true }, textDocument: { publishDiagnostics: {} } },
    });
    this.notify("initialized", {});
    this.notify("workspace/didChangeConfiguration", { settings: this.settings });
  }

  /** Opens a document and resolves to the first diagnostics the server publishes for it. */
  async diagnose(uri: string, text: string): Promise<Diagnostic[]> {
    const before = this.diagnostics.get(uri)?.length ?? 0;
    const got = new Promise<void>((resolve) => this.waiters.set(uri, resolve));
    this.notify("textDocument/didOpen", { textDocument: { uri, languageId: "yaml", version: 1, text } });
    await got;
    this.waiters.delete(uri);
    this.notify("textDocument/didClose", { textDocument: { uri } });
    return this.diagnostics.get(uri)![before]!;
  }

  async stop(): Promise<void> {
    await this.request("shutdown", null);
    this.notify("exit", null);
    await new Promise((r) => this.proc.once("exit", r));
  }
}

/** The VS Code settings of docs/configuration.md, with the schema's absolute path. */
const settings = {
  yaml: {
    validate: true,
    hover: false,
    completion: false,
    schemaStore: { enable: false },
    schemas: { [pathToFileURL(schemaFile).href]: [".dstack.yml", "*.dstack.yml"] },
  },
  http: { proxy: "", proxyStrictSSL: false },
  "[yaml]": {},
};

const present = sharedConfigs.missing() === null;
const valid = present ? fs.readdirSync(sharedConfigsDir).filter((f) => f.endsWith(".dstack.yml")).sort() : [];
const invalid = present ? fs.readdirSync(path.join(sharedConfigsDir, "invalid")).sort() : [];

/** What the server says about each invalid configuration (the rule it breaks). */
const EXPECTED: Record<string, RegExp> = {
  "001": /Missing property "commands"/,
  "002": /Missing property "commands"/,
  "003": /Missing property "commands"/,
  "004": /Missing property "commands"/,
  "005": /String does not match the pattern/,
  "006": /Property gpu is not allowed/,
  "007": /Property gpu is not allowed/,
};

const errors = (d: Diagnostic[]) => d.filter((x) => x.severity === 1 || x.severity === 2);

describeWhen(sharedConfigs, "the editor schema in yaml-language-server", () => {
  let client: LspClient;
  beforeAll(async () => {
    client = new LspClient(settings);
    await client.start(pathToFileURL(repoRoot).href);
  });
  afterAll(async () => {
    await client?.stop();
  });

  it("the schema's $id is file-relative: it resolves to the file it is read from", () => {
    const schema = JSON.parse(fs.readFileSync(schemaFile, "utf8")) as { $id: string };
    expect(new URL(schema.$id, pathToFileURL(schemaFile)).href).toBe(pathToFileURL(schemaFile).href);
  });

  it("there are 117 valid configurations and 7 invalid ones", () => {
    expect([valid.length, invalid.length]).toEqual([117, 7]);
  });

  it("no diagnostic on any of the valid configurations (read in place)", async () => {
    const found: string[] = [];
    for (const f of valid) {
      const file = path.join(sharedConfigsDir, f);
      const d = errors(await client.diagnose(pathToFileURL(file).href, fs.readFileSync(file, "utf8")));
      for (const x of d) found.push(`${f}:${x.range.start.line + 1}: ${x.message}`);
    }
    expect(found).toEqual([]);
  });

  it.each(invalid)("invalid/%s gets an error naming the rule it breaks", async (f) => {
    const file = path.join(sharedConfigsDir, "invalid", f);
    const d = errors(await client.diagnose(pathToFileURL(file).href, fs.readFileSync(file, "utf8")));
    expect(d.map((x) => x.message).join("\n")).toMatch(EXPECTED[f.slice(0, 3)]!);
  });

  it("the plain name .dstack.yml is matched too, and the grammar's bad values are marked", async () => {
    const uri = pathToFileURL(path.join(repoRoot, "examples", "nowhere", ".dstack.yml")).href;
    const text = ["type: task", "name: Bad_Name", "commands: [echo]", "max_duration: -5m", "resources:", "  gpu: A100::2", "  memory: lots", "  cpu: x86:2..", "  disk: 10GB.."].join("\n") + "\n";
    const d = errors(await client.diagnose(uri, text));
    const lines = d.map((x) => x.range.start.line + 1).sort((a, b) => a - b);
    expect(lines).toEqual([2, 4, 6, 7]); // name, max_duration, gpu, memory; not cpu or disk
    const ok = errors(await client.diagnose(pathToFileURL(path.join(repoRoot, "examples", "elsewhere", ".dstack.yml")).href, "type: dev-environment\nide: vscode\n"));
    expect(ok).toEqual([]);
  });

  it("a negative duration in seconds, and a task without commands but with an image, as the loader sees them", async () => {
    // one document name each: a closed document's diagnostics are cleared by a later publish
    const uri = (n: string) => pathToFileURL(path.join(repoRoot, "examples", "nowhere", `${n}.dstack.yml`)).href;
    expect(errors(await client.diagnose(uri("a"), "type: task\ncommands: [x]\nmax_duration: -300\n")).map((x) => x.range.start.line + 1)).toEqual([3]);
    expect(errors(await client.diagnose(uri("b"), "type: task\nimage: ubuntu\n"))).toEqual([]);
    expect(errors(await client.diagnose(uri("c"), "type: task\ncommands: []\n")).map((x) => x.message).join("\n")).toMatch(/Array has too few items/);
  });

  it("the modeline points a file of any name at the schema (a path relative to the file)", async () => {
    const uri = pathToFileURL(path.join(repoRoot, "examples", "task", "run.yml")).href;
    const rel = path.relative(path.join(repoRoot, "examples", "task"), schemaFile);
    const d = errors(await client.diagnose(uri, `# yaml-language-server: $schema=${rel}\ntype: task\n`));
    expect(d.map((x) => x.message).join("\n")).toMatch(/Missing property "commands"/);
    const other = pathToFileURL(path.join(repoRoot, "examples", "task", "other.yml")).href;
    expect(errors(await client.diagnose(other, "type: task\n"))).toEqual([]); // no modeline, no match: no schema
  });
});

describe("the editor schema's patterns against the loader's grammar", () => {
  const P = EDITOR_PATTERNS;
  const accepts = (parse: (v: unknown) => unknown, v: string) => {
    try {
      parse(v);
      return true;
    } catch {
      return false;
    }
  };
  const cases: [keyof typeof P, (v: unknown) => unknown, string[], string[]][] = [
    ["memoryRange", g.parseMemoryRange, ["24GB", "24GB..", "..80GB", "40GB..80GB", "512MB", "1TB", "16", "0.5GB", " 24 GB .. "], ["lots", "24XB", "-5GB", "24GB...", "GB"]],
    ["countRange", (v) => g.parseCountRange(v), ["2", "2..", "..8", "2..8", " 4 "], ["x", "-1", "2.5", "two"]],
    ["cpu", g.parseCpuSpec, ["4", "2..", "x86:8..", "arm:4", "8..:arm64", "AMD64:2..4"], ["x86:", "mips:4", "4:4:4", "lots"]],
    ["gpu", g.parseGpuSpec, ["A100", "A100:80GB:2", "24GB..40GB:2", "nvidia:1..8", "v5p-8", "A10G,A100:1", "tpu-v2-8", "H100:1..8", "amd:MI300X:8", "RTX4090:24GB"], ["A100::2", ":A100", "A100:", ""]],
    ["duration", g.parseDuration, ["90", "30s", "15m", "2h", "1d", "1w", "3 hours"], ["-5m", "1.5h", "h", ""]],
    ["offDuration", (v) => g.parseOffDuration(v), ["off", "OFF", "2h", "600"], ["-5m", "forever"]],
  ];
  it.each(cases)("%s: what the loader accepts matches, the bad values do not", (name, parse, good, bad) => {
    const re = new RegExp(P[name]);
    for (const v of good) expect([v, accepts(parse, v), re.test(v)]).toEqual([v, true, true]);
    for (const v of bad) expect([v, re.test(v)]).toEqual([v, false]);
  });
  it("names", () => {
    const run = new RegExp(P.resourceName);
    const vol = new RegExp(P.volumeName);
    expect(["my-run", "a1", "dev-env-2"].every((n) => run.test(n))).toBe(true);
    expect(["Bad_Name", "1run", "a", "-x", "x".repeat(42)].some((n) => run.test(n))).toBe(false);
    expect(["my-vol", "cache-${{ dstack.node_rank }}"].every((n) => vol.test(n))).toBe(true);
    expect(["/docker-volume", "Vol"].some((n) => vol.test(n))).toBe(false);
    const mount = new RegExp(P.mount);
    expect(["my-vol:/data", "/mnt/x:/x", "~/.cache:/root/.cache"].every((m) => mount.test(m))).toBe(true);
    expect(["Bad_Vol:/data", "nocolon"].some((m) => mount.test(m))).toBe(false);
  });
});
