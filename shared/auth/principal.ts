export const ROLES = ['operator', 'producer', 'consumer'] as const;
export type Role = (typeof ROLES)[number];

export interface Scope {
  tenant: string;
  workspace: string;
}

/** Who is calling, as proven by a verified token. Scope never comes from a request body. */
export interface Principal {
  subject: string;
  /** Absent only for an internal identity that was not minted for one workspace. */
  scope?: Scope;
  roles: Role[];
  internal: boolean;
}

export const SCOPE_ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}
