/**
 * The publisher commands an operator would run for a flag, as the console shows them: the console
 * itself changes nothing (it holds no signing key), so every action is a CLI line to copy. Pure.
 */
import type { FlagState } from "./summary";

export interface FlagCommand {
  /** What the command does, for people. */
  label: string;
  command: string;
}

/** `text` as one shell word: left as it is when it is plainly safe, else single-quoted. */
export function shellWord(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`;
}

export interface CommandInput {
  key: string;
  state: FlagState;
  /** The version before this flag's latest change, when the history has one: what a rollback restores. */
  rollbackTo?: number;
  /** Whether the worker has a trust policy (changes then need proposals and approvals). */
  policy: boolean;
}

/** The commands for a flag in its current state, most urgent first. */
export function flagCommands(input: CommandInput): FlagCommand[] {
  const key = shellWord(input.key);
  const out: FlagCommand[] = [];
  if (input.state === "killed") {
    out.push({
      label: "Turn it back on (undo the kill)",
      command: `edgeflags unkill ${key} --reason '...' --confirm all`,
    });
  } else {
    out.push({
      label: "Kill it everywhere (serve its off variant)",
      command: `edgeflags kill ${key} --reason '...' --confirm all`,
    });
  }
  if (input.rollbackTo !== undefined) {
    out.push({
      label: `Roll the whole snapshot back to version ${input.rollbackTo} (before this flag's last change)`,
      command: `edgeflags rollback --to ${input.rollbackTo} --confirm all`,
    });
  }
  if (input.policy) {
    out.push(
      { label: "Propose a change to the flags file", command: "edgeflags propose flags.yaml" },
      { label: "Approve a proposal", command: "edgeflags approve <proposal-file>" },
    );
  }
  out.push(
    {
      label: "Publish the flags file after editing it",
      command: "edgeflags publish flags.yaml --confirm all",
    },
    { label: "Its history", command: `edgeflags history --flag ${key}` },
    { label: "Its evaluation counts", command: `edgeflags stats ${key}` },
  );
  return out;
}
