import { LRUCache } from 'lru-cache';
import { parseLosslessJson } from '../core/losslessJson.ts';
import { type AvroNode, resolveAvro } from './avroTypes.ts';
import { type CompatibilityVerdict, compareSchemas } from './compatibility.ts';
import { diffSchemas, type SchemaChange } from './schemaDiff.ts';

/**
 * Parsed schemas, verdicts and diffs keyed by schema hashes. Stored versions are immutable and a hash
 * names its content, so nothing here is ever stale; repeated diffs of large schemas skip the parse
 * and the walk (the runbook's "ensure schema hash and parsed form are cached").
 */
export class SchemaCache {
  private readonly parsed: LRUCache<string, AvroNode>;
  private readonly verdicts: LRUCache<string, CompatibilityVerdict>;
  private readonly diffs: LRUCache<string, SchemaChange[]>;

  constructor(size = Number(process.env.DCR_SCHEMA_CACHE_SIZE ?? 512)) {
    this.parsed = new LRUCache({ max: size });
    this.verdicts = new LRUCache({ max: size * 4 });
    this.diffs = new LRUCache({ max: size });
  }

  /** The parsed form of a stored schema text whose hash is known. */
  schema(hash: string, text: string): AvroNode {
    let node = this.parsed.get(hash);
    if (!node) this.parsed.set(hash, (node = resolveAvro(parseLosslessJson(text))));
    return node;
  }

  remember(hash: string, node: AvroNode): void {
    if (!this.parsed.has(hash)) this.parsed.set(hash, node);
  }

  verdict(oldHash: string, newHash: string, oldNode: AvroNode, newNode: AvroNode): CompatibilityVerdict {
    const key = `${oldHash}>${newHash}`;
    let verdict = this.verdicts.get(key);
    if (!verdict) this.verdicts.set(key, (verdict = compareSchemas(oldNode, newNode)));
    return verdict;
  }

  diff(oldHash: string, newHash: string, oldNode: AvroNode, newNode: AvroNode): SchemaChange[] {
    const key = `${oldHash}>${newHash}`;
    let changes = this.diffs.get(key);
    if (!changes) this.diffs.set(key, (changes = diffSchemas(oldNode, newNode)));
    return changes;
  }
}
