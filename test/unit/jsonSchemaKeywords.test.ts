// The one list of JSON Schema keywords codegen reads, merges, narrows and prints by
// (src/codegen/jsonSchemaKeywords.ts): the lists agree with each other, and each rule as a table.

import { describe, expect, it } from 'vitest';
import {
  ASSERTION_KEYWORDS,
  INPUT_VALUE_KEYWORDS,
  KEYWORD_TYPES,
  keywordApplies,
  LOWER_BOUNDS,
  PRINT_ORDER,
  tighterBound,
  typesOf,
  UPPER_BOUNDS,
  VALUE_KEYWORDS,
} from '../../src/codegen/jsonSchemaKeywords.ts';
import { NARROWING_KEYS } from '../../src/codegen/manifest.ts';
import { distributeOverAlternatives } from '../../src/codegen/distributeKeywords.ts';
import { mergeViews, SpecDocument } from '../../src/codegen/schemaView.ts';

describe('the keyword lists agree', () => {
  const carried = new Set<string>(VALUE_KEYWORDS);

  it('every type-specific keyword, bound and assertion is carried from the spec', () => {
    for (const k of [...Object.keys(KEYWORD_TYPES), ...UPPER_BOUNDS, ...LOWER_BOUNDS, ...ASSERTION_KEYWORDS]) expect(carried, k).toContain(k);
  });

  it('every bound constrains one kind of value, and no keyword bounds both ways', () => {
    for (const k of [...UPPER_BOUNDS, ...LOWER_BOUNDS]) expect(Object.keys(KEYWORD_TYPES), k).toContain(k);
    expect(UPPER_BOUNDS.filter((k) => (LOWER_BOUNDS as readonly string[]).includes(k))).toEqual([]);
  });

  it('every keyword an input schema keeps has a print position', () => {
    for (const k of INPUT_VALUE_KEYWORDS) expect(PRINT_ORDER, k).toContain(k);
    expect(INPUT_VALUE_KEYWORDS).not.toContain('readOnly');
  });

  it("every keyword the manifest narrows by that constrains one type is in the type table", () => {
    const typed = NARROWING_KEYS.filter((k) => k in KEYWORD_TYPES);
    expect(typed).toEqual(['minimum', 'maximum', 'minLength', 'maxLength', 'pattern', 'minItems', 'maxItems']);
  });
});

describe('rules', () => {
  it.each([
    ['maxLength', 3, 5, 3],
    ['maxItems', 9, 2, 2],
    ['exclusiveMaximum', 10, 11, 10],
    ['minLength', 3, 5, 5],
    ['exclusiveMinimum', -1, 0, 0],
    ['multipleOf', 2, 3, undefined],
  ] as const)('tighterBound(%s, %d, %d) = %s', (keyword, a, b, want) => {
    expect(tighterBound(keyword, a, b)).toBe(want);
  });

  it.each([
    ['maxLength', ['string'], true],
    ['maxLength', ['integer', 'null'], false],
    ['minimum', ['integer'], true],
    ['uniqueItems', ['object'], false],
    ['pattern', [], false],
    ['enum', ['object'], true], // not type-specific: applies to every type
  ] as const)('keywordApplies(%s, %j) = %s', (keyword, types, want) => {
    expect(keywordApplies(keyword, types)).toBe(want);
  });

  it.each([
    [{ type: 'string' }, ['string']],
    [{ type: ['string', 'null'] }, ['string', 'null']],
    [{ enum: [1] }, null],
  ])('typesOf(%j) = %j', (schema, want) => {
    expect(typesOf(schema)).toEqual(want);
  });
});

describe('the places that use them', () => {
  it('allOf merging keeps the tighter bound and the first multipleOf', () => {
    const doc = new SpecDocument({});
    const view = (schema: object) => doc.view({ schema, loc: 'x' }, { strict: false });
    const merged = mergeViews(view({ type: 'string', maxLength: 10, minLength: 1, multipleOf: 2 }), view({ maxLength: 4, minLength: 3, multipleOf: 3 }));
    expect(merged.kw).toMatchObject({ maxLength: 4, minLength: 3, multipleOf: 2 });
  });

  it('keywords beside anyOf move into the branches they constrain, tightening their own', () => {
    const out = distributeOverAlternatives({ anyOf: [{ type: 'string', maxLength: 50 }, { type: 'integer' }], maxLength: 20, minimum: 1 });
    expect(out).toEqual({ anyOf: [{ type: 'string', maxLength: 20 }, { type: 'integer', minimum: 1 }] });
  });
});
