/**
 * `npm run bench -- counts`: only the evaluation counts' request-path cost from the http section (the
 * same worker and 100-flag snapshot with counting on and off: whole load runs off/on/off, then
 * request-by-request pairs). I/O: two local workers on loopback.
 */

import { ephemeralSigner } from "../lib/snapshots";
import { countingOverhead } from "./http";
import { betaIds, scenarioDoc } from "./scenario";

export async function run(): Promise<void> {
  const { jwks, sign } = await ephemeralSigner();
  await countingOverhead(jwks, await sign(scenarioDoc(100, betaIds()), { environment: "bench", version: 1 }));
}
