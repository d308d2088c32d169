/**
 * The default wrapper patterns: calls of common flag SDKs that name a flag key in their first string
 * argument. Each has exactly one capture group, the key. Unlike plain string literals, a key these
 * find that is not in the flags file is reported as unknown (a typo or a deleted flag). Pure data.
 */

/** A flag key as the flags file allows it (NAME_PATTERN in src/flags/schema.ts), for patterns. */
export const KEY = "[A-Za-z0-9][A-Za-z0-9._-]{0,127}";
const Q = "[\"'`]";

/** A documented default pattern: what it is for and the regular expression source. */
export interface NamedPattern {
  name: string;
  source: string;
}

export const DEFAULT_PATTERNS: readonly NamedPattern[] = [
  {
    // client.getBooleanValue("x", false) and getStringDetails/...; Java, .NET (GetBooleanValueAsync).
    name: "OpenFeature (JS, Java, .NET)",
    source: `\\b[gG]et(?:Boolean|String|Number|Integer|Double|Float|Object)(?:Value|Details)(?:Async)?\\(\\s*${Q}(${KEY})${Q}`,
  },
  {
    // client.get_boolean_value("x", False) and the flag_key= keyword form.
    name: "OpenFeature (Python)",
    source: `\\bget_(?:boolean|string|integer|float|object)_(?:value|details)\\(\\s*(?:flag_key\\s*=\\s*)?["'](${KEY})["']`,
  },
  {
    // client.BooleanValue(ctx, "x", false, evalCtx) and the *ValueDetails forms.
    name: "OpenFeature (Go)",
    source: `\\b(?:Boolean|String|Int|Float|Object)Value(?:Details)?\\(\\s*[\\w.]+\\s*,\\s*[\`"](${KEY})[\`"]`,
  },
  {
    // useFlag("x"), useBooleanFlagValue("x", false), useFlagDetails("x") (React and Vue hooks).
    name: "React/Vue hooks",
    source: `\\buse(?:Boolean|String|Number|Object)?Flag(?:Value|Details)?\\(\\s*${Q}(${KEY})${Q}`,
  },
  {
    // isEnabled("x"), is_enabled("x"), IsEnabled("x") (Unleash-style and home-grown wrappers).
    name: "isEnabled",
    source: `\\b(?:isEnabled|is_enabled|IsEnabled)\\(\\s*${Q}(${KEY})${Q}`,
  },
];
