import avro from 'avsc';

/** The independent oracle of spec §6.6: avsc's own reader/writer resolution. */
export function oracleCanRead(reader: object, writer: object): boolean {
  try {
    avro.Type.forSchema(reader as avro.Schema).createResolver(avro.Type.forSchema(writer as avro.Schema), {
      ignoreNamespaces: true,
    } as never);
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
