/**
 * Canned answers for the prebuilt image (prebuilt.ts) under the mock engine
 * (src/compiler/mock-engine.ts): `@pulumi/docker`'s Image reports a digest derived from its name.
 */
import { hex, type PackageMocks } from "./mocks";

export const prebuiltMocks: PackageMocks = {
  call() {
    return undefined;
  },

  state(type, _name, inputs) {
    const i = inputs;
    switch (type) {
      case "docker:index/image:Image":
        return { id: `${String(i.imageName)}`, state: { ...i, repoDigest: `${String(i.imageName).split(":")[0]}@sha256:${hex(String(i.imageName), 64)}` } };
      default:
        return undefined;
    }
  },
};
