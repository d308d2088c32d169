/**
 * The one-flag document the event-stream tests and benchmark publish: `banner`, client-visible, on or
 * killed (off), so that each publish changes what a page shows.
 */
import type { FlagsDocument } from "../../src/flags/types";

export function bannerDoc(enabled: boolean): FlagsDocument {
  return {
    flags: {
      banner: {
        clientVisible: true,
        enabled,
        variants: { on: true, off: false },
        offVariant: "off",
        fallthrough: "on",
      },
    },
  };
}
