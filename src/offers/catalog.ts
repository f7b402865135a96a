/**
 * Offer catalogs: gpuhunt v2 CSV files (one per provider) loaded into one columnar, validated,
 * price-sorted table (catalog-table.ts), once per process and folder.
 *
 * Where catalogs come from: catalog-folder.ts. Parsing and row validation: catalog-csv.ts. A
 * binary form of the loaded table is cached under DSTACK_HOME/cache (catalog-cache.ts);
 * `DSTACK_CATALOG_CACHE=0` turns the cache off.
 */
import { readCatalogCache, writeCatalogCache } from "./catalog-cache";
import { parseCatalogFiles } from "./catalog-csv";
import { catalogDir, catalogFiles } from "./catalog-folder";
import type { Catalog } from "./catalog-table";

export interface LoadCatalogOptions {
  /** Folder of `*.csv` catalogs; default DSTACK_CATALOG_DIR, else the shipped catalog/. */
  dir?: string;
  /** Use (and write) the precompiled cache under DSTACK_HOME/cache (default true). */
  cache?: boolean;
}

const loaded = new Map<string, Catalog>();

/**
 * Loads every catalog of the folder into one Catalog; cached per process (per folder).
 * Validates every row and throws DstackError listing bad rows by file:line.
 */
export function loadCatalogs(opts: LoadCatalogOptions = {}): Catalog {
  const dir = catalogDir(opts.dir);
  const hit = loaded.get(dir);
  if (hit) return hit;
  const files = catalogFiles(dir);
  let catalog: Catalog | undefined;
  const useCache = opts.cache !== false && process.env.DSTACK_CATALOG_CACHE !== "0";
  if (useCache) catalog = readCatalogCache(files);
  if (!catalog) {
    catalog = parseCatalogFiles(files);
    if (useCache) writeCatalogCache(files, catalog);
  }
  loaded.set(dir, catalog);
  return catalog;
}

/** Forgets the per-process cache (tests). */
export function clearCatalogCache(): void {
  loaded.clear();
}
