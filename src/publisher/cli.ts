/**
 * The `edgeflags` command line: commander wiring only - every command's work lives in commands/.
 * `main` never calls process.exit, so tests run it in-process; I/O through the injected Io. A command's
 * module is imported only when it runs, so `--help` and `--version` load little more than commander
 * (and the built CLI splits each command into its own chunk).
 */
import { Command, CommanderError, Option } from "commander";
import pkg from "../../package.json" with { type: "json" };
import type { CommandContext } from "./commands/context";
import { TARGETS } from "./config";
import { CliError, EXIT, FORMATS, type Format, type Io, Output } from "./output";

const SETTINGS_HELP = `
Settings (command line > environment > .edgeflags/config.json > defaults):
  --url / EDGEFLAGS_URL / url                      worker base URL (intake and /healthz)
  --env / EDGEFLAGS_ENV / environment              environment (default "development")
  EDGEFLAGS_PUBLISH_TOKEN / publishToken           bearer token for the worker's intake
  EDGEFLAGS_STATS_TOKEN / statsToken               the worker's read-only STATS_TOKEN for stats (default: the publish token)
  EDGEFLAGS_SERVER_API_KEY / serverApiKey          one of the worker's SERVER_API_KEYS, for explain
  --key / EDGEFLAGS_PRIVATE_KEY(_FILE) / privateKeyFile   signing key (JWK)
  EDGEFLAGS_PUBLIC_KEYS(_FILE) / publicKeysFile    extra public keys to trust (JWKS): the worker's, to count approvals
  --policy / EDGEFLAGS_POLICY_FILE / policyFile    the trust policy file (what the worker has as EDGEFLAGS_POLICY)
  --target / EDGEFLAGS_TARGET / target             ${TARGETS.join(" | ")} (default worker)
  --timeout / EDGEFLAGS_WAIT_TIMEOUT / waitTimeoutSeconds   how long publish waits for /healthz (default 60)
  --actor / EDGEFLAGS_ACTOR                        who publishes, for the audit record (default: git user)
  --config / EDGEFLAGS_CONFIG                      the config file (default: the nearest .edgeflags/config.json)
  CLOUDFLARE_API_TOKEN; CLOUDFLARE_ACCOUNT_ID / accountId; EDGEFLAGS_KV_NAMESPACE_ID / namespaceId   kv-api target
Exit codes: 0 ok, 1 problems found or refused, 2 usage error, 3 cannot reach the target or read a file,
4 published but --confirm all found locations that did not serve it within --confirm-timeout.`;

type Action = (ctx: CommandContext) => Promise<number>;
/** The output options a command was given (`--format` only where the command has it). */
type OutputOptions = { json?: boolean; format?: Format };
type Run = (options: OutputOptions, action: Action) => Promise<void>;

/** For repeatable options: each use adds its value (no default, so --help shows none). */
const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

/** Options every command that talks to a target accepts. */
function targetOptions(cmd: Command): Command {
  return cmd
    .option("--target <name>", `where to read and push: ${TARGETS.join(", ")}`)
    .option("--url <url>", "worker base URL")
    .option("--env <name>", "environment the snapshot is for")
    .option("--config <file>", "config file (default: the nearest .edgeflags/config.json)");
}

/** `--policy`, on the commands that check or report approvals. */
const policyOption = (cmd: Command) =>
  cmd.option(
    "--policy <file>",
    "trust policy file: what the worker has as EDGEFLAGS_POLICY (docs/approvals.md)",
  );

/** Options of every command that signs and pushes a snapshot (publish, rollback, kill). */
function signingOptions(cmd: Command, actor: string): Command {
  return policyOption(cmd)
    .option("--actor <name>", actor)
    .option("--key <file>", "private key file (JWK)")
    .option("--no-wait", "do not wait for /healthz to report the new version")
    .option("--timeout <seconds>", "how long to wait for the new version (default 60)")
    .addOption(
      new Option(
        "--confirm <scope>",
        "all: then wait until every location active within --active-within serves it (exit 4 if not)",
      ).choices(["all"]),
    )
    .option(
      "--active-within <duration>",
      "with --confirm all: locations seen within this, e.g. 10m (default)",
    )
    .option(
      "--confirm-timeout <seconds>",
      "with --confirm all: how long to wait for every location (default 60)",
    )
    .option(
      "--break-glass",
      "the key is an on-call key signing alone (only needed without a policy, which says so itself); records the reason as audit.breakGlass",
    );
}

/** `--format`, on the commands whose findings belong on a file's lines (validate, lint, diff). */
const formatOption = () =>
  new Option(
    "--format <format>",
    "github: annotations on the file's lines in GitHub Actions; json: the same as --json",
  ).choices(FORMATS);

function program(io: Io, run: Run): Command {
  const root = new Command("edgeflags")
    .description(
      "Validate, lint, sign and publish edgeflags snapshots; propose and approve changes; roll back, kill and unkill flags, read the history.",
    )
    .addHelpText("after", SETTINGS_HELP)
    // commander's own convention: -V (capital; -v is left free), printed to stdout, exit 0.
    .version(pkg.version, "-V, --version", "print the edgeflags version")
    .exitOverride()
    .showHelpAfterError("(run with --help for usage)")
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  const json = new Option("--json", "print one JSON document for scripts");

  root
    .command("preview")
    .description(
      "sign a short-lived preview link serving these variants to whoever opens it (a key with the preview role)",
    )
    .argument("<assignments...>", "FLAG=VARIANT pairs, e.g. new-checkout=on")
    .option("--for <duration>", "how long the link works: 30m, 2h, 3d (at most 7d)")
    .option("--for-key <targetingKey>", "only for requests with this targeting key")
    .option("--key <file>", "private key file (JWK) of a key with the preview role")
    .option("--url <url>", "the page the link opens (default: the worker URL)")
    .option("--env <name>", "environment the link is for")
    .option("--config <file>", "config file (default: the nearest .edgeflags/config.json)")
    .addOption(json)
    .action((assignments, o) =>
      run(o, async (ctx) => (await import("./commands/preview")).previewCommand(assignments, o, ctx)),
    );

  root
    .command("keygen")
    .description(
      "create an Ed25519 signing key: private JWK to --out (mode 0600) or stdout, public JWKS to stdout (comments to stderr)",
    )
    .option("--out <file>", "write the private key to this file")
    .option("--kid <kid>", "key id (default: the start of the key's JWK thumbprint)")
    .option("--force", "overwrite --out if it exists")
    .option(
      "--public-only",
      "print only the public JWKS on stdout, for a pipe (the new key needs --out; or use --key)",
    )
    .option("--key <file>", "create nothing: print the public JWKS of this private key file")
    .addOption(json)
    .action((o) => run(o, async (ctx) => (await import("./commands/keygen")).keygenCommand(o, ctx)));

  root
    .command("validate")
    .description("check a flags file and list every problem as file:line:column")
    .argument("<file>", "flags file (YAML or JSON)")
    .addOption(json)
    .addOption(formatOption())
    .action((file, o) =>
      run(o, async (ctx) => (await import("./commands/validate")).validateCommand(file, ctx)),
    );

  root
    .command("lint")
    .description(
      "policy checks: expired or ownerless release/experiment flags fail; unused segments, unreachable rules and shadowing warn",
    )
    .argument("<file>", "flags file")
    .option("--now <date>", "check expiry as of this date instead of today")
    .option("--strict", "fail on warnings too")
    .addOption(json)
    .addOption(formatOption())
    .action((file, o) => run(o, async (ctx) => (await import("./commands/lint")).lintCommand(file, o, ctx)));

  targetOptions(
    root
      .command("diff")
      .description("what publishing a flags file would change against the live snapshot")
      .argument("<file>", "flags file")
      .option("--exit-code", "exit 1 when there are changes (like git diff)"),
  )
    .addOption(json)
    .addOption(formatOption())
    .action((file, o) => run(o, async (ctx) => (await import("./commands/diff")).diffCommand(file, o, ctx)));

  signingOptions(
    targetOptions(
      root
        .command("publish")
        .description(
          "validate, lint (only errors the change introduces block), sign and push a flags file, then wait until the worker serves it",
        )
        .argument("<file>", "flags file")
        .option("--message <text>", "note for the audit record")
        .option("--expires-in <duration>", "snapshot expiry, e.g. 30d; the worker refuses it afterwards")
        .option("--dry-run", "everything but the push: validate, lint, diff against live, sign and check")
        .option("--allow-removals", "let this publish remove flags the live snapshot has")
        .option("--allow-removal <flag>", "let this publish remove this flag (repeatable)", collect)
        .option(
          "--allow-lint <rule>",
          "let new errors of this lint rule through (repeatable; needs --reason; recorded in the signed audit block)",
          collect,
        )
        .option("--reason <text>", "why --allow-lint is needed (recorded in the signed audit block)")
        .option(
          "--force",
          "publish even when the live snapshot already has the same flags, segments and gates",
        )
        .option(
          "--max-step <points>",
          "call out a rollout widened by more than this many percentage points (default 25)",
        )
        .option(
          "--proposal <file>",
          "an approved proposal of this very file (edgeflags propose/approve): its approvals are signed in (repeatable)",
          collect,
        ),
    ),
    "who is publishing (default: EDGEFLAGS_ACTOR, git user, OS user)",
  )
    .addOption(json)
    .action((file, o) =>
      run(o, async (ctx) => (await import("./commands/publish")).publishCommand(file, o, ctx)),
    );

  signingOptions(
    targetOptions(
      root
        .command("rollback")
        .description("republish an earlier version's flags as a new, higher version")
        .requiredOption("--to <version>", "the version whose flags to restore")
        .option("--message <text>", "note for the audit record"),
    ),
    "who is rolling back",
  )
    .addOption(json)
    .action((o) => run(o, async (ctx) => (await import("./commands/rollback")).rollbackCommand(o, ctx)));

  signingOptions(
    targetOptions(
      root
        .command("kill")
        .description(
          "disable flags in the live snapshot and publish them at once, in one version (no flags file needed)",
        )
        .argument("[flags...]", "flag keys")
        .option("--tag <tag>", "every flag with this tag (repeatable)", collect)
        .option("--reason <text>", "why (required; recorded in the audit trail)")
        .option("--undo", "undo an earlier kill of these flags instead: the same as unkill"),
    ),
    "who is killing the flags",
  )
    .addOption(json)
    .action((flags, o) =>
      run(o, async (ctx) =>
        o.undo
          ? (await import("./commands/unkill")).unkillCommand(flags, o, ctx)
          : (await import("./commands/kill")).killCommand(flags, o, ctx),
      ),
    );

  signingOptions(
    targetOptions(
      root
        .command("unkill")
        .description("undo a kill: put back exactly what the flags' enabled was before it, in one version")
        .argument("[flags...]", "flag keys")
        .option("--tag <tag>", "every flag with this tag (repeatable)", collect)
        .option("--reason <text>", "why (recorded in the audit trail)"),
    ),
    "who is undoing the kill",
  )
    .addOption(json)
    .action((flags, o) =>
      run(o, async (ctx) => (await import("./commands/unkill")).unkillCommand(flags, o, ctx)),
    );

  policyOption(
    targetOptions(
      root
        .command("propose")
        .description(
          "validate a flags file, diff it against live and write a proposal for approvers to sign; with a policy, say who must approve what",
        )
        .argument("<file>", "flags file")
        .option(
          "--out <file>",
          "where to write the proposal (default: FILE with .proposal.json, e.g. flags.proposal.json)",
        )
        .option("--note <text>", "what is proposed (e.g. the pull request), signed into the manifest")
        .option(
          "--signer <kid>",
          "the key that will publish (default: the configured key, else the policy's publisher)",
        ),
    ),
  )
    .addOption(json)
    .action((file, o) =>
      run(o, async (ctx) => (await import("./commands/propose")).proposeCommand(file, o, ctx)),
    );

  policyOption(
    root
      .command("approve")
      .description(
        "check a proposal, show the diff it approves and add your signature to it (offline; signing again replaces your signature)",
      )
      .argument("<proposal>", "proposal file (edgeflags propose)")
      .option("--key <file>", "your private key file (JWK)")
      .option("--env <name>", "refuse a proposal for another environment")
      .option("--config <file>", "config file (default: the nearest .edgeflags/config.json)"),
  )
    .addOption(json)
    .action((file, o) =>
      run(o, async (ctx) => (await import("./commands/approve")).approveCommand(file, o, ctx)),
    );

  policyOption(
    targetOptions(
      root
        .command("status")
        .description(
          "the live version, the trust policy, and for each proposal what it still needs or that it is ready to publish",
        )
        .argument("[proposals...]", "proposal files")
        .option(
          "--signer <kid>",
          "the key that will publish (default: the configured key, else the policy's publisher)",
        )
        .option("--exit-code", "exit 1 when a proposal is not ready to publish")
        .option(
          "--active-within <duration>",
          "versions per location: those seen within this, e.g. 10m (default; needs the publish token)",
        ),
    ),
  )
    .addOption(json)
    .action((files, o) =>
      run(o, async (ctx) => (await import("./commands/status")).statusCommand(files, o, ctx)),
    );

  const guard = root.command("guard").description("guards (docs/observability.md): re-arm a tripped one");
  targetOptions(
    guard
      .command("reset")
      .description("re-arm FLAG's guard for the live version without a publish (signed with your key)")
      .argument("<flag>", "the guarded flag")
      .option("--key <file>", "your private key file (JWK)"),
  )
    .addOption(json)
    .action((flag, o) =>
      run(o, async (ctx) => (await import("./commands/guard")).guardResetCommand(flag, o, ctx)),
    );

  targetOptions(
    root
      .command("history")
      .description("recent publishes: version, when, who, message, what changed (old -> new)")
      .option("--limit <n>", "how many (1-100, default 20)")
      .option("--flag <key>", "only versions that added, removed or changed this flag")
      .option("--since <when>", "only versions since a duration ago (7d, 12h, 2w) or a date (2026-11-01)"),
  )
    .addOption(json)
    .action((o) => run(o, async (ctx) => (await import("./commands/history")).historyCommand(o, ctx)));

  root
    .command("stats")
    .description(
      "evaluation counts from the worker: per variant over time (a sparkline on a terminal, a table otherwise) and when each flag was last evaluated",
    )
    .argument("[flag]", "only this flag (with per-minute rows in the table)")
    .option("--since <duration>", "how far back: 1m to 24h, e.g. 90m or 6h (default 1h)")
    .option("--url <url>", "worker base URL")
    .option("--env <name>", "environment (for the config file's settings)")
    .option("--config <file>", "config file (default: the nearest .edgeflags/config.json)")
    .addOption(json)
    .action((flag, o) =>
      run(o, async (ctx) => (await import("./commands/stats")).statsCommand(flag, o, ctx)),
    );

  root
    .command("explain")
    .description(
      "why a context gets what it gets: each evaluation step with ✓/✗ and the values read, from the worker (needs a server API key); without FLAG, every flag in one line each",
    )
    .argument("[flag]", "the flag to explain (default: every flag, briefly)")
    .option("--key <targetingKey>", "the targeting key")
    .option("--country <code>", "geo: ISO country, e.g. DE")
    .option("--continent <code>", "geo: continent, e.g. EU")
    .option("--region <code>", "geo: region code (NY), or country and region (US-NY)")
    .option("--attr <name=value>", "a client attribute; JSON values (21, true) as such (repeatable)", collect)
    .option(
      "--identity <claim=value>",
      "a verified identity claim, as a token would carry it (repeatable)",
      collect,
    )
    .option(
      "--at <time>",
      "the snapshot live then, evaluated then: an ISO time, a date, or a duration ago (2h)",
    )
    .option("--url <url>", "worker base URL")
    .option("--env <name>", "environment (for the config file's settings)")
    .option("--config <file>", "config file (default: the nearest .edgeflags/config.json)")
    .addOption(json)
    .action((flag, o) =>
      run(o, async (ctx) => (await import("./commands/explain")).explainCommand(flag, o, ctx)),
    );

  root
    .command("refs")
    .description(
      "find the flags file's keys in application code: unknown keys (typos), unreferenced flags, and expired flags still referenced (those fail)",
    )
    .argument("<file>", "flags file")
    .argument("[paths...]", "files and folders to scan (default: the current folder)")
    .option(
      "--include <glob>",
      "scan only files matching this glob (repeatable; no / matches a name anywhere)",
      collect,
    )
    .option("--exclude <glob>", "leave out files and folders matching this glob (repeatable)", collect)
    .option(
      "--pattern <regex>",
      "a wrapper call naming a flag, with one capture group around the key, e.g. 'myFlag\\(\"([\\w.-]+)\"' (repeatable)",
      collect,
    )
    .option(
      "--no-default-patterns",
      "do not use the built-in SDK call patterns (OpenFeature, useFlag, isEnabled)",
    )
    .option("--no-gitignore", "scan files that .gitignore files exclude too")
    .option("--now <date>", "check expiry as of this date instead of today")
    .option("--strict", "fail on unknown keys too")
    .option("--out <file>", "write the reference map as JSON to this file")
    .option("--config <file>", "config file (default: the nearest .edgeflags/config.json)")
    .addOption(json)
    .addOption(formatOption())
    .action((file, paths, o) =>
      run(o, async (ctx) => (await import("./commands/refs")).refsCommand(file, paths, o, ctx)),
    );

  targetOptions(
    root
      .command("report")
      .description(
        "the stale-flag report, grouped by owner: expired, past their kind's lifetime, fully rolled out or off for N days (with the code to delete), not evaluated, unreferenced; Markdown or --json, always exit 0 unless the input is broken",
      )
      .argument("<file>", "flags file")
      .argument("[paths...]", "files and folders to scan for references (default: the current folder)")
      .option("--refs <file>", "read the references from a `refs --out` file instead of scanning")
      .option("--include <glob>", "scan only files matching this glob (repeatable)", collect)
      .option("--exclude <glob>", "leave out files and folders matching this glob (repeatable)", collect)
      .option(
        "--pattern <regex>",
        "a wrapper call naming a flag, with one capture group (repeatable)",
        collect,
      )
      .option("--no-default-patterns", "do not use the built-in SDK call patterns")
      .option("--no-gitignore", "scan files that .gitignore files exclude too")
      .option(
        "--days <n>",
        "N of 'fully rolled out or off for N days' and 'not evaluated for N days' (default 30)",
      )
      .option("--offline", "do not read the history from the worker ('since' dates are then unknown)")
      .option("--now <date>", "report as of this date instead of today")
      .option("--out <file>", "write the Markdown to this file"),
  )
    .addOption(json)
    .action((file, paths, o) =>
      run(o, async (ctx) => (await import("./commands/report")).reportCommand(file, paths, o, ctx)),
    );

  return root;
}

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
export async function main(argv: string[], io: Io, processStart = false): Promise<number> {
  let code: number = EXIT.ok;
  const run: Run = async (options, action) => {
    const format = options.format ?? (options.json ? "json" : "text");
    const out = new Output(io, format);
    try {
      if (options.json && format !== "json") {
        throw new CliError(EXIT.usage, `--json and --format ${format} cannot be used together`);
      }
      code = await action({ io, out, processStart });
    } catch (err) {
      if (!(err instanceof CliError)) throw err;
      out.error(err.message);
      out.result({ ok: false, error: err.message, exitCode: err.exitCode, ...err.details });
      code = err.exitCode;
    }
  };
  try {
    await program(io, run).parseAsync(argv, { from: "user" });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end through here too, with exit code 0.
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    throw err;
  }
}
