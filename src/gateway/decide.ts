/**
 * The gate decision: given the matching gate, whether the snapshot is trustworthy and the gate flag's
 * evaluation, pass or answer with the gate's action. Pure, no I/O, no clock.
 */
import type { EvaluationResult } from "../eval/types";
import type { CompiledGate } from "./match";

/** Why a gate answered instead of the origin. */
export type DenyReason =
  /** The visitor's variant is not in `allow`. */
  | "variant"
  /** No trustworthy snapshot and the gate fails closed. */
  | "unavailable"
  /** The flag could not be evaluated and the gate fails closed. */
  | "error";

export type Decision =
  | { action: "pass"; gate?: CompiledGate; variant?: string; reason?: "allowed" | "fail-open" }
  | {
      action: "deny" | "redirect" | "rewrite";
      gate: CompiledGate;
      variant?: string;
      reason: DenyReason;
    };

export interface DecideInput {
  gate: CompiledGate | undefined;
  /** The snapshot is loaded and not expired. */
  trusted: boolean;
  /** The gate flag's evaluation; needed only when a gate matched and the snapshot is trusted. */
  result?: EvaluationResult;
}

function denyWith(gate: CompiledGate, reason: DenyReason, variant?: string): Decision {
  const { action } = gate;
  return variant === undefined ? { action, gate, reason } : { action, gate, reason, variant };
}

/** Decides one request. No gate: pass. An unusable answer falls back to the gate's fail policy. */
export function decide({ gate, trusted, result }: DecideInput): Decision {
  if (!gate) return { action: "pass" };
  const variant = result?.variant;
  if (!trusted || result === undefined || result.errorCode !== undefined || variant === undefined) {
    if (gate.onUnavailable === "allow") return { action: "pass", gate, reason: "fail-open" };
    return denyWith(gate, !trusted || result === undefined ? "unavailable" : "error");
  }
  return gate.allow.has(variant)
    ? { action: "pass", gate, variant, reason: "allowed" }
    : denyWith(gate, "variant", variant);
}

/** `gate=geo-block; flag=new-checkout; variant=off; action=deny; reason=variant`, for X-Edgeflags-Decision. */
export function describeDecision(d: Decision, extra?: string): string {
  const parts: string[] = [];
  if (d.gate) parts.push(`gate=${d.gate.id}`, `flag=${d.gate.flag}`);
  if (d.variant !== undefined) parts.push(`variant=${d.variant}`);
  parts.push(`action=${d.action}`);
  if (d.reason !== undefined) parts.push(`reason=${d.reason}`);
  if (extra) parts.push(extra);
  return parts.join("; ");
}
