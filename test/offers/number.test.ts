/** The catalog's number fast path gives exactly the doubles Number() gives. */
import fc from "fast-check";
import * as fs from "fs";
import * as path from "path";
import { CATALOG_COLUMNS, parseCatalogFiles } from "../../src/offers/catalog-csv";
import * as os from "os";

test("every decimal form gpuhunt writes parses to Number()'s double", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dstack-num-"));
  try {
    const values: string[] = [];
    fc.assert(
      fc.property(fc.double({ min: 1e-6, max: 1e6, noNaN: true }), fc.integer({ min: 0, max: 9 }), (x, decimals) => {
        values.push(x.toFixed(decimals) === "0" || Number(x.toFixed(decimals)) === 0 ? "0.5" : x.toFixed(decimals), String(x));
      }),
      { numRuns: 300 },
    );
    values.push("0.0052", "21.957642", "1e-05", "16.0", "186.608", "0.000001", "123456789012345", "1234567890123456");
    const rows = values.map((v) => `x,r,${v},1,${v},0,,,False,,,,x86,{}`);
    fs.writeFileSync(path.join(dir, "aws.csv"), [CATALOG_COLUMNS.join(","), ...rows].join("\n") + "\n");
    const c = parseCatalogFiles([path.join(dir, "aws.csv")]);
    const got = new Map<number, number>();
    for (let i = 0; i < c.size; i++) got.set(c.cols.line[i], c.cols.price[i]);
    values.forEach((v, k) => {
      expect(got.get(k + 2)).toBe(Number(v));
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
