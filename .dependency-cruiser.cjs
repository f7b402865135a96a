/**
 * The layering of src/ (DEVELOPERS.md): config < offers < compiler; stacks beside the compiler
 * (neither imports the other); runs imports both; ssh beside runs; src/cli and cli.ts on top.
 * Checked by test/architecture/layers.test.ts (part of `npm test`) and `npm run lint:arch`.
 *
 * What counts as an import: every edge dependency-cruiser sees in a TypeScript file, that is
 * top-level `import`/`export ... from`, `import type` (tsPreCompilationDeps: a type-only import
 * still means the importer knows the other layer, and a type-only cycle still ties two files
 * together), inline `require()` and `await import()` (lazy loading does not make a dependency
 * go away). Imports of node_modules and node: builtins are outside these rules.
 */

/** A path regex for the folders of the given layers; "cli" also matches the root cli.ts. */
function layers(...names) {
  const folders = names.filter((n) => n !== "cli");
  const alternatives = [];
  if (folders.length) alternatives.push(`src/(${folders.join("|")})/`);
  if (names.includes("cli")) alternatives.push("src/cli/", "cli\\.ts$");
  return `^(${alternatives.join("|")})`;
}

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "compiler-above-its-layer",
      comment: "src/compiler turns a plan into programs; it never drives the engine (src/stacks), runs use cases (src/runs) or the CLI.",
      severity: "error",
      from: { path: "^src/compiler/" },
      to: { path: layers("stacks", "runs", "cli") },
    },
    {
      name: "config-above-its-layer",
      comment: "src/config is the first stage: it imports no later stage.",
      severity: "error",
      from: { path: "^src/config/" },
      to: { path: layers("offers", "compiler", "stacks", "runs", "ssh", "cli") },
    },
    {
      name: "offers-above-its-layer",
      comment: "src/offers ranks offers for the compiler; it imports neither the compiler nor src/stacks.",
      severity: "error",
      from: { path: "^src/offers/" },
      to: { path: layers("compiler", "stacks") },
    },
    {
      name: "stacks-above-its-layer",
      comment: "src/stacks drives the Automation API beside the compiler; it imports neither the compiler, src/runs nor the CLI.",
      severity: "error",
      from: { path: "^src/stacks/" },
      to: { path: layers("compiler", "runs", "cli") },
    },
    {
      name: "no-cycle",
      comment: "No import cycle among src/ files (type-only and lazy imports included).",
      severity: "error",
      from: { path: "^src/" },
      to: { path: "^src/", circular: true },
    },
  ],
  options: {
    includeOnly: "^(src/|cli\\.ts$)",
    exclude: { path: "(^|/)node_modules/" },
    doNotFollow: { path: "(^|/)node_modules/" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { extensions: [".ts", ".js", ".json"] },
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
