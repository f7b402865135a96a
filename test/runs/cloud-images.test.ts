/**
 * The default image of a cloud run honours `python` and `nvcc` (dstack's base image rule);
 * the local backend keeps its own base image.
 */
import { baseImageFor } from "../../src/runs/inputs";
import { baseImageRef } from "../../src/stacks/base-image";

test("python picks the base image's tag; nvcc its -devel variant (with the CUDA compiler)", () => {
  expect(baseImageFor("aws", { python: "3.11", nvcc: false })).toBe("dstackai/base:py3.11-0.7-cuda-12.1");
  expect(baseImageFor("gcp", { python: "3.10", nvcc: true })).toBe("dstackai/base:py3.10-0.7-cuda-12.1-devel");
  expect(baseImageFor("azure", { python: null, nvcc: false })).toBe("dstackai/base:py3.12-0.7-cuda-12.1");
  // a version the image is not published for keeps the default
  expect(baseImageFor("aws", { python: "3.8", nvcc: false })).toBe("dstackai/base:py3.12-0.7-cuda-12.1");
  expect(baseImageFor("local", { python: "3.11", nvcc: true })).toBe(baseImageRef());
});
