/**
 * Where catalogs come from: `dir`, else `DSTACK_CATALOG_DIR`, else the shipped `catalog/`;
 * and which files of that folder are catalogs (`*.csv`).
 */
import * as fs from "fs";
import * as path from "path";
import { DstackError, ExitCode } from "../diagnostics";
import { packageRoot } from "../paths";

/** The catalog folder in effect: `dir`, else DSTACK_CATALOG_DIR, else the shipped one. */
export function catalogDir(dir?: string, env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(dir ?? (env.DSTACK_CATALOG_DIR || path.join(packageRoot(), "catalog")));
}

/** The `*.csv` files of a catalog folder, sorted; throws E2003 when there are none. */
export function catalogFiles(dir: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (err) {
    throw new DstackError(
      {
        code: "E2003",
        severity: "error",
        message: `cannot read the catalog folder ${dir}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
        hint: "point DSTACK_CATALOG_DIR at a folder of gpuhunt v2 CSV files (aws.csv, gcp.csv, …), or unset it to use the shipped catalogs",
      },
      ExitCode.Usage,
    );
  }
  const files = names.filter((n) => n.toLowerCase().endsWith(".csv")).sort();
  if (!files.length) {
    throw new DstackError(
      {
        code: "E2003",
        severity: "error",
        message: `the catalog folder ${dir} has no .csv files`,
        hint: "put gpuhunt v2 CSV files named after their provider (aws.csv, gcp.csv, lambdalabs.csv, …) there",
      },
      ExitCode.Usage,
    );
  }
  return files.map((n) => path.join(dir, n));
}

