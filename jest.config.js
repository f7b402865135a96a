/** @type {import('jest').Config} */
const transform = { "^.+\\.ts$": ["@swc/jest", { jsc: { target: "es2022", parser: { syntax: "typescript" } }, module: { type: "commonjs" } }] };
module.exports = {
  // Unit and mock-engine tests, and end-to-end tests (real engine, Docker and OpenSSH). Every
  // e2e file uses its own DSTACK_HOME, HOME and run names, so files may run side by side.
  projects: [
    { displayName: "unit", testMatch: ["<rootDir>/test/**/*.test.ts"], testPathIgnorePatterns: ["/test/e2e/"], transform, testEnvironment: "node" },
    { displayName: "e2e", testMatch: ["<rootDir>/test/e2e/**/*.test.ts"], transform, testEnvironment: "node" },
  ],
  testTimeout: 30000,
};
