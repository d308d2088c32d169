/**
 * `edgeflags keygen`: a new Ed25519 signing key. The private JWK goes to a file created with mode
 * 0600 (or stdout); the public key is printed as the JWKS the worker's EDGEFLAGS_PUBLIC_KEYS takes.
 * I/O: writes the key file.
 */
import { chmodSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { generateKeys } from "../keys";
import { CliError, EXIT } from "../output";
import type { CommandContext } from "./context";

export interface KeygenOptions {
  out?: string;
  kid?: string;
  force?: boolean;
}

/** Writes `text` to a new file readable by its owner only; refuses to overwrite unless `force`. */
export function writeSecretFile(path: string, text: string, force = false): void {
  try {
    writeFileSync(path, text, { mode: 0o600, flag: force ? "w" : "wx" });
    // An existing file keeps its old mode through writeFileSync, and umask may have widened a new one.
    chmodSync(path, 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") {
      throw new CliError(
        EXIT.problems,
        `${path} already exists: keygen never overwrites a key (use --force to replace it)`,
      );
    }
    throw new CliError(EXIT.io, `cannot write ${path}: ${(err as Error).message}`);
  }
}

export async function keygenCommand(options: KeygenOptions, ctx: CommandContext): Promise<number> {
  const { out } = ctx;
  if (options.kid !== undefined && !/^[\w.:-]{1,64}$/.test(options.kid)) {
    throw new CliError(EXIT.usage, "--kid must be 1-64 letters, digits, '.', ':', '_' or '-'");
  }
  const { privateJwk, publicJwks } = await generateKeys(options.kid);
  const kid = privateJwk.kid as string;
  const privateText = `${JSON.stringify(privateJwk, null, 2)}\n`;
  const file = options.out ? resolve(ctx.io.cwd, options.out) : undefined;
  if (file) writeSecretFile(file, privateText, options.force);
  out.result({
    ok: true,
    kid,
    privateKeyFile: file ?? null,
    ...(file ? {} : { privateKey: privateJwk }),
    publicKeys: publicJwks,
  });
  if (file) {
    out.ok(`private key ${kid} written to ${file} (mode 0600) - keep it secret, never commit it`);
  } else {
    out.line(out.paint("bold", "# private key (keep it secret; for EDGEFLAGS_PRIVATE_KEY or a key file):"));
    out.line(privateText.trimEnd());
  }
  out.line(
    out.paint(
      "bold",
      "# public keys (EDGEFLAGS_PUBLIC_KEYS for the worker; add it next to older keys when rotating):",
    ),
  );
  out.line(JSON.stringify(publicJwks));
  return EXIT.ok;
}
