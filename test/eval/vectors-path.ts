/** Where the shared vectors live: ../shared beside the repo (as on CI). Test helper, reads no files itself. */
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

/** Absolute path of a file in ../shared/vectors. */
export function sharedVector(name: string): string {
  return resolve(here, "../../../shared/vectors", name);
}

/** Absolute path of a file in this repo's test/vectors. */
export function ownVector(name: string): string {
  return resolve(here, "../vectors", name);
}
