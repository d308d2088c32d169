/**
 * The one shape every flags-file problem takes, from the schema, the semantic checks and the YAML
 * parser alike. Pure types, no I/O.
 */

/** A problem found in a flags document, addressed by its path from the document root. */
export interface Problem {
  path: (string | number)[];
  message: string;
  /**
   * The problem is the map key at the end of `path` (an unknown field, a badly named flag), not its
   * value. Lets the parser point at the key rather than at what follows it.
   */
  onKey?: boolean;
}
