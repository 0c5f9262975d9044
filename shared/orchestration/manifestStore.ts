import type { DocumentStore } from '../adapters/documentStore.ts';
import type { Scope } from '../auth/principal.ts';
import type { CodeLocationManifest } from './codeLocationManifest.ts';

export const WORKSPACE_REGISTRY = 'arco_workspaces';

/** Manifests are create-only: a process keeps the ones it read (read-only), so a trigger reads one pointer. */
const manifests = new Map<string, CodeLocationManifest>();
const MAX_CACHED_MANIFESTS = 200;

/** Deployed code-location manifests (Firestore), and which one is the latest. */
export class ManifestStore {
  constructor(
    private readonly documents: DocumentStore,
    private readonly scope: Scope,
  ) {}

  private get base() {
    return `tenants/${this.scope.tenant}/workspaces/${this.scope.workspace}`;
  }

  /**
   * Stores the manifest and makes it the latest in one transaction, and lists the workspace in the
   * registry the automation tick walks (the local autotick; Cloud Scheduler's job in GCP).
   */
  async deploy(manifest: CodeLocationManifest): Promise<void> {
    await this.documents.runTransaction(async (tx) => {
      tx.set(`${WORKSPACE_REGISTRY}/${this.scope.tenant}__${this.scope.workspace}`, {
        tenant: this.scope.tenant,
        workspace: this.scope.workspace,
      });
      tx.create(`${this.base}/codeLocationManifests/${manifest.manifestId}`, manifest);
      tx.set(`${this.base}/orchestrationConfig/latestManifest`, {
        manifestId: manifest.manifestId,
        deployedAt: manifest.deployedAt,
      });
    });
  }

  async latest(): Promise<CodeLocationManifest | null> {
    const pointer = await this.documents.get<{ manifestId: string }>(
      `${this.base}/orchestrationConfig/latestManifest`,
    );
    if (!pointer) return null;
    const path = `${this.base}/codeLocationManifests/${pointer.data.manifestId}`;
    const cached = manifests.get(path);
    if (cached) return cached;
    const manifest = (await this.documents.get<CodeLocationManifest>(path))?.data ?? null;
    if (manifest) {
      if (manifests.size >= MAX_CACHED_MANIFESTS) manifests.delete(manifests.keys().next().value!);
      manifests.set(path, manifest);
    }
    return manifest;
  }
}
