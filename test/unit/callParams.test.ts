/**
 * The tools/call handler is registered with the 3-arg form (src/README.md D49): it reads the
 * request's params as they came, after the SDK's own spec check, instead of the copy a second
 * parse with the same schema made. For any request the spec accepts, the name and arguments are
 * the same either way, and CALL_PARAMS lets through exactly those.
 */
import { specTypeSchemas } from '@modelcontextprotocol/server';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CALL_PARAMS } from '../../src/server/mcpServerFactory.ts';

const specCheck = (request: unknown) => specTypeSchemas.CallToolRequest['~standard'].validate(request);
const narrow = (params: unknown) => CALL_PARAMS['~standard'].validate(params);

/** Arguments as they arrive, parsed from JSON; `__proto__` is refused by the SDK's envelope check before this. */
const args = fc
  .dictionary(
    fc.string().filter((key) => key !== '__proto__'),
    fc.jsonValue(),
  )
  .map((value) => JSON.parse(JSON.stringify(value)) as Record<string, unknown>);

describe('tools/call params read once (D49)', () => {
  it('the spec-parsed name and arguments equal the raw ones for any request the spec accepts', () => {
    fc.assert(
      fc.property(fc.string(), fc.option(args, { nil: undefined }), (name, callArgs) => {
        const params = { name, ...(callArgs !== undefined ? { arguments: callArgs } : {}) };
        const parsed = specCheck({ method: 'tools/call', params });
        expect(parsed.issues).toBeUndefined();
        const value = (parsed as { value: { params: { name: string; arguments?: unknown } } }).value.params;
        expect(value.name).toBe(name);
        expect(value.arguments).toStrictEqual(callArgs);
        expect(narrow(params)).toEqual({ value: params });
      }),
      { numRuns: 300 },
    );
  });

  it.each([
    ['no name', { arguments: {} }],
    ['a number for a name', { name: 7 }],
    ['a list of arguments', { name: 'x', arguments: [1] }],
    ['null arguments', { name: 'x', arguments: null }],
    ['string arguments', { name: 'x', arguments: 'a=1' }],
    ['no params', undefined],
  ])('CALL_PARAMS refuses %s, as the spec does', (_why, params) => {
    expect((specCheck({ method: 'tools/call', params })).issues).toBeDefined();
    expect(narrow(params).issues).toBeDefined();
  });
});
