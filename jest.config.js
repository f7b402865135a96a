/** @type {import('jest').Config} */
const transform = { "^.+\\.ts$": ["@swc/jest", { jsc: { target: "es2022", parser: { syntax: "typescript" } }, module: { type: "commonjs" } }] };
module.exports = {
  // Unit and mock-engine tests run in parallel; end-to-end tests share one Docker
  // engine and one Pulumi state directory per test file, so they run one file at a time.
  projects: [
    { displayName: "unit", testMatch: ["<rootDir>/test/**/*.test.ts"], testPathIgnorePatterns: ["/test/e2e/"], transform, testEnvironment: "node" },
    { displayName: "e2e", testMatch: ["<rootDir>/test/e2e/**/*.test.ts"], transform, testEnvironment: "node", maxWorkers: 1 },
  ],
  testTimeout: 30000,
};
