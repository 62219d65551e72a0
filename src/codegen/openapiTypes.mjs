// openapi-typescript on an already-bundled OpenAPI document, with its default options.
//
// Plain JavaScript (declared in openapiTypes.d.mts) so that it also runs in a worker thread,
// where tsx's loader is not installed: `generate` loads openapi-typescript and the TypeScript
// compiler (~1 s) in a worker while the main thread loads the spec and compiles the tools.
//
// `openapiTS()` first lints and re-bundles its input with its own copy of Redocly, which on a
// 13 MB spec is ~40 % of its time and adds nothing here: loadSpec already bundled the document
// (every `$ref` is local). So this calls openapi-typescript's exported `transformSchema` with the
// context `openapiTS()` builds for default options (openapi-typescript 7.x, src/index.ts), field
// for field; test/unit/codegen.types.test.ts checks the output is byte-identical to `openapiTS()`.
// What its lint would have refused and would break the types is checked in emit.ts (typeBlockers).

import { astToString, resolveRef, scanDiscriminators, transformSchema } from 'openapi-typescript';

/** @param {Record<string, unknown>} spec @returns {string} */
export function openapiTypes(spec) {
  const options = { silent: true };
  /** @type {any} */
  const schema = spec;
  const ctx = {
    additionalProperties: false,
    alphabetize: false,
    arrayLength: false,
    defaultNonNullable: true,
    discriminators: scanDiscriminators(schema, options),
    emptyObjectsUnknown: false,
    enum: false,
    enumValues: false,
    conditionalEnums: false,
    dedupeEnums: false,
    excludeDeprecated: false,
    exportType: false,
    immutable: false,
    rootTypes: false,
    rootTypesNoSchemaPrefix: false,
    rootTypesKeepCasing: false,
    injectFooter: [],
    pathParamsAsTypes: false,
    postTransform: undefined,
    propertiesRequiredByDefault: false,
    // Only openapiTS()'s validateAndBundle reads it, and that is the step skipped here.
    redoc: undefined,
    silent: true,
    inject: undefined,
    transform: undefined,
    transformProperty: undefined,
    makePathsEnum: false,
    generatePathParams: false,
    readWriteMarkers: false,
    /** @param {string} $ref */
    resolve($ref) {
      return resolveRef(schema, $ref, options);
    },
  };
  return astToString(transformSchema(schema, /** @type {any} */ (ctx)));
}
