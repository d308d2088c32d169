/**
 * The operator console: a small read-only web UI served by the worker under /console. It shows the
 * live flags, each flag's definition, history and evaluation counts, the version each location
 * serves, and the CLI command for every action (it holds no signing key and changes nothing).
 * Server-rendered HTML with one inline stylesheet, no scripts; signed in with the publish token or
 * CONSOLE_TOKEN through a short-lived signed session cookie (docs/console.md).
 */
export { consoleRoutes } from "./routes";
