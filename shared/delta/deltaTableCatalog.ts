import type { DocumentStore } from '../adapters/documentStore.ts';
import type { Scope } from '../auth/principal.ts';
import { sha256Hex } from '../core/hashing.ts';
import { rootAncestors } from './deltaPaths.ts';

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

/** The table that holds a location, as a refusal names it. */
export interface LocationOwner {
  table_id: string;
  name: string;
  root: string;
  /** `same`: it is at this root; `contains`: this root is inside it; `inside`: it is inside this root. */
  relation: 'same' | 'contains' | 'inside';
}

export type CreateTableResult =
  | { status: 'created'; table: DeltaTable }
  | { status: 'exists'; table: DeltaTable }
  | { status: 'location_in_use'; owner: LocationOwner };

/**
 * The claim document of one root (keyed by the hash of the normalised root): `table_id`/`name` when a
 * table sits exactly there, `nested_tables` counting the tables below it and naming one of them.
 */
interface LocationClaim {
  root: string;
  table_id?: string;
  name?: string;
  nested_tables?: number;
  nested_example?: { table_id: string; name: string; root: string };
}

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

  private locationPath(root: string) {
    return `${this.base()}/deltaTableLocations/${sha256Hex(root)}`;
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

  /**
   * Creates the table and claims its name and its root in one Firestore transaction, so of concurrent
   * creates on one name or one root exactly one wins. An existing name returns its table (whatever its
   * root: the caller compares definitions). A root held by another table, inside another table's root,
   * or containing other tables is refused as `location_in_use` naming one such table, with nothing
   * written. Every ancestor of the root counts the tables below it, which is what lets a later create
   * of an enclosing root see them with point reads alone (a transaction cannot query).
   */
  async create(table: DeltaTable): Promise<CreateTableResult> {
    return this.documents.runTransaction(async (tx) => {
      const claimed = await tx.get<{ table_id: string }>(this.namePath(table.name));
      if (claimed) {
        const existing = await tx.get<DeltaTable>(this.tablePath(claimed.data.table_id));
        return { status: 'exists', table: existing!.data };
      }
      const ancestors = rootAncestors(table.root);
      const [own, ...above] = (
        await tx.getMany<LocationClaim>([table.root, ...ancestors].map((root) => this.locationPath(root)))
      ).map((claim) => claim?.data);
      if (own?.table_id)
        return {
          status: 'location_in_use',
          owner: { table_id: own.table_id, name: own.name!, root: own.root, relation: 'same' },
        };
      const enclosing = above.find((claim) => claim?.table_id);
      if (enclosing)
        return {
          status: 'location_in_use',
          owner: {
            table_id: enclosing.table_id!,
            name: enclosing.name!,
            root: enclosing.root,
            relation: 'contains',
          },
        };
      if (own?.nested_tables && own.nested_example)
        return { status: 'location_in_use', owner: { ...own.nested_example, relation: 'inside' } };
      const example = { table_id: table.table_id, name: table.name, root: table.root };
      tx.create(this.namePath(table.name), { table_id: table.table_id, name: table.name });
      tx.create(this.tablePath(table.table_id), table);
      tx.set(this.locationPath(table.root), {
        ...own,
        root: table.root,
        table_id: table.table_id,
        name: table.name,
      });
      ancestors.forEach((root, i) => {
        const claim = above[i];
        tx.set(this.locationPath(root), {
          ...claim,
          root,
          nested_tables: (claim?.nested_tables ?? 0) + 1,
          nested_example: claim?.nested_example ?? example,
        });
      });
      return { status: 'created', table };
    });
  }
}
