// Plain clients: keep a page's flags current. The worker says when they change; re-fetch then.
const base = "https://flags.example.com";
let flags = {};
async function loadFlags(version) {
  const query = new URLSearchParams({ targetingKey: user.id });
  if (version) query.set("flagConfigEtag", version); // never answered from an older version
  const res = await fetch(`${base}/v1/flags?${query}`);
  if (res.ok) ({ flags } = await res.json());
  render(flags);
}
function listen() {
  const events = new EventSource(`${base}/v1/events`); // reconnects by itself, with Last-Event-ID
  events.onmessage = (e) => loadFlags(JSON.parse(e.data).etag);
  events.onerror = () => events.readyState === EventSource.CLOSED && setTimeout(listen, 10_000); // 503
}
await loadFlags();
listen();
