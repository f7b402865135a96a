/** Library entry point: the same stages the CLI uses. */
export * from "./diagnostics";
export * from "./config/runspec";
export * from "./offers/offer";
export * from "./compiler/plan";
export { loadRunSpec, loadConfiguration, findConfigurationFile, unsupportedDiagnostics, type LoadOptions, type RunFlags } from "./config";
