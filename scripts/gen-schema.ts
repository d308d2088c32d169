/**
 * Generates schema/flags.schema.json (JSON Schema draft-07, for editors) from the valibot schema plus
 * the prose in src/flags/schema-docs.ts, and src/flags/shape.generated.ts (the worker's shape check,
 * see gen-shape.ts). `npm run schema` writes both; tests check they are current.
 */
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type JsonSchema, toJsonSchema } from "@valibot/to-json-schema";
import type { GenericSchema } from "valibot";
import * as s from "../src/flags/schema";
import { SCHEMA_DOCS } from "../src/flags/schema-docs";
import { generateShapeChecker, SHAPE_FILE } from "./gen-shape";

export const SCHEMA_FILE = fileURLToPath(new URL("../schema/flags.schema.json", import.meta.url));
const SCHEMA_ID = "https://edgeflags.dev/schema/flags.schema.json";

/** Named definitions, so editors show "Rule" or "Split" rather than an anonymous object. */
const DEFINITIONS: Record<string, GenericSchema> = {
  Flag: s.FlagSchema,
  Rule: s.RuleSchema,
  Condition: s.ConditionSchema.getter(undefined),
  AttributeCondition: s.AttributeConditionSchema,
  SegmentCondition: s.SegmentConditionSchema,
  Serve: s.ServeSchema.getter(undefined),
  Fallthrough: s.FallthroughSchema.getter(undefined),
  Split: s.SplitSchema,
  ProgressiveSplit: s.ProgressiveSplitSchema,
  RolloutStep: s.RolloutStepSchema,
  Schedule: s.ScheduleSchema,
  WeeklyWindow: s.WeeklyWindowSchema,
  Prerequisite: s.PrerequisiteSchema,
  Geo: s.GeoRuleSchema,
  GeoLists: s.GeoListsSchema,
  Segment: s.SegmentSchema,
  SegmentRule: s.SegmentRuleSchema,
  Gate: s.GateSchema,
  GateDeny: s.GateDenySchema.getter(undefined),
  GateDenyStatus: s.GateDenyStatusSchema,
  GateDenyRedirect: s.GateDenyRedirectSchema,
  GateDenyRewrite: s.GateDenyRewriteSchema,
  Guard: s.GuardSchema,
  GuardRelative: s.GuardRelativeSchema,
};

type Mutable = Record<string, unknown> & {
  properties?: Record<string, JsonSchema & Record<string, unknown>>;
};

function document(json: Mutable, name: string): JsonSchema {
  const docs = SCHEMA_DOCS[name];
  if (!docs) return json;
  for (const [field, description] of Object.entries(docs.fields)) {
    const property = json.properties?.[field];
    if (!property) throw new Error(`schema-docs: ${name}.${field} is not a field of the schema`);
    // draft-07 ignores keywords next to $ref, so a described reference goes through allOf.
    json.properties![field] = property.$ref
      ? { description, allOf: [property] }
      : { description, ...property };
  }
  for (const field of Object.keys(json.properties ?? {})) {
    if (!(field in docs.fields)) throw new Error(`schema-docs: ${name}.${field} has no description`);
  }
  return { title: docs.title, description: docs.description, ...json };
}

/** The JSON Schema of a flags file, as the text written to schema/flags.schema.json. */
export function generateJsonSchema(): string {
  const json = toJsonSchema(s.FlagsDocumentSchema, {
    target: "draft-07",
    definitions: DEFINITIONS,
    // JSON numbers are finite already.
    overrideAction: ({ valibotAction, jsonSchema }) =>
      valibotAction.type === "finite" ? jsonSchema : undefined,
    overrideSchema({ valibotSchema, jsonSchema, referenceId }) {
      if (valibotSchema === s.JsonValueSchema)
        return { description: "Any JSON value: null, boolean, number, string, list or map." };
      if (valibotSchema.type === "union" && valibotSchema.expects.includes("number")) {
        return { type: ["string", "number", "boolean"] };
      }
      const name = valibotSchema === s.FlagsDocumentSchema ? "FlagsDocument" : referenceId;
      return name ? document(jsonSchema as Mutable, name) : undefined;
    },
  });
  const { $schema, $defs, ...rest } = json;
  const ordered = { $schema, $id: SCHEMA_ID, ...rest, $defs };
  return `${JSON.stringify(ordered, null, 2)}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(SCHEMA_FILE, generateJsonSchema());
  console.log(`wrote ${SCHEMA_FILE}`);
  writeFileSync(SHAPE_FILE, generateShapeChecker());
  console.log(`wrote ${SHAPE_FILE}`);
}
