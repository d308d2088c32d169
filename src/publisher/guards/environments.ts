/**
 * Which flags a document may not carry into an environment: a flag that lists `environments` without
 * the target one. Publish refuses such a document rather than dropping the flag, because code that
 * reads a silently dropped flag gets its fallback value without anyone deciding so. Pure, no I/O.
 */
import type { FlagsDocument } from "../../flags/types";

export interface NotAllowed {
  flag: string;
  /** The environments the flag lists. */
  environments: string[];
}

/** The flags of `doc` whose `environments` leave out `environment`, in file order. */
export function notAllowedIn(doc: FlagsDocument, environment: string): NotAllowed[] {
  const out: NotAllowed[] = [];
  for (const [flag, def] of Object.entries(doc.flags)) {
    if (def.environments && !def.environments.includes(environment)) {
      out.push({ flag, environments: def.environments });
    }
  }
  return out;
}
