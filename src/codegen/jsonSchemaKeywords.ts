// JSON Schema keywords, listed once for everything in codegen that reads, merges, narrows or
// writes schemas: which keywords a schema view carries, which JSON types each type-specific
// keyword constrains, which way a bound tightens, and the order generated schemas print in.
// One list each, so that reading, merging, narrowing and printing cannot disagree about a keyword.

/**
 * Value keywords a schema view carries from the spec (JSON Schema 2020-12 validation and
 * meta-data vocabularies). Everything else (examples, xml, discriminator, x-*) is dropped.
 */
export const VALUE_KEYWORDS = [
  'description',
  'enum',
  'const',
  'format',
  'pattern',
  'minLength',
  'maxLength',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'multipleOf',
  'minItems',
  'maxItems',
  'uniqueItems',
  'default',
  'readOnly',
  'writeOnly',
] as const;
export type ValueKeyword = (typeof VALUE_KEYWORDS)[number];

/** The value keywords an input schema keeps: all but the read/write markers, which only select properties. */
export const INPUT_VALUE_KEYWORDS: readonly ValueKeyword[] = VALUE_KEYWORDS.filter((k) => k !== 'readOnly' && k !== 'writeOnly');

const NUMBERS = ['integer', 'number'] as const;

/**
 * The JSON types each type-specific keyword constrains (JSON Schema 2020-12 validation §6.2–6.4);
 * a value of any other type ignores the keyword.
 */
export const KEYWORD_TYPES = {
  multipleOf: NUMBERS,
  maximum: NUMBERS,
  exclusiveMaximum: NUMBERS,
  minimum: NUMBERS,
  exclusiveMinimum: NUMBERS,
  maxLength: ['string'],
  minLength: ['string'],
  pattern: ['string'],
  maxItems: ['array'],
  minItems: ['array'],
  uniqueItems: ['array'],
} as const satisfies Record<string, readonly string[]>;

/** The types a schema's `type` keyword lists, or null when it has none (any type). */
export function typesOf(schema: Readonly<Record<string, unknown>>): string[] | null {
  if (typeof schema.type === 'string') return [schema.type];
  if (Array.isArray(schema.type)) return schema.type as string[];
  return null;
}

/** Whether `keyword` can constrain a value of one of `types` (a keyword for any type always can). */
export function keywordApplies(keyword: string, types: readonly string[]): boolean {
  const wants: readonly string[] | undefined = (KEYWORD_TYPES as Record<string, readonly string[] | undefined>)[keyword];
  return wants === undefined || types.some((t) => wants.includes(t));
}

/** Bounds from above: of two values, the smaller admits less. */
export const UPPER_BOUNDS = ['maximum', 'maxLength', 'maxItems', 'exclusiveMaximum'] as const;
/** Bounds from below: of two values, the larger admits less. */
export const LOWER_BOUNDS = ['minimum', 'minLength', 'minItems', 'exclusiveMinimum'] as const;

/** The value that admits less when both sides set bound `keyword`; undefined for any other keyword. */
export function tighterBound(keyword: string, a: number, b: number): number | undefined {
  if ((UPPER_BOUNDS as readonly string[]).includes(keyword)) return Math.min(a, b);
  if ((LOWER_BOUNDS as readonly string[]).includes(keyword)) return Math.max(a, b);
  return undefined;
}

/**
 * Keywords that assert something about a value rather than describe it or hold subschemas: the
 * ones that may move from beside `anyOf`/`oneOf` into each branch without changing the meaning.
 */
export const ASSERTION_KEYWORDS = [
  'maxLength',
  'minLength',
  'pattern',
  'format',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'multipleOf',
  'maxItems',
  'minItems',
  'uniqueItems',
  'enum',
  'const',
] as const;

/** The order keywords print in generated schemas; others follow, alphabetically. */
export const PRINT_ORDER = [
  'type',
  'title',
  'description',
  'enum',
  'const',
  'format',
  'pattern',
  'minLength',
  'maxLength',
  'minimum',
  'exclusiveMinimum',
  'maximum',
  'exclusiveMaximum',
  'multipleOf',
  'items',
  'minItems',
  'maxItems',
  'uniqueItems',
  'properties',
  'required',
  'additionalProperties',
  'anyOf',
  'allOf',
  'default',
] as const;
