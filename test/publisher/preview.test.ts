/**
 * `edgeflags preview` (src/publisher/commands/preview.ts), called directly: the link it prints carries
 * a token the worker's verifier accepts, with the flags, lifetime, environment and binding asked for;
 * usage errors say what to write instead. No network.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { JWK } from "jose";
import { describe, expect, it } from "vitest";
import { verifyPreviewToken } from "../../src/preview/token";
import type { CommandContext } from "../../src/publisher/commands/context";
import { type PreviewOptions, previewCommand } from "../../src/publisher/commands/preview";
import { CliError, EXIT, Output } from "../../src/publisher/output";
import { loadKeyRing } from "../../src/snapshot/keys";

const fixture = JSON.parse(
  readFileSync(new URL("../fixtures/policy-keys.json", import.meta.url), "utf8"),
) as Record<string, { public: JWK; private: JWK }>;

/** 2026-01-15T12:00:00Z */
const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);

function setup(json = false) {
  const dir = mkdtempSync(join(tmpdir(), "edgeflags-preview-"));
  const keyFile = join(dir, "qa.json");
  writeFileSync(keyFile, JSON.stringify(fixture["qa-preview"]?.private), { mode: 0o600 });
  let stdout = "";
  let stderr = "";
  const io = {
    stdout: (t: string) => {
      stdout += t;
    },
    stderr: (t: string) => {
      stderr += t;
    },
    env: {},
    cwd: dir,
  };
  const ctx: CommandContext = { io, out: new Output(io, json ? "json" : "text") };
  return { dir, keyFile, ctx, stdout: () => stdout, stderr: () => stderr };
}

async function verifyLink(link: string, environment = "production", now = NOW) {
  const token = new URL(link).searchParams.get("ef_preview") as string;
  const keys = await loadKeyRing(
    { keys: [fixture["qa-preview"]?.public] },
    { keys: { "qa-preview": { roles: ["preview"] } } },
  );
  return verifyPreviewToken(token, { keys, environment, now });
}

describe("edgeflags preview", () => {
  it("prints only the link on stdout, with a token the worker accepts", async () => {
    const s = setup();
    const options: PreviewOptions = {
      for: "2h",
      key: s.keyFile,
      url: "https://shop.example.com/checkout?step=1#top",
      env: "production",
      now: NOW,
    };
    const code = await previewCommand(["checkout-v2=on", "checkout-theme=dark"], options, s.ctx);
    expect(code).toBe(EXIT.ok);
    const link = s.stdout().trim();
    expect(link.split("\n")).toHaveLength(1);
    expect(link).toMatch(
      /^https:\/\/shop\.example\.com\/checkout\?step=1&ef_preview=[\w-]+\.[\w-]+\.[\w-]+#top$/,
    );
    expect(s.stderr()).toContain("checkout-v2=on, checkout-theme=dark in production");
    expect(s.stderr()).toContain("2026-01-15T14:00:00.000Z");
    const check = await verifyLink(link);
    expect(check.ok).toBe(true);
    if (!check.ok) return;
    expect(Object.fromEntries(check.grant.flags)).toEqual({ "checkout-v2": "on", "checkout-theme": "dark" });
    expect(check.grant.exp - check.grant.iat).toBe(7200);
    expect(check.grant.sub).toBeUndefined();
    expect(check.grant.kid).toBe("qa-preview");
    // Expired two hours on, for another environment not at all.
    expect(await verifyLink(link, "production", NOW + 7200 * 1000)).toMatchObject({
      ok: false,
      problem: "expired",
    });
    expect(await verifyLink(link, "staging")).toMatchObject({ ok: false, problem: "environment" });
  });

  it("binds to a targeting key with --for-key, reads the URL and environment from the settings, and --json", async () => {
    const s = setup(true);
    s.ctx.io.env = { EDGEFLAGS_URL: "https://flags.example.com/", EDGEFLAGS_ENV: "staging" };
    const code = await previewCommand(
      ["new-nav=on"],
      { for: "30m", forKey: "qa-user-7", key: s.keyFile, now: NOW },
      s.ctx,
    );
    expect(code).toBe(EXIT.ok);
    const result = JSON.parse(s.stdout()) as Record<string, unknown>;
    expect(result).toMatchObject({
      ok: true,
      environment: "staging",
      flags: { "new-nav": "on" },
      targetingKey: "qa-user-7",
      kid: "qa-preview",
      expiresAt: "2026-01-15T12:30:00.000Z",
    });
    expect(result.link).toBe(`https://flags.example.com/?ef_preview=${result.token}`);
    const check = await verifyLink(result.link as string, "staging");
    expect(check.ok && check.grant.sub).toBe("qa-user-7");
  });

  const usage: [string, string[], Partial<PreviewOptions>, RegExp][] = [
    ["no --for", ["a=on"], { for: undefined }, /--for/],
    ["a lifetime over 7 days", ["a=on"], { for: "8d" }, /from 1m to 7d/],
    ["a lifetime under a minute", ["a=on"], { for: "30s" }, /from 1m to 7d/],
    ["a duration without a unit", ["a=on"], { for: "2" }, /from 1m to 7d/],
    ["no flags", [], {}, /FLAG=VARIANT/],
    ["a flag without a variant", ["a="], {}, /not FLAG=VARIANT/],
    ["a bare name", ["checkout"], {}, /not FLAG=VARIANT/],
    ["a flag named twice", ["a=on", "a=off"], {}, /named twice/],
    ["a URL that is not http", ["a=on"], { url: "ftp://x.example" }, /http/],
    ["no URL at all", ["a=on"], { url: undefined }, /no URL/],
    ["too many flags", Array.from({ length: 26 }, (_, i) => `f${i}=on`), {}, /at most 25/],
    ["a targeting key too long", ["a=on"], { forKey: "k".repeat(300) }, /--for-key/],
  ];
  it.each(usage)("refuses %s (exit 2)", async (_name, assignments, extra, message) => {
    const s = setup();
    const options: PreviewOptions = {
      for: "1h",
      key: s.keyFile,
      url: "https://x.example",
      now: NOW,
      ...extra,
    };
    const err = await previewCommand(assignments, options, s.ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).exitCode).toBe(EXIT.usage);
    expect((err as CliError).message).toMatch(message);
    expect(s.stdout()).toBe("");
  });

  it("needs a private key", async () => {
    const s = setup();
    const err = await previewCommand(["a=on"], { for: "1h", url: "https://x.example" }, s.ctx).catch(
      (e) => e,
    );
    expect((err as CliError).message).toMatch(/no private key/);
  });
});
