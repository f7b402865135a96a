/**
 * Registers every backend program by name (lazily loaded: a command only pays for the SDK of
 * the backend it uses). Import this module once before `loadBackend`.
 */
import { registerBackend } from "./index";

registerBackend("local", async () => (await import("./local")).localProgram);
registerBackend("aws", async () => (await import("./aws")).awsProgram);
registerBackend("gcp", async () => (await import("./gcp")).gcpProgram);
registerBackend("azure", async () => (await import("./azure")).azureProgram);
