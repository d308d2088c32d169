/**
 * `edgeflags keygen`: a new Ed25519 signing key. The private JWK goes to a file created with mode
 * 0600 (or stdout); the public key is printed as the JWKS the worker's EDGEFLAGS_PUBLIC_KEYS takes.
 * stdout holds only the keys, every comment goes to stderr, so `edgeflags keygen --out FILE
 * --public-only | npx wrangler secret put EDGEFLAGS_PUBLIC_KEYS` works. I/O: writes the key file
 * (reads it with --key).
 */
import { chmodSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import type { JWK } from "jose";
import { generateKeys, loadPrivateKey, publicPart } from "../keys";
import { CliError, EXIT } from "../output";
import type { CommandContext } from "./context";

export interface KeygenOptions {
  out?: string;
  kid?: string;
  force?: boolean;
  /** Print only the public JWKS on stdout: the new private key needs `out`. */
  publicOnly?: boolean;
  /** Create nothing: print the public JWKS of this existing private key file. */
  key?: string;
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

/** The public JWKS of an existing private key file (`keygen --key FILE`); loading checks its kid. */
async function existingKey(file: string): Promise<{ privateJwk: JWK; publicJwks: { keys: JWK[] } }> {
  const { jwk } = await loadPrivateKey({ privateKey: { file } });
  return { privateJwk: jwk, publicJwks: { keys: [publicPart(jwk)] } };
}

export async function keygenCommand(options: KeygenOptions, ctx: CommandContext): Promise<number> {
  const { out } = ctx;
  if (
    options.key !== undefined &&
    (options.out !== undefined || options.kid !== undefined || options.force)
  ) {
    throw new CliError(
      EXIT.usage,
      "--key prints the public keys of an existing key: it takes no --out, --kid or --force",
    );
  }
  if (options.publicOnly && options.out === undefined && options.key === undefined) {
    throw new CliError(
      EXIT.usage,
      "--public-only keeps the private key off stdout: write the new key with --out FILE, or pass --key FILE to print an existing key's public keys",
    );
  }
  if (options.kid !== undefined && !/^[\w.:-]{1,64}$/.test(options.kid)) {
    throw new CliError(EXIT.usage, "--kid must be 1-64 letters, digits, '.', ':', '_' or '-'");
  }
  const existing = options.key === undefined ? undefined : resolve(ctx.io.cwd, options.key);
  const { privateJwk, publicJwks } = existing ? await existingKey(existing) : await generateKeys(options.kid);
  const kid = privateJwk.kid as string;
  const privateText = `${JSON.stringify(privateJwk, null, 2)}\n`;
  const file = existing ?? (options.out ? resolve(ctx.io.cwd, options.out) : undefined);
  if (file && !existing) writeSecretFile(file, privateText, options.force);
  out.result({
    ok: true,
    kid,
    privateKeyFile: file ?? null,
    ...(file ? {} : { privateKey: privateJwk }),
    publicKeys: publicJwks,
  });
  if (existing) {
    out.aside(`# public keys of ${kid} in ${existing}:`);
  } else if (file) {
    out.aside(
      `${out.paint("green", "✓")} private key ${kid} written to ${file} (mode 0600) - keep it secret, never commit it`,
    );
  } else {
    out.aside(out.paint("bold", "# private key (keep it secret; for EDGEFLAGS_PRIVATE_KEY or a key file):"));
    out.line(privateText.trimEnd());
  }
  if (!existing) {
    out.aside(
      out.paint(
        "bold",
        "# public keys (EDGEFLAGS_PUBLIC_KEYS for the worker; add it next to older keys when rotating):",
      ),
    );
  }
  out.line(JSON.stringify(publicJwks));
  return EXIT.ok;
}
