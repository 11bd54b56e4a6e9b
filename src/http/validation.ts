import { Ajv, type Options as AjvOptions } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

export function makeAjv(coerce: boolean, externalSchemas: Record<string, unknown>): Ajv {
  const options: AjvOptions = {
    allErrors: true,
    // Unknown fields are refused (400), not silently dropped.
    removeAdditional: false,
    useDefaults: true,
    // Bodies keep their JSON types (a number is not a string); query strings and params are text and get coerced.
    coerceTypes: coerce ? 'array' : false,
    strict: false,
  };
  const ajv = new Ajv(options);
  addFormats(ajv);
  for (const schema of Object.values(externalSchemas)) ajv.addSchema(schema as object);
  return ajv;
}

/** Bodies are validated strictly, query strings and params with type coercion. */
export function buildValidator(externalSchemas: Record<string, unknown>): FastifySchemaCompiler<object> {
  const bodyAjv = makeAjv(false, externalSchemas);
  const textAjv = makeAjv(true, externalSchemas);
  return ({ schema, httpPart }) => (httpPart === 'body' ? bodyAjv : textAjv).compile(schema);
}

/** Validates untrusted input outside HTTP (CLI, Socket.IO) exactly as a JSON body is validated. */
export function createBodyValidator<T>(schema: object) {
  const validate = makeAjv(false, {}).compile<T>(schema);
  return (input: unknown): { ok: true; value: T } | { ok: false; problems: string[] } => {
    if (validate(input)) return { ok: true, value: input };
    return {
      ok: false,
      problems: (validate.errors ?? []).map(
        (e) => `${e.instancePath.slice(1) || 'input'}: ${e.message ?? 'is invalid'}`,
      ),
    };
  };
}
