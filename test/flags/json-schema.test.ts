/** The committed JSON Schema is what the generator produces now, and it documents every field. */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { generateJsonSchema, SCHEMA_FILE } from "../../scripts/gen-schema";

describe("schema/flags.schema.json", () => {
  it("is up to date (run `npm run schema` after changing the schema)", () => {
    expect(readFileSync(SCHEMA_FILE, "utf8")).toBe(generateJsonSchema());
  });

  it("is draft-07, allows $schema, and describes every object and field", () => {
    const schema = JSON.parse(generateJsonSchema());
    expect(schema.$schema).toBe("http://json-schema.org/draft-07/schema#");
    expect(schema.properties.$schema.type).toBe("string");
    const objects = [schema, ...Object.values(schema.$defs)] as {
      type?: string;
      title?: string;
      properties?: Record<string, { description?: string }>;
    }[];
    for (const o of objects.filter((x) => x.type === "object" && x.properties)) {
      expect(o.title).toBeTruthy();
      for (const [field, property] of Object.entries(o.properties!)) {
        expect(property.description, `${o.title}.${field}`).toBeTruthy();
      }
    }
  });
});
