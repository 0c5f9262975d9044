import avro from 'avsc';

/**
 * avsc ignores logical types unless it is given implementations, so on its own it would call a decimal
 * scale change 2 → 4 compatible, against the Avro spec ("Logical Types / Decimal": two decimals match
 * only if their scales and precisions match). The oracle therefore gives avsc a `decimal` whose
 * `_resolve` states that rule and defers everything else to the underlying type; unions, records,
 * names and promotions are still avsc's own resolution, independent of our checker. An invalid decimal
 * throws here, and avsc then falls back to the underlying type, as the spec says readers must.
 */
class OracleDecimal extends avro.types.LogicalType {
  readonly precision: number;
  readonly scale: number;

  constructor(schema: avro.Schema, opts?: unknown) {
    super(schema, opts);
    const { precision, scale = 0 } = schema as { precision?: unknown; scale?: unknown };
    const underlying = this.underlyingType as avro.Type & { size?: number };
    if (!avro.Type.isType(underlying, 'bytes', 'fixed')) throw new Error('decimal needs bytes or fixed');
    if (typeof precision !== 'number' || !Number.isInteger(precision) || precision < 1)
      throw new Error('invalid precision');
    if (typeof scale !== 'number' || !Number.isInteger(scale) || scale < 0 || scale > precision)
      throw new Error('invalid scale');
    if (avro.Type.isType(underlying, 'fixed')) {
      const size = underlying.size ?? 0;
      const maxDigits = size < 1 ? 0 : (2n ** BigInt(8 * size - 1) - 1n).toString().length - 1;
      if (precision > maxDigits) throw new Error('precision too large for the fixed size');
    }
    this.precision = precision;
    this.scale = scale;
  }

  protected override _fromValue(value: unknown) {
    return value;
  }

  protected override _toValue(value: unknown) {
    return value;
  }

  protected override _resolve(type: avro.Type, opts?: unknown) {
    const writer = type instanceof OracleDecimal ? type : null;
    if (writer && (writer.precision !== this.precision || writer.scale !== this.scale)) return undefined;
    try {
      this.underlyingType.createResolver(writer ? writer.underlyingType : type, opts as never);
      return (value: unknown) => value;
    } catch {
      return undefined;
    }
  }
}

// A fresh object each time: avsc keeps its registry of named types in the options it is given.
// Wrapped unions: with a logical type among the branches, avsc otherwise refuses a union whose
// branches map to the same JavaScript type ("ambiguous conversion"), which is a valid Avro schema.
const withDecimals = () =>
  ({
    logicalTypes: { decimal: OracleDecimal },
    wrapUnions: true,
  }) as unknown as Partial<avro.ForSchemaOptions>;

/** The independent oracle of spec §6.6: avsc's own reader/writer resolution. */
export function oracleCanRead(reader: object, writer: object): boolean {
  try {
    avro.Type.forSchema(reader as avro.Schema, withDecimals()).createResolver(
      avro.Type.forSchema(writer as avro.Schema, withDecimals()),
      { ignoreNamespaces: true } as never,
    );
    return true;
  } catch {
    return false;
  }
}

export function oracleCompatibility(
  oldSchema: object,
  newSchema: object,
): 'both' | 'backward' | 'forward' | 'none' {
  const backward = oracleCanRead(newSchema, oldSchema);
  const forward = oracleCanRead(oldSchema, newSchema);
  return backward ? (forward ? 'both' : 'backward') : forward ? 'forward' : 'none';
}
