/**
 * Where the test vectors live: test/vectors, inside the repository. bucketing.json and
 * murmur3_x86_32.json are byte-identical copies of the project's shared vectors; no test reads
 * anything outside the repository. Test helper, reads no files itself.
 */
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

/** Absolute path of a file in this repo's test/vectors. */
export function ownVector(name: string): string {
  return resolve(here, "../vectors", name);
}
