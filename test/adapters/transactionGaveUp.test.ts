import { describe, expect, it } from 'vitest';
import { transactionGaveUp } from '../../shared/adapters/firestoreDocumentStore.ts';
import { transientBackendError } from '../../shared/http/transientBackendError.ts';

const grpc = (code: number, message = `${code} error`) => Object.assign(new Error(message), { code });

describe('a Firestore transaction whose attempts ran out', () => {
  it('is ABORTED whatever its last attempt ended with, so the API answers 503 retryable', () => {
    for (const last of [
      grpc(10),
      grpc(2),
      grpc(13),
      grpc(3, '3 INVALID_ARGUMENT: transaction has expired'),
    ]) {
      const error = transactionGaveUp(last)!;
      expect(error).toMatchObject({ code: 10, cause: last });
      expect(transientBackendError(error)?.details).toMatchObject({
        retryable: true,
        reason: 'backend_contention',
      });
    }
  });

  it('leaves errors the client does not retry as they are', () => {
    for (const final of [grpc(6), grpc(9), grpc(3, '3 INVALID_ARGUMENT: bad field'), new Error('boom')])
      expect(transactionGaveUp(final)).toBeNull();
  });
});
