/**
 * Guard rails for `publish`: what it refuses and what it calls out, decided by comparing the new
 * document with the live snapshot. The lint ratchet blocks only findings a change introduces (debt
 * already live is reported, never blocking) and records audited overrides; removals must be allowed
 * by name or in bulk; a flag not allowed in the target environment refuses the document; an unchanged
 * document publishes nothing; turning on a permission flag, touching a gated flag, widening a rollout
 * by more than a step or re-bucketing a running experiment is called out. Pure, no I/O: `now` is passed in.
 */
export { type Attention, attention } from "./attention";
export { sameContent, unallowedRemovals } from "./content";
export { type NotAllowed, notAllowedIn } from "./environments";
export { applyOverrides, type Ratchet, ratchet, subjectOf } from "./ratchet";
