/**
 * Signs preview tokens (the CLI's `edgeflags preview`, and tests). Never imported by the worker, which
 * only verifies (src/preview/token.ts). WebCrypto only, through jose.
 */
import { CompactSign } from "jose";
import type { SigningKey } from "../snapshot/sign";
import {
  MAX_PREVIEW_LIFETIME_SECONDS,
  MAX_PREVIEW_TOKEN_LENGTH,
  PREVIEW_TYP,
  type PreviewPayload,
  previewLifetimeCheck,
  previewPayloadProblem,
} from "./token";

export interface PreviewInput {
  environment: string;
  flags: Record<string, string>;
  /** Seconds from `now` until the token expires. */
  lifetimeSeconds: number;
  /** Bind the overrides to this targeting key. */
  sub?: string;
  /** Epoch ms of signing; default now. */
  now?: number;
  /** Longest lifetime to allow (default and cap: MAX_PREVIEW_LIFETIME_SECONDS). */
  maxLifetimeSeconds?: number;
}

/** The payload for `input`, or an Error saying what the worker would refuse. */
export function previewPayload(input: PreviewInput): PreviewPayload {
  const now = input.now ?? Date.now();
  const iat = Math.floor(now / 1000);
  const payload: PreviewPayload = {
    environment: input.environment,
    flags: input.flags,
    iat,
    exp: iat + Math.floor(input.lifetimeSeconds),
    ...(input.sub === undefined ? {} : { sub: input.sub }),
  };
  const shape = previewPayloadProblem(payload);
  if (shape) throw new Error(`the preview token would be refused: ${shape}`);
  const max = Math.min(
    input.maxLifetimeSeconds ?? MAX_PREVIEW_LIFETIME_SECONDS,
    MAX_PREVIEW_LIFETIME_SECONDS,
  );
  if (previewLifetimeCheck(payload, now, max)) {
    throw new Error(
      `a preview token lives from 1 second to ${max} seconds, not ${payload.exp - payload.iat}`,
    );
  }
  return payload;
}

/** Signs `payload` as a compact JWS with the preview `typ` and the key's `kid`. */
export async function signPreviewToken(payload: PreviewPayload, signer: SigningKey): Promise<string> {
  const bytes = new TextEncoder().encode(JSON.stringify(payload));
  const token = await new CompactSign(bytes)
    .setProtectedHeader({ alg: signer.alg, kid: signer.kid, typ: PREVIEW_TYP })
    .sign(signer.key);
  if (token.length > MAX_PREVIEW_TOKEN_LENGTH) {
    throw new Error(
      `the token is ${token.length} characters, more than a cookie holds (${MAX_PREVIEW_TOKEN_LENGTH}): preview fewer flags`,
    );
  }
  return token;
}
