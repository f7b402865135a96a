/**
 * Catalog files in gpuhunt's v2 CSV format: the header, every row's validation (with a
 * diagnostic per bad row, by file:line), and the rows' values into a CatalogBuilder. The
 * backend of a file is its name (`aws.csv` → `aws`, `lambdalabs.csv` → `lambda`).
 */
import { isAscii } from "buffer";
import * as fs from "fs";
import * as path from "path";
import type { CpuArch, GpuVendor } from "../config/runspec";
import { Diagnostic, DstackError, ExitCode } from "../diagnostics";
import { backendOfProvider } from "./backend-names";
import { CatalogBuilder } from "./catalog-builder";
import type { Catalog } from "./catalog-table";
import { VENDOR_CODES } from "./catalog-table";
import { CsvSyntaxError, readCsv } from "./csv";
import { vendorOfGpu } from "./gpus";

/** gpuhunt's CATALOG_V2_FIELDS, in its order. */
export const CATALOG_COLUMNS = [
  "instance_name",
  "location",
  "price",
  "cpu",
  "memory",
  "gpu_count",
  "gpu_name",
  "gpu_memory",
  "spot",
  "disk_size",
  "gpu_vendor",
  "flags",
  "cpu_arch",
  "provider_data",
] as const;

const GCP_ZONE = /^([a-z]+-[a-z]+\d+)-[a-z]$/;

/** The region and zone of a catalog location: GCP rows are per zone (`us-central1-a`). */
export function regionOf(backend: string, location: string): { region: string; zone: string | null } {
  if (backend === "gcp") {
    const m = GCP_ZONE.exec(location);
    if (m) return { region: m[1], zone: location };
  }
  return { region: location, zone: null };
}

const MAX_LISTED_ERRORS = 50;

function rowError(file: string, line: number, message: string, hint?: string): Diagnostic {
  return {
    code: "E2001",
    severity: "error",
    message,
    hint: hint ?? "fix or delete the row; the columns are gpuhunt's v2 catalog format (catalog/SOURCES.md)",
    file,
    line,
    col: 1,
  };
}

const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];

/**
 * A number as gpuhunt writes it (`0.0052`, `16.0`, `1e-05`); NaN for anything else. Plain
 * decimals with at most 15 digits take an exact fast path (an integer below 2^53 divided by an
 * exact power of ten is correctly rounded, so the result is the same double `Number()` gives).
 */
function toNumber(v: string): number {
  const n = v.length;
  if (n === 0) return NaN;
  let mantissa = 0;
  let digits = 0;
  let dot = -1;
  for (let k = 0; k < n; k++) {
    const c = v.charCodeAt(k);
    if (c >= 48 && c <= 57) {
      mantissa = mantissa * 10 + (c - 48);
      digits++;
    } else if (c === 46 && dot < 0 && k > 0) dot = k;
    else return slowNumber(v);
  }
  if (digits > 15 || dot === n - 1) return slowNumber(v);
  return dot < 0 ? mantissa : mantissa / POW10[n - dot - 1];
}

function slowNumber(v: string): number {
  const c = v.charCodeAt(v.length - 1);
  if (c < 48 || c > 57) return NaN; // trailing space, "Infinity", "1." and the like
  const x = Number(v);
  return Number.isFinite(x) && v.charCodeAt(1) !== 120 && v.charCodeAt(1) !== 88 && v.trim() === v ? x : NaN;
}

function checkedNumber(name: string, v: string, positive: boolean, integer: boolean, max: number, problems: string[]): number {
  const x = toNumber(v);
  if (Number.isNaN(x) || (integer && !Number.isInteger(x))) {
    problems.push(`${name} must be ${integer ? "a whole number" : "a number"}, got "${v}"`);
    return NaN;
  }
  if (positive ? !(x > 0) : x < 0) problems.push(`${name} must be ${positive ? "positive" : "zero or more"}, got ${v}`);
  else if (x > max) problems.push(`${name} must be at most ${max}, got ${v}`);
  return x;
}

/** Parses one catalog file's text into the builder; returns the diagnostics of bad rows. */
function parseCatalogText(text: string, file: string, backend: string, builder: CatalogBuilder): Diagnostic[] {
  const errors: Diagnostic[] = [];
  let index: number[] | undefined;
  let identity = false;
  let width = 0;
  const providerDataOk = new Map<string, string | null>();
  const places = new Map<string, { region: string; zone: string | null }>();
  try {
    readCsv(text, (fields, line) => {
      if (!index) {
        const header = fields.map((f) => f.trim());
        const missing = CATALOG_COLUMNS.filter((c) => !header.includes(c));
        if (missing.length) {
          errors.push({
            code: "E2002",
            severity: "error",
            message: `catalog header lacks the column${missing.length > 1 ? "s" : ""} ${missing.join(", ")}`,
            hint: `the first line must name gpuhunt's v2 columns: ${CATALOG_COLUMNS.join(",")}`,
            file,
            line,
            col: 1,
          });
          throw new StopParsing();
        }
        index = CATALOG_COLUMNS.map((c) => header.indexOf(c));
        identity = index.every((k, j) => k === j);
        width = header.length;
        return;
      }
      if (fields.length !== width) {
        errors.push(rowError(file, line, `catalog row has ${fields.length} fields, expected ${width} (as in the header)`));
        return;
      }
      const f = identity ? fields : index.map((k) => fields[k]);
      const fInstance = f[0];
      const fLocation = f[1];
      const fGpuName = f[6];
      const fGpuMemory = f[7];
      const fSpot = f[8];
      const fDisk = f[9];
      const fVendor = f[10];
      const fFlags = f[11];
      const fArch = f[12];
      const fPd = f[13];
      const problems: string[] = [];
      const price = checkedNumber("price", f[2], true, false, Infinity, problems);
      const cpu = checkedNumber("cpu", f[3], true, true, 65535, problems);
      const memory = checkedNumber("memory", f[4], true, false, Infinity, problems);
      const gpuCount = checkedNumber("gpu_count", f[5], false, true, 65535, problems);
      if (!fInstance) problems.push("instance_name is empty");
      if (!fLocation) problems.push("location is empty");
      let spot = false;
      if (fSpot === "True" || fSpot === "true") spot = true;
      else if (fSpot !== "False" && fSpot !== "false") problems.push(`spot must be True or False, got "${fSpot}"`);
      const disk = fDisk === "" ? null : checkedNumber("disk_size", fDisk, true, false, Infinity, problems);
      let arch: CpuArch = "x86";
      if (fArch === "arm") arch = "arm";
      else if (fArch !== "x86" && fArch !== "") problems.push(`cpu_arch must be x86 or arm, got "${fArch}"`);
      let gpuName: string | null = null;
      let gpuMemory: number | null = null;
      let vendor: GpuVendor | null = null;
      if (gpuCount > 0) {
        if (!fGpuName) problems.push(`gpu_count is ${gpuCount} but gpu_name is empty`);
        gpuName = fGpuName || null;
        if (fGpuMemory === "") problems.push(`gpu_count is ${gpuCount} but gpu_memory is empty`);
        else gpuMemory = checkedNumber("gpu_memory", fGpuMemory, true, false, Infinity, problems);
        if (fVendor) {
          if (!VENDOR_CODES.includes(fVendor as GpuVendor)) {
            problems.push(`gpu_vendor must be one of ${VENDOR_CODES.filter(Boolean).join(", ")}, got "${fVendor}"`);
          } else vendor = fVendor as GpuVendor;
        } else vendor = (gpuName && vendorOfGpu(gpuName)) || "nvidia";
      } else if (gpuCount === 0) {
        if (fGpuName) problems.push(`gpu_count is 0 but gpu_name is "${fGpuName}"`);
        if (fGpuMemory !== "" && Number(fGpuMemory) !== 0) problems.push(`gpu_count is 0 but gpu_memory is ${fGpuMemory}`);
        if (fVendor) problems.push(`gpu_count is 0 but gpu_vendor is "${fVendor}"`);
      }
      let pd = providerDataOk.get(fPd);
      if (pd === undefined) {
        pd = null;
        if (fPd === "") pd = "{}";
        else {
          try {
            const v: unknown = JSON.parse(fPd);
            if (v && typeof v === "object" && !Array.isArray(v)) pd = fPd;
          } catch {
            // reported below
          }
        }
        providerDataOk.set(fPd, pd);
      }
      if (pd === null) problems.push(`provider_data must be a JSON object, got ${JSON.stringify(fPd)}`);
      if (problems.length) {
        errors.push(rowError(file, line, `bad catalog row: ${problems.join("; ")}`));
        return;
      }
      let place = places.get(fLocation);
      if (!place) places.set(fLocation, (place = regionOf(backend, fLocation)));
      const { region, zone } = place;
      builder.add({
        instance: fInstance,
        backend,
        region,
        zone,
        price,
        cpu,
        memory,
        disk,
        gpuCount,
        gpuName,
        gpuMemory,
        vendor,
        spot,
        arch,
        flags: fFlags === "" ? "" : fFlags.trim().split(/\s+/).filter(Boolean).join(" "),
        providerData: pd ?? "{}",
        file,
        line,
      });
    });
  } catch (err) {
    if (err instanceof CsvSyntaxError) errors.push(rowError(file, err.line, `malformed CSV: ${err.message}`));
    else if (!(err instanceof StopParsing)) throw err;
  }
  if (!index && !errors.length) {
    errors.push({ code: "E2002", severity: "error", message: "catalog file is empty (no header line)", file, line: 1, hint: `write the header: ${CATALOG_COLUMNS.join(",")}` });
  }
  return errors;
}

class StopParsing extends Error {}

/** A file's text; ASCII files (the usual catalog) skip UTF-8 decoding. */
function readText(file: string): string {
  const buf = fs.readFileSync(file);
  return isAscii(buf) ? buf.toString("latin1") : buf.toString("utf8");
}

/** Parses and validates catalog files (no caching); throws DstackError listing every bad row. */
export function parseCatalogFiles(files: string[]): Catalog {
  const builder = new CatalogBuilder();
  const errors: Diagnostic[] = [];
  for (const file of files) {
    const provider = path.basename(file).replace(/\.csv$/i, "");
    errors.push(...parseCatalogText(readText(file), file, backendOfProvider(provider), builder));
  }
  if (errors.length) {
    const where = errors.slice(0, 10).map((d) => `${path.basename(d.file ?? "")}:${d.line}`);
    const summary: Diagnostic = {
      code: errors[0].code,
      severity: "error",
      message: `${errors.length} bad catalog row${errors.length > 1 ? "s" : ""} (${where.join(", ")}${errors.length > 10 ? ", …" : ""})`,
      hint: "the rows below are listed by file:line; fix them or point DSTACK_CATALOG_DIR elsewhere",
    };
    const listed = errors.slice(0, MAX_LISTED_ERRORS);
    if (errors.length > MAX_LISTED_ERRORS) {
      listed.push({ code: "E2001", severity: "error", message: `… and ${errors.length - MAX_LISTED_ERRORS} more bad rows` });
    }
    throw new DstackError([summary, ...listed], ExitCode.Usage);
  }
  return builder.build();
}

