/**
 * Code references (`edgeflags refs`): which of a flags file's keys an application's code names, and
 * where. `matcher` finds keys in one text (pure), `patterns` holds the default wrapper patterns for
 * common SDKs, `walk` lists the files to read (honouring .gitignore files and include/exclude globs),
 * `scan` reads them (one read and one matcher pass each; binary and large files skipped), and `report`
 * turns the references into findings: unknown keys with a "did you mean", unreferenced flags, expired
 * flags still in the code (pure, `now` passed in). Only `walk` and `scan` do I/O.
 */
export { compileMatcher, type Hit, type Matcher, scanText } from "./matcher";
export { DEFAULT_PATTERNS } from "./patterns";
export { analyseRefs, isExpired, type RefsAnalysis } from "./report";
export { type ScanResult, scanFiles } from "./scan";
export { suggestKey } from "./suggest";
export { type WalkOptions, walkFiles } from "./walk";
