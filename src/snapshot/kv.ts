/** Listing a KV namespace: every key under a prefix, across pages. I/O through the namespace given. */

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
