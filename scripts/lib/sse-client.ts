/**
 * A small Server-Sent Events reader for Node-side tests and benchmarks: reads a fetch response's body and splits it
 * into events and comments, as an EventSource would parse them. I/O: the response body.
 */

export interface SseItem {
  /** Milliseconds since the reader started. */
  at: number;
  /** A comment line (heartbeat), without the colon. */
  comment?: string;
  id?: string;
  retry?: number;
  data?: string;
}

export interface SseReader {
  response: Response;
  items: SseItem[];
  /** Resolves with the first item (from the start) that `match` accepts, or rejects after `timeoutMs`. */
  next(match: (item: SseItem) => boolean, timeoutMs?: number): Promise<SseItem>;
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  close(): void;
}

/** Opens `url` as an event stream. */
export async function openSse(url: string, headers: Record<string, string> = {}): Promise<SseReader> {
  const controller = new AbortController();
  const response = await fetch(url, {
    headers: { accept: "text/event-stream", ...headers },
    signal: controller.signal,
  });
  const items: SseItem[] = [];
  const waiters = new Set<() => void>();
  const started = Date.now();
  const ended = (async () => {
    if (!response.body || response.status !== 200) return;
    const decoder = new TextDecoder();
    let buffer = "";
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end = buffer.indexOf("\n\n");
        while (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const item: SseItem = { at: Date.now() - started };
          for (const line of block.split("\n")) {
            if (line.startsWith(":")) item.comment = line.slice(1).trim();
            else if (line.startsWith("id: ")) item.id = line.slice(4);
            else if (line.startsWith("retry: ")) item.retry = Number(line.slice(7));
            else if (line.startsWith("data: ")) item.data = line.slice(6);
          }
          items.push(item);
          for (const w of waiters) w();
          end = buffer.indexOf("\n\n");
        }
      }
    } catch {
      // aborted
    }
    for (const w of waiters) w();
  })();
  let done = false;
  void ended.then(() => {
    done = true;
  });
  return {
    response,
    items,
    ended,
    close: () => controller.abort(),
    next(match, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const hit = items.find(match);
          if (hit) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(hit);
          } else if (done) {
            waiters.delete(check);
            clearTimeout(timer);
            reject(new Error(`stream ended; got ${JSON.stringify(items)}`));
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no matching event within ${timeoutMs} ms; got ${JSON.stringify(items)}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
  };
}

/** The parsed data of a change notification. */
export function dataOf(item: SseItem): { type: string; etag: string; version: number; lastModified: number } {
  return JSON.parse(item.data ?? "null");
}
