/**
 * Proposal files (`edgeflags propose` writes them, `approve` signs them, `publish --proposal` and
 * `status` read them): a validated flags document, what it changes against the live snapshot, and the
 * approval group (src/policy/approvals.ts) its approvers sign. JSON, meant to be committed next to the
 * flags file in a pull request. The group is what counts; everything else is there to be read, and
 * is checked against the group before anyone signs it. I/O: reads and writes the proposal file.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import { isMap } from "../flags/json-value";
import type { FlagsDocument } from "../flags/types";
import { validateDocument } from "../flags/validate";
import { type ApprovalGroup, decodeManifest, isApprovalGroup, type Manifest } from "../policy/approvals";
import { manifestOf } from "../policy/manifest";
import type { ChangeSummary } from "../snapshot/format";
import { manifestDifferences, sameContent } from "./approvals";
import { CliError, EXIT } from "./output";

export const PROPOSAL_FORMAT = "edgeflags-proposal/1";

export interface Proposal {
  format: typeof PROPOSAL_FORMAT;
  /** The environment the approvals are for (they count nowhere else). */
  environment: string;
  /** ISO 8601. */
  createdAt: string;
  note?: string;
  /** The flags file, relative to the proposal file, and `sha256:<hex>` of its bytes. */
  source: { path: string; digest: string };
  /**
   * The live snapshot the diff is against, as the worker served it (a compact JWS, so `approve` can
   * check its signature offline and recompute the diff); null when nothing was published.
   */
  base: { version: number; issuedAt: string; snapshot: string } | null;
  /** What publishing it changes against `base`: the summary, and the diff as people read it. */
  changes: ChangeSummary;
  diff: string[];
  /** The validated flags document. */
  document: FlagsDocument;
  /** The approval group: the document's manifest and the approvers' signatures. */
  approval: ApprovalGroup;
}

/** Where `propose FILE` writes by default: `flags.yaml` -> `flags.proposal.json`, next to it. */
export function defaultProposalPath(file: string): string {
  const name = basename(file).replace(/\.(ya?ml|json)$/i, "");
  return resolve(dirname(file), `${name}.proposal.json`);
}

/** Reads a proposal file (relative to `cwd`): exit 3 when it cannot be read, 1 when it is no proposal. */
export function readProposal(file: string, cwd: string): Proposal {
  let text: string;
  try {
    text = readFileSync(resolve(cwd, file), "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliError(
      EXIT.io,
      `cannot read the proposal ${file}: ${code === "ENOENT" ? "no such file" : (err as Error).message}`,
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new CliError(EXIT.problems, `${file} is not a proposal: not JSON`);
  }
  const problem = shapeProblem(raw);
  if (problem) throw new CliError(EXIT.problems, `${file} is not a proposal: ${problem}`);
  return raw as Proposal;
}

function shapeProblem(x: unknown): string | undefined {
  if (!isMap(x)) return "not a JSON object";
  if (x.format !== PROPOSAL_FORMAT)
    return `format must be "${PROPOSAL_FORMAT}", got ${JSON.stringify(x.format)}`;
  if (typeof x.environment !== "string" || x.environment === "") return "environment missing";
  if (!isMap(x.document)) return "document missing";
  if (!isApprovalGroup(x.approval)) return "approval is not an approval group";
  if (!isMap(x.source) || typeof x.source.path !== "string" || typeof x.source.digest !== "string") {
    return "source missing";
  }
  if (
    x.base !== null &&
    !(isMap(x.base) && typeof x.base.version === "number" && typeof x.base.snapshot === "string")
  ) {
    return "base must be null or the live snapshot";
  }
  return undefined;
}

/** Writes a proposal as indented JSON. */
export function writeProposal(path: string, proposal: Proposal): void {
  try {
    writeFileSync(path, `${JSON.stringify(proposal, null, 2)}\n`);
  } catch (err) {
    throw new CliError(EXIT.io, `cannot write ${path}: ${(err as Error).message}`);
  }
}

export interface CheckedProposal {
  proposal: Proposal;
  /** The group's manifest. */
  manifest: Manifest;
  /** The manifest of the proposal's document, recomputed. */
  actual: Manifest;
}

/**
 * Checks that a proposal is what it says: its document is a valid flags document, and the group's
 * manifest is that document's manifest for the proposal's environment. Anything else is a tampered
 * (or hand-edited) proposal, refused with exit 1 and what differs.
 */
export async function checkProposal(proposal: Proposal, file: string): Promise<CheckedProposal> {
  const valid = validateDocument(proposal.document);
  if (!valid.ok) {
    const shown = valid.problems.slice(0, 5).map((p) => `${p.path.join(".") || "document"}: ${p.message}`);
    throw new CliError(
      EXIT.problems,
      `${file}: its document is not a valid flags document (${shown.join("; ")}): refusing it`,
    );
  }
  const manifest = decodeManifest(proposal.approval);
  if (!manifest)
    throw new CliError(EXIT.problems, `${file}: its approval group holds no manifest: refusing it`);
  if (manifest.environment !== proposal.environment) {
    throw new CliError(
      EXIT.problems,
      `${file}: its approval group is for environment "${manifest.environment}", the proposal says "${proposal.environment}": refusing a tampered proposal`,
    );
  }
  const actual = await manifestOf(proposal.document, { environment: proposal.environment });
  if (!sameContent(actual, manifest)) {
    const diffs = manifestDifferences(actual, manifest);
    throw new CliError(
      EXIT.problems,
      `${file}: the document does not match the manifest of its approval group (tampered or edited by hand; run \`edgeflags propose\` again): ${diffs.join("; ")}`,
      { differences: diffs },
    );
  }
  return { proposal, manifest, actual };
}
