import type { IdGenerator } from '../adapters/idGenerator.ts';
import type { ObjectStore } from '../adapters/objectStore.ts';
import type { Scope } from '../auth/principal.ts';
import { uuidv7 } from '../core/uuid.ts';
import { DeltaPayloadError, validateDeltaPayload } from './deltaActions.ts';
import { type DeltaCommitCoordinator, DeltaCommitError } from './deltaCommitCoordinator.ts';
import { InvalidLocationError, stagingPrefix, tableRoot } from './deltaPaths.ts';
import type { DeltaTable, DeltaTableCatalog } from './deltaTableCatalog.ts';

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
   * keyed by the table id. Creating the same name with the same definition again answers the existing
   * table (finishing version 0 if a crash interrupted it); another definition is a conflict.
   */
  async create(request: CreateTableRequest): Promise<{ created: boolean; table: DeltaTable }> {
    const tableId = uuidv7(this.now().getTime());
    let root: string;
    try {
      root = tableRoot(tableId, request.location, this.scope);
    } catch (error) {
      if (error instanceof InvalidLocationError)
        throw new DeltaCommitError(400, 'invalid_location', error.message);
      throw error;
    }
    const candidate: DeltaTable = {
      table_id: tableId,
      name: request.name,
      location: request.location ?? null,
      root,
      partition_columns: request.partition_columns ?? [],
      schema_string: request.schema_string ?? EMPTY_SCHEMA,
      format: 'delta',
      created_at: this.now().toISOString(),
    };
    const result = await this.catalog.create(candidate);
    const table = result.table;
    if (result.status === 'exists' && !sameDefinition(table, candidate))
      throw new DeltaCommitError(409, 'table_exists', `a table named ${request.name} already exists`, {
        existing_id: table.table_id,
      });
    await this.ensureVersionZero(table);
    return { created: result.status === 'created', table };
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

  /** Stores a commit payload create-only under the table's staging prefix. */
  async stage(table: DeltaTable, payload: string): Promise<StagedCommit> {
    try {
      validateDeltaPayload(payload, Number.NaN);
    } catch (error) {
      if (error instanceof DeltaPayloadError)
        throw new DeltaCommitError(
          400,
          'invalid_payload',
          `payload is not a valid Delta commit: ${error.message}`,
          {
            line: error.line,
          },
        );
      throw error;
    }
    const stagedPath = `${stagingPrefix(table.table_id)}${this.ids.next()}.json`;
    const put = await this.objects.put(stagedPath, payload, {
      ifGenerationMatch: 0,
      contentType: 'application/x-ndjson',
    });
    if (put.status !== 'written')
      throw new DeltaCommitError(409, 'staging_path_exists', 'staging path exists, retry');
    return { staged_path: stagedPath, staged_version: put.generation };
  }
}

function sameDefinition(a: DeltaTable, b: DeltaTable): boolean {
  return (
    a.location === b.location &&
    a.schema_string === b.schema_string &&
    JSON.stringify(a.partition_columns) === JSON.stringify(b.partition_columns)
  );
}
