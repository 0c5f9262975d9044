import { FirestoreDocumentStore } from '../../shared/adapters/firestoreDocumentStore.ts';
import { describeDocumentStoreContract } from './documentStore.contract.ts';

// The worker's own emulator project (test/support/workerSetup.ts); the contract keeps to paths of its own.
describeDocumentStoreContract(
  'FirestoreDocumentStore on the Firestore emulator',
  () => new FirestoreDocumentStore(),
);
