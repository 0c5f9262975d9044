import { registerAppFunction } from '../../shared/http/appFunction.ts';
import { createDeltaCommitApp } from './app.ts';

registerAppFunction('delta-commit', createDeltaCommitApp);
