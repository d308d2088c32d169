/**
 * `edgeflags approve PROPOSAL --key FILE`: an approver's signature on a proposal, offline. Before
 * signing it checks the proposal is what it says (its document's manifest is the one signed: a
 * tampered or hand-edited proposal is refused) and for the environment set, and shows the diff being
 * approved, recomputed from the proposal's base (the live snapshot when it was proposed, whose
 * signature is checked when the public keys are configured) - never the diff text the file carries.
 * Signing again with the same key replaces the earlier signature. I/O: the proposal file, the key.
 */
import { resolve } from "node:path";
import { decodeProtectedHeader } from "jose";
import type { FlagsDocument } from "../../flags/types";
import { signatureKid } from "../../policy/approvals";
import { approveGroup } from "../../policy/manifest";
import { classOf, inScope, keyPolicy } from "../../policy/policy";
import type { SnapshotPayload } from "../../snapshot/format";
import { verifySnapshot } from "../../snapshot/verify";
import { type CliOptions, resolveSettings } from "../config";
import { diffFlags, isEmptyDiff } from "../diff";
import { loadPrivateKey, trustedKeys } from "../keys";
import { CliError, EXIT } from "../output";
import { loadPolicy } from "../policy";
import { checkProposal, readProposal, writeProposal } from "../proposal";
import { decodeSnapshot } from "../snapshot";
import type { CommandContext } from "./context";
import { printDiff } from "./diff";

export type ApproveOptions = CliOptions;

interface BaseView {
  version: number;
  /** Whether the base snapshot's signature was checked with a configured key. */
  verified: boolean;
  kid?: string;
  flags: FlagsDocument;
  /** Why it was not checked, or failed. */
  note?: string;
}

export async function approveCommand(
  file: string,
  options: ApproveOptions,
  ctx: CommandContext,
): Promise<number> {
  const { out } = ctx;
  const settings = resolveSettings(options, ctx.io.env, ctx.io.cwd);
  const proposal = readProposal(file, ctx.io.cwd);
  const { manifest } = await checkProposal(proposal, file);
  if (settings.environmentSet && settings.environment !== proposal.environment) {
    throw new CliError(
      EXIT.problems,
      `${file} is a proposal for environment "${proposal.environment}", but the environment here is "${settings.environment}" (--env, EDGEFLAGS_ENV or the config file): refusing to approve it`,
    );
  }
  const key = await loadPrivateKey(settings);
  const kid = key.signer.kid;
  const ring = await trustedKeys(settings.publicKeys, key.jwk);
  const loaded = loadPolicy(settings);

  // The diff being approved, recomputed from the base the proposal names.
  const base = await baseView(proposal.base, ring, proposal.environment);
  const diff = diffFlags(base?.flags, proposal.document);
  const flags = Object.keys(proposal.document.flags).length;
  const gates = proposal.document.gates?.length ?? 0;

  // What the policy makes of this key (a warning only: approving is always possible).
  const warnings: string[] = [];
  if (loaded) {
    const { policy } = loaded;
    const k = keyPolicy(policy, kid);
    if (!k) {
      warnings.push(
        `key ${kid} ${policy.revoked.has(kid) ? "is revoked" : "has no role"} in the policy (${loaded.source}): this approval will count for nothing`,
      );
    } else if (!k.roles.includes("approver") && !k.roles.includes("publisher")) {
      warnings.push(
        `key ${kid} has neither the approver nor the publisher role (roles: ${k.roles.join(", ")}): this approval will count for nothing`,
      );
    } else {
      if (!k.roles.includes("approver")) {
        warnings.push(
          `key ${kid} is a publisher, not an approver: it counts only for flags that need no approvals`,
        );
      }
      const touched = [...diff.flags.added, ...diff.flags.changed.map((c) => c.key)];
      const outside = touched.filter((f) => {
        const flag = proposal.document.flags[f];
        const before = base?.flags.flags[f];
        return flag && !inScope(k, f, classOf(flag), before ? classOf(before) : undefined);
      });
      if (outside.length > 0) {
        warnings.push(
          `key ${kid}'s scope (${k.scope?.join(", ")}) does not cover ${outside.map((f) => `flags.${f}`).join(", ")}: its approval counts for nothing there`,
        );
      }
    }
  }

  // Deletions are approved by name in the manifest: say which, whatever the base shows.
  const deletes = [
    ...(manifest.removed ?? []).map((k) => `flags.${k}`),
    ...(manifest.removedGates ?? []).map((id) => `gates.${id}`),
  ];
  if (base) {
    const shown = [
      ...diff.flags.removed.map((k) => `flags.${k}`),
      ...diff.gates.removed.map((id) => `gates.${id}`),
    ];
    if (shown.some((d) => !deletes.includes(d))) {
      warnings.push(
        `the diff deletes ${shown.filter((d) => !deletes.includes(d)).join(", ")}, which the manifest does not approve deleting: publishing it will need another approval`,
      );
    }
  }

  const replaced = proposal.approval.signatures.some((s) => signatureKid(s) === kid);
  const approval = await approveGroup(proposal.approval, key.signer);
  writeProposal(resolve(ctx.io.cwd, file), { ...proposal, approval });
  const signers = approval.signatures.map((s) => signatureKid(s) ?? "?");

  out.result({
    ok: true,
    proposal: file,
    environment: proposal.environment,
    kid,
    replaced,
    signers,
    base: base
      ? { version: base.version, verified: base.verified, ...(base.kid ? { kid: base.kid } : {}) }
      : null,
    changed: !isEmptyDiff(diff),
    diff,
    ...(deletes.length > 0 ? { deletes } : {}),
    ...(warnings.length > 0 ? { warnings } : {}),
  });
  for (const w of warnings) out.warning(w);
  out.line(
    out.paint(
      "bold",
      `${file}: ${flags} flag${flags === 1 ? "" : "s"}${gates ? `, ${gates} gate${gates === 1 ? "" : "s"}` : ""} for ${proposal.environment}, proposed ${proposal.createdAt}${proposal.note ? ` (${proposal.note})` : ""}`,
    ),
  );
  if (!base) out.line("against: nothing published (every flag is new)");
  else {
    const how = base.verified
      ? `signature of ${base.kid} verified`
      : out.paint("yellow", `signature not checked: ${base.note}`);
    out.line(`against live version ${base.version} when it was proposed (${how}):`);
  }
  if (isEmptyDiff(diff)) out.line("no changes");
  else printDiff(out, diff);
  if (deletes.length > 0)
    out.line(out.paint("yellow", `this approval also approves deleting ${deletes.join(", ")}`));
  out.line(
    out.paint(
      "dim",
      "an approval attests every flag and gate of the document at its definition here, not only what changed",
    ),
  );
  out.ok(
    `${replaced ? "re-approved" : "approved"} ${file} as ${kid}${replaced ? " (replacing its earlier signature)" : ""}: signed by ${signers.join(", ")}`,
  );
  return EXIT.ok;
}

/**
 * The proposal's base snapshot as approve shows it: its flags, and whether its signature verified
 * with a key this approver has (a base that does not verify is shown with a warning, not trusted).
 */
async function baseView(
  base: { version: number; snapshot: string } | null,
  ring: Awaited<ReturnType<typeof trustedKeys>>,
  environment: string,
): Promise<BaseView | undefined> {
  if (!base) return undefined;
  let payload: SnapshotPayload;
  try {
    payload = decodeSnapshot(base.snapshot);
  } catch {
    throw new CliError(EXIT.problems, "the proposal's base is not a snapshot: refusing a tampered proposal");
  }
  let kid: string | undefined;
  try {
    const header = decodeProtectedHeader(base.snapshot);
    kid = typeof header.kid === "string" ? header.kid : undefined;
  } catch {
    kid = undefined;
  }
  if (kid === undefined || !ring.has(kid)) {
    return {
      version: payload.version,
      verified: false,
      flags: payload.flags,
      note: `no public key for ${kid ?? "its signer"} is configured (publicKeysFile or EDGEFLAGS_PUBLIC_KEYS)`,
      ...(kid ? { kid } : {}),
    };
  }
  try {
    // Only the signature and the content: the base may have expired since.
    const verified = await verifySnapshot(base.snapshot, { keys: ring, environment, now: 0 });
    return { version: verified.payload.version, verified: true, kid, flags: verified.payload.flags };
  } catch (err) {
    throw new CliError(
      EXIT.problems,
      `the proposal's base (version ${payload.version}) does not verify with key ${kid}: ${(err as Error).message}; refusing a tampered proposal`,
    );
  }
}
