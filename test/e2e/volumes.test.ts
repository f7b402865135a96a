/**
 * Volumes by name end to end, with the built CLI, the real engine, Docker and OpenSSH:
 * - local: `dstack up` of a `type: volume` configuration makes its own stack and a labelled
 *   Docker volume; a run writes a file there; `volume delete` is refused while it runs; after
 *   `down` a second run reads the file; `volume delete` removes the stack and the Docker volume;
 * - the emulated AWS (test/emulator/aws): a run's volume with no stack is created first as its
 *   own stack (reuse-or-create) and attached by id; it outlives the run, which leaves nothing of
 *   it in its state; a second run reuses it by name and reads what the first wrote; `volume_id`
 *   registers an existing volume that `volume delete` leaves in place.
 * The --json outputs are validated against schemas/volume.schema.json.
 */
import * as fs from "fs";
import * as path from "path";
import Ajv from "ajv";
import { describeWhen } from "../support/requirements";
import { account, awsSandbox, docker, dstack, e2ePrerequisites, emulatedContainers, makeSandbox, ok, repoRoot, ssh, stackFiles, stackResourceTypes, writeConfig, type Sandbox } from "./helpers";

jest.setTimeout(900_000);

const id = `${process.pid.toString(36)}${Date.now().toString(36).slice(-4)}`;
const validate = new Ajv({ allErrors: true, strict: false }).compile(JSON.parse(fs.readFileSync(path.join(repoRoot, "schemas", "volume.schema.json"), "utf8")) as object);

function valid(doc: unknown): void {
  expect({ valid: validate(doc), errors: validate.errors ?? null }).toEqual({ valid: true, errors: null });
}

interface VolumeView {
  name: string;
  backend: string;
  region: string | null;
  zone: string | null;
  volume_id: string | null;
  source: string;
  stack: string | null;
  used_by: string[];
  external: boolean;
}

function volumes(sb: Sandbox): VolumeView[] {
  const doc = JSON.parse(ok(dstack(sb, ["volume", "ls", "--json"]), "dstack volume ls --json")) as { volumes: VolumeView[] };
  valid(doc);
  return doc.volumes;
}

describeWhen(e2ePrerequisites, "volumes by name on the local backend", () => {
  const vol = `vol-${id}`;
  const writer = `vol-writer-${id}`;
  const reader = `vol-reader-${id}`;
  let sb: Sandbox;
  beforeAll(() => {
    sb = makeSandbox("volumes");
    writeConfig(sb, `type: volume\nname: ${vol}\nbackend: local\n`, "vol.dstack.yml");
    writeConfig(sb, `type: dev-environment\nname: ${writer}\nide: vscode\nvolumes:\n  - name: ${vol}\n    path: /data\nresources:\n  disk: 1GB..\n`, "writer.dstack.yml");
    writeConfig(sb, `type: task\nname: ${reader}\ncommands:\n  - cat /data/note.txt\nvolumes:\n  - name: ${vol}\n    path: /data\nresources:\n  disk: 1GB..\n`, "reader.dstack.yml");
  });
  afterAll(() => {
    if (!sb) return;
    dstack(sb, ["down", "--all", "-y"]);
    for (const r of [writer, reader]) docker(["rm", "-f", `dstack-${r}`]);
    docker(["volume", "rm", "-f", vol]);
    fs.rmSync(sb.root, { recursive: true, force: true });
  });

  test("preview, then up of a type: volume configuration: its own stack and a labelled Docker volume", () => {
    const pv = JSON.parse(ok(dstack(sb, ["preview", "-f", "vol.dstack.yml", "--json"]), "preview")) as { changes: { op: string; type: string }[]; exists: boolean };
    valid(pv);
    expect(pv.exists).toBe(false);
    expect(pv.changes.map((c) => [c.op, c.type])).toEqual([["create", "dstack:index:LocalVolume"]]);
    expect(stackFiles(sb)).toEqual([]); // a preview leaves no stack

    const up = JSON.parse(ok(dstack(sb, ["apply", "-f", "vol.dstack.yml", "-y", "--json"]), "apply")) as { volume: VolumeView; created: boolean };
    valid(up);
    expect(up).toMatchObject({ created: true, volume: { name: vol, backend: "local", volume_id: vol, source: "stack", stack: `volume.${vol}` } });
    const labels = JSON.parse(ok(docker(["volume", "inspect", vol, "--format", "{{json .Labels}}"]), "docker volume inspect")) as Record<string, string>;
    expect(labels).toMatchObject({ "dstack.volume": vol, "dstack.kind": "volume", "dstack.project": "dstack" });
    // a second apply is a no-op; `ps` lists no run for it
    expect(ok(dstack(sb, ["up", "-f", "vol.dstack.yml", "-y"]), "up again")).toContain(`Volume ${vol} is up to date`);
    expect(JSON.parse(ok(dstack(sb, ["ps", "-a", "--json"]), "ps"))).toEqual([]);
    expect(volumes(sb).map((v) => [v.name, v.source, v.used_by])).toEqual([[vol, "stack", []]]);
    // the same name elsewhere is refused before anything changes (a volume cannot move)
    writeConfig(sb, `type: volume\nname: ${vol}\nbackend: aws\nregion: us-east-1\nsize: 10GB\n`, "moved.dstack.yml");
    const moved = dstack(sb, ["up", "-f", "moved.dstack.yml", "-y"]);
    expect([moved.status, moved.stderr]).toEqual([2, expect.stringContaining(`volume ${vol} exists already with backend local; a volume's backend, region, zone and id cannot change [E6401]`)]);
  });

  test("a run writes to it by name (its stack holds no volume); delete is refused while it runs", () => {
    const out = ok(dstack(sb, ["up", "-f", "writer.dstack.yml", "-y"]), "up writer");
    expect(out).toContain(`${vol}: attaches ${vol} (local Docker, stack volume.${vol})`);
    expect(ok(ssh(sb, writer, `echo written-by-${writer} > /data/note.txt && cat /data/note.txt`), "ssh").trim()).toBe(`written-by-${writer}`);
    expect(stackResourceTypes(sb, writer).filter((t) => t.endsWith("LocalVolume"))).toEqual([]);
    expect(volumes(sb).find((v) => v.name === vol)?.used_by).toEqual([writer]);

    const refused = dstack(sb, ["volume", "delete", vol, "-y"]);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain(`volume ${vol} is in use by run ${writer}; nothing was deleted [E6402]`);
    expect(docker(["volume", "inspect", vol]).status).toBe(0);
    ok(dstack(sb, ["down", writer, "-y"]), "down writer");
    expect(docker(["volume", "inspect", vol]).status).toBe(0); // down keeps it: it is the volume stack's
  });

  test("after down, a second run reads it; volume delete removes the stack and the Docker volume", () => {
    const r = dstack(sb, ["up", "-f", "reader.dstack.yml", "-y"]);
    expect(ok(r, "up reader")).toContain(`written-by-${writer}`);
    const del = JSON.parse(ok(dstack(sb, ["volume", "delete", vol, "-y", "--json"]), "volume delete")) as unknown;
    valid(del);
    expect(del).toEqual({ deleted: [{ name: vol, removed: "stack", kept_in_place: false, volume_id: vol }] });
    expect(docker(["volume", "inspect", vol]).status).not.toBe(0);
    expect(stackFiles(sb).filter((f) => f.includes(`volume.${vol}`))).toEqual([]);
    expect(volumes(sb)).toEqual([]);
    const missing = dstack(sb, ["volume", "delete", vol, "-y"]);
    expect([missing.status, missing.stderr.includes("[E6404]")]).toEqual([6, true]);
  });
});

describeWhen(e2ePrerequisites, "volumes by name on the emulated AWS (real engine, real OpenSSH)", () => {
  const vol = `data-${id}`;
  const writer = `aws-vw-${id}`;
  const reader = `aws-vr-${id}`;
  const reg = `reg-${id}`;
  let sb: Sandbox & { account: string };
  const task = (name: string, command: string) =>
    `type: task\nname: ${name}\ncommands:\n  - ${command}\nvolumes:\n  - name: ${vol}\n    path: /data\nresources:\n  cpu: 2..\n  memory: 4GB..\n  disk: 1GB..\n`;
  beforeAll(() => {
    sb = awsSandbox("volumes-aws");
    writeConfig(sb, task(writer, `echo written-on-aws-by-${writer} > /data/note.txt`), "writer.dstack.yml");
    writeConfig(sb, task(reader, "cat /data/note.txt"), "reader.dstack.yml");
  });
  afterAll(() => {
    if (!sb) return;
    dstack(sb, ["down", "--all", "-y"]);
    for (const c of emulatedContainers(sb)) docker(["rm", "-f", c]);
    for (const r of [writer, reader]) docker(["rm", "-f", `dstack-run-${r}`]);
    for (const v of Object.values(account(sb).volumes)) docker(["volume", "rm", "-f", v.dockerVolume]);
    fs.rmSync(sb.root, { recursive: true, force: true });
  });

  test("a run's volume with no stack: preview shows it; up creates it first as its own stack, attaches it by id, and it outlives the run", () => {
    const pv = ok(dstack(sb, ["preview", "-f", "writer.dstack.yml", "-b", "aws"]), "preview");
    expect(pv).toMatch(new RegExp(`\\+\\s+create\\s+dstack-vol-${vol}\\b`)); // the volume stack's
    expect(pv).toMatch(new RegExp(`\\+\\s+create\\s+dstack-${writer}-instance\\b`)); // the run's, reading the volume by an id not known yet
    expect(pv).toContain(`no such volume yet: up creates it first as its own stack volume.${vol}`);
    expect(Object.keys(account(sb).volumes)).toEqual([]);
    expect(stackFiles(sb)).toEqual([]);

    const r = dstack(sb, ["up", "-f", "writer.dstack.yml", "-b", "aws", "-y"]);
    ok(r, "up writer");
    expect(r.stdout).toMatch(new RegExp(`Created volume ${vol}: vol-0[0-9a-f]+ \\(aws us-east-1[a-c]\\), stack volume.${vol}; runs reuse it by name`));
    const vols = account(sb).volumes;
    expect(Object.keys(vols)).toHaveLength(1);
    const [volumeId] = Object.keys(vols);
    expect(vols[volumeId].attachedTo).toBeNull(); // the task ended: its instance is gone, the volume stays
    expect(stackResourceTypes(sb, writer).filter((t) => t.startsWith("aws:"))).toEqual([]);
    const listed = volumes(sb);
    expect(listed).toEqual([expect.objectContaining({ name: vol, backend: "aws", region: "us-east-1", zone: vols[volumeId].zone, volume_id: volumeId, source: "stack", used_by: [] })]);
  });

  test("a second run reuses it by name (no new volume) and reads what the first wrote", () => {
    const r = dstack(sb, ["up", "-f", "reader.dstack.yml", "-b", "aws", "-y"]);
    expect(ok(r, "up reader")).toContain(`written-on-aws-by-${writer}`);
    expect(r.stdout).toContain(`${vol}: attaches vol-`);
    expect(Object.keys(account(sb).volumes)).toHaveLength(1);
    // the run was placed in the volume's zone
    const ps = JSON.parse(ok(dstack(sb, ["ps", "-a", "--json"]), "ps")) as { name: string; status: string }[];
    expect(ps.find((x) => x.name === reader)?.status).toBe("done");
  });

  test("volume_id registers an existing volume; delete forgets it and leaves it; delete of the dstack volume removes it", () => {
    const [volumeId] = Object.keys(account(sb).volumes);
    writeConfig(sb, `type: volume\nname: ${reg}\nbackend: aws\nregion: us-east-1\nvolume_id: ${volumeId}\n`, "reg.dstack.yml");
    const up = JSON.parse(ok(dstack(sb, ["up", "-f", "reg.dstack.yml", "-y", "--json"]), "up reg")) as { volume: VolumeView };
    valid(up);
    expect(up.volume).toMatchObject({ name: reg, volume_id: volumeId, external: true });
    const del = JSON.parse(ok(dstack(sb, ["volume", "delete", reg, "-y", "--json"]), "delete reg")) as unknown;
    expect(del).toEqual({ deleted: [{ name: reg, removed: "stack", kept_in_place: true, volume_id: volumeId }] });
    expect(Object.keys(account(sb).volumes)).toEqual([volumeId]);

    const dockerVolume = account(sb).volumes[volumeId].dockerVolume;
    ok(dstack(sb, ["volume", "delete", vol, "-y"]), "delete vol");
    expect(account(sb).volumes).toEqual({});
    expect(docker(["volume", "inspect", dockerVolume]).status).not.toBe(0);
    expect(volumes(sb)).toEqual([]);
  });
});
