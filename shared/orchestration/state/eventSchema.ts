import { validator } from '../../http/jsonBody.ts';
import type { OrchestrationEvent } from './events.ts';

/**
 * The ledger envelope as stored (orchestration spec §5.1). Payloads are checked by the fold's guards; the
 * envelope fields the fold and the compactor rely on are checked here, on append and on read.
 */
export const validateEnvelope = validator<OrchestrationEvent>(
  {
    type: 'object',
    required: [
      'eventId',
      'eventType',
      'eventVersion',
      'timestamp',
      'source',
      'tenantId',
      'workspaceId',
      'idempotencyKey',
      'data',
    ],
    properties: {
      eventId: { type: 'string', pattern: '^[0-9A-HJKMNP-TV-Z]{26}$' },
      eventType: { type: 'string', pattern: '^[A-Z][A-Za-z]+$' },
      eventVersion: { const: 1 },
      timestamp: { type: 'string', format: 'date-time' },
      source: { type: 'string', minLength: 1 },
      tenantId: { type: 'string', minLength: 1 },
      workspaceId: { type: 'string', minLength: 1 },
      idempotencyKey: { type: 'string', minLength: 1, maxLength: 2048 },
      correlationId: { type: 'string' },
      causationId: { type: 'string' },
      data: {
        type: 'object',
        required: ['type'],
        properties: { type: { type: 'string', pattern: '^[a-z_]+$' } },
      },
    },
  },
  'ledger event',
);
