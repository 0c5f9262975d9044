import type { IdGenerator } from '../adapters/idGenerator.ts';
import type { ObjectStore } from '../adapters/objectStore.ts';
import type { Scope } from '../auth/principal.ts';
import { uuidv7 } from '../core/uuid.ts';
import {
  DeltaPayloadError,
  findMetaData,
  InvalidTableDefinitionError,
  partitionColumnsOf,
  validateDeltaPayload,
} from './deltaActions.ts';
import { type DeltaCommitCoordinator, DeltaCommitError, payloadRefusal } from './deltaCommitCoordinator.ts';
import { InvalidLocationError, logPath, rootAncestors, stagingPrefix, tableRoot } from './deltaPaths.ts';
import type { DeltaTable, DeltaTableCatalog, LocationOwner } from './deltaTableCatalog.ts';

export interface CreateTableRequest {
  name: string;
  location?: string;
  partition_columns?: string[];
  schema_string?: string;
}

export const EMPTY_SCHEMA = '{"type":"struct","fields":[]}';

export interface StagedCommit {
  staged_path: string;
  staged_version: string;
}

/** Table lifecycle on top of the catalog and the coordinator: create (with version 0) and stage. */
export class DeltaTables {
  constructor(
    private readonly catalog: DeltaTableCatalog,
    private readonly coordinator: DeltaCommitCoordinator,
    private readonly objects: ObjectStore,
    private readonly ids: IdGenerator,
    private readonly scope: Scope,
    private readonly now: () => Date,
  ) {}

  /**
   * Creates a table and commits its version 0 (protocol + metaData) through the normal commit path,
   * keyed by the table id. Creating the same name with the same definition (same root, schema and
   * partition columns) again answers the existing table (finishing version 0 if a crash interrupted
   * it); another definition is 409 `table_exists`. One root holds one table: a root held by, inside or
   * around another table's is 409 `location_in_use` naming that table, every time and with nothing
   * written. Errors: 400 `invalid_location`, 400 `invalid_table_definition` (schema not a struct, a
   * partition column missing from a non-empty schema or of a nested type).
   */
  async create(request: CreateTableRequest): Promise<{ created: boolean; table: DeltaTable }> {
    const tableId = uuidv7(this.now().getTime());
    let root: string;
    try {
      root = tableRoot(tableId, request.location, this.scope);
    } catch (error) {
      if (error instanceof InvalidLocationError)
        throw new DeltaCommitError('invalid_argument', 'invalid_location', error.message);
      throw error;
    }
    const schemaString = request.schema_string ?? EMPTY_SCHEMA;
    const partitionColumns = request.partition_columns ?? [];
    try {
      partitionColumnsOf({ schemaString, partitionColumns });
    } catch (error) {
      if (error instanceof InvalidTableDefinitionError)
        throw new DeltaCommitError('invalid_argument', 'invalid_table_definition', error.message);
      throw error;
    }
    if (request.location !== undefined) await this.refuseForeignLog(request.name, root);
    const candidate: DeltaTable = {
      table_id: tableId,
      name: request.name,
      location: request.location ?? null,
      root,
      partition_columns: partitionColumns,
      schema_string: schemaString,
      format: 'delta',
      created_at: this.now().toISOString(),
    };
    const result = await this.catalog.create(candidate);
    if (result.status === 'location_in_use') throw locationInUse(root, result.owner);
    const table = result.table;
    const differences = result.status === 'exists' ? definitionDifferences(table, candidate) : [];
    if (differences.length)
      throw new DeltaCommitError(
        'conflict',
        'table_exists',
        `a table named ${request.name} already exists with another ${differences.join(', ')}`,
        { existing_id: table.table_id },
      );
    await this.ensureVersionZero(table);
    return { created: result.status === 'created', table };
  }

  /**
   * Tables created before roots were claimed hold no claim, so their logs are the evidence: a version 0
   * at this root that belongs to another table id, or one at any enclosing root, refuses the create
   * (also for a name that was already, wrongly, registered on that root), and nothing is written.
   * Such a table inside this root cannot be found without listing, so it is not looked for.
   */
  private async refuseForeignLog(name: string, root: string): Promise<void> {
    const roots = [...rootAncestors(root), root];
    const logs = await Promise.all(roots.map((r) => this.objects.get(logPath(r, 0))));
    for (const [i, log] of logs.entries()) {
      if (!log) continue;
      const meta = findMetaData(log.bytes.toString('utf8')) as { id?: string; name?: string } | null;
      if (roots[i] === root) {
        const mine = await this.catalog.findByName(name);
        if (meta?.id !== undefined && meta.id === mine?.table_id && mine.root === root) continue;
      }
      throw locationInUse(root, {
        table_id: meta?.id ?? 'unknown',
        name: meta?.name ?? 'unknown',
        root: roots[i]!,
        relation: roots[i] === root ? 'same' : 'contains',
      });
    }
  }

  private async ensureVersionZero(table: DeltaTable): Promise<void> {
    const state = await this.coordinator.state(table.table_id);
    if (state.latest_version >= 0 && !state.inflight) return;
    const createdMs = Date.parse(table.created_at);
    const payload = [
      { protocol: { minReaderVersion: 1, minWriterVersion: 2 } },
      {
        metaData: {
          id: table.table_id,
          name: table.name,
          format: { provider: 'parquet', options: {} },
          schemaString: table.schema_string,
          partitionColumns: table.partition_columns,
          configuration: {},
          createdTime: createdMs,
        },
      },
      {
        commitInfo: {
          timestamp: createdMs,
          operation: 'CREATE TABLE',
          operationParameters: {},
          engineInfo: 'arco',
        },
      },
    ]
      .map((action) => JSON.stringify(action))
      .join('\n');
    // Version 0 is staged at a path fixed by the table id so a retried creation commits the same request.
    const stagedPath = `${stagingPrefix(table.table_id)}00000000000000000000-create.json`;
    const put = await this.objects.put(stagedPath, `${payload}\n`, { ifGenerationMatch: 0 });
    const stagedVersion =
      put.status === 'written' ? put.generation : (await this.objects.head(stagedPath))!.generation;
    await this.coordinator.commit(
      { tableId: table.table_id, root: table.root },
      { key: table.table_id, read_version: -1, staged_path: stagedPath, staged_version: stagedVersion },
    );
  }

  /**
   * Stores a commit payload create-only under the table's staging prefix, after checking it against
   * the protocol and against the table as it is now (the commit checks again at its read_version).
   * Errors: 400 `invalid_payload` / `invalid_partition_values` naming the line, action index and path.
   */
  async stage(table: DeltaTable, payload: string): Promise<StagedCommit> {
    try {
      validateDeltaPayload(payload, Number.NaN);
    } catch (error) {
      if (error instanceof DeltaPayloadError) throw payloadRefusal(error, 'payload');
      throw error;
    }
    const state = await this.coordinator.state(table.table_id);
    // Before version 0 exists there is no table metaData yet; the commit checks against its own.
    if (state.latest_version >= 0)
      await this.coordinator.checkAgainstTable({ tableId: table.table_id, root: table.root }, state, payload);
    const stagedPath = `${stagingPrefix(table.table_id)}${this.ids.next()}.json`;
    const put = await this.objects.put(stagedPath, payload, {
      ifGenerationMatch: 0,
      contentType: 'application/x-ndjson',
    });
    if (put.status !== 'written')
      throw new DeltaCommitError('conflict', 'staging_path_exists', 'staging path exists, retry');
    return { staged_path: stagedPath, staged_version: put.generation };
  }
}

function locationInUse(root: string, owner: LocationOwner): DeltaCommitError {
  const where = { same: 'is', contains: 'lies inside', inside: 'contains' }[owner.relation];
  return new DeltaCommitError(
    'conflict',
    'location_in_use',
    `location ${root} ${where} the location of table ${owner.name} (${owner.table_id}) at ${owner.root}`,
    { owner_table_id: owner.table_id, owner_name: owner.name, owner_location: owner.root },
  );
}

/**
 * What differs between an existing table and a create request for its name (none: the same table), for
 * the 409 message: a run without a partition key writing a partitioned table reads `partitioning (it has
 * ["date"], the request []), schema` rather than a bare "already exists".
 */
function definitionDifferences(existing: DeltaTable, requested: DeltaTable): string[] {
  const differences: string[] = [];
  if (JSON.stringify(existing.partition_columns) !== JSON.stringify(requested.partition_columns))
    differences.push(
      `partitioning (it has ${JSON.stringify(existing.partition_columns)}, the request ${JSON.stringify(requested.partition_columns)})`,
    );
  if (existing.schema_string !== requested.schema_string) differences.push('schema');
  // Roots, not the spellings callers gave, decide whether two locations are one (`a/b` = `a/b/`).
  if (!(existing.location === null && requested.location === null) && existing.root !== requested.root)
    differences.push(`location (it is at ${existing.root})`);
  return differences;
}
