/**
 * Listing a KV namespace, and reading version numbers back from key names. I/O through the
 * namespace given.
 */

/** The part of a KV namespace (a binding, or Miniflare's) that listing needs. */
export interface ListableKv {
  list(options: { prefix: string; cursor?: string }): Promise<{
    keys: { name: string }[];
    list_complete: boolean;
    cursor?: string;
  }>;
}

/** Every key under `prefix`, ascending (KV lists in key order; versions are zero-padded). */
export async function listKeys(kv: ListableKv, prefix: string): Promise<string[]> {
  const names: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await kv.list({ prefix, cursor });
    for (const k of page.keys) names.push(k.name);
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor);
  return names;
}

/**
 * The versions named by `names` under `prefix`, newest first. Only canonical names count (`key(v)`
 * gives the name back): a publish never writes any other, so the rest cannot be history.
 */
export function versionsIn(names: string[], prefix: string, key: (version: number) => string): number[] {
  const out: number[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const version = Number(name.slice(prefix.length));
    if (Number.isSafeInteger(version) && version >= 1 && key(version) === name) out.push(version);
  }
  return out.sort((a, b) => b - a);
}
