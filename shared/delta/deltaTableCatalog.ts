import type { DocumentStore } from '../adapters/documentStore.ts';
import type { Scope } from '../auth/principal.ts';
import { sha256Hex } from '../core/hashing.ts';

/** A managed Delta table in a workspace's catalog. */
export interface DeltaTable {
  table_id: string;
  name: string;
  /** The location as the caller gave it, or null for the default `tables/{id}`. */
  location: string | null;
  /** Scope-relative root of the table's files. */
  root: string;
  partition_columns: string[];
  schema_string: string;
  format: 'delta';
  created_at: string;
}

export type CreateTableResult =
  { status: 'created'; table: DeltaTable } | { status: 'exists'; table: DeltaTable };

/** Tables and their per-workspace unique names, in Firestore under the tenant/workspace path. */
export class DeltaTableCatalog {
  constructor(
    private readonly documents: DocumentStore,
    private readonly scope: Scope,
  ) {}

  private base() {
    return `tenants/${this.scope.tenant}/workspaces/${this.scope.workspace}`;
  }

  private tablePath(tableId: string) {
    return `${this.base()}/deltaTables/${tableId}`;
  }

  private namePath(name: string) {
    return `${this.base()}/deltaTableNames/${sha256Hex(name)}`;
  }

  async get(tableId: string): Promise<DeltaTable | null> {
    return (await this.documents.get<DeltaTable>(this.tablePath(tableId)))?.data ?? null;
  }

  async findByName(name: string): Promise<DeltaTable | null> {
    const entry = await this.documents.get<{ table_id: string }>(this.namePath(name));
    return entry ? this.get(entry.data.table_id) : null;
  }

  async list(limit: number): Promise<DeltaTable[]> {
    const rows = await this.documents.query<DeltaTable>(`${this.base()}/deltaTables`, {
      orderBy: [['name', 'asc']],
      limit,
    });
    return rows.map((r) => r.data);
  }

  /** Creates the table and claims its name in one transaction; an existing name returns its table. */
  async create(table: DeltaTable): Promise<CreateTableResult> {
    return this.documents.runTransaction(async (tx) => {
      const claimed = await tx.get<{ table_id: string }>(this.namePath(table.name));
      if (claimed) {
        const existing = await tx.get<DeltaTable>(this.tablePath(claimed.data.table_id));
        return { status: 'exists', table: existing!.data };
      }
      tx.create(this.namePath(table.name), { table_id: table.table_id, name: table.name });
      tx.create(this.tablePath(table.table_id), table);
      return { status: 'created', table };
    });
  }
}
