import { registerAppFunction } from '../../shared/http/appFunction.ts';
import { createCompactionApp } from './app.ts';

registerAppFunction('compaction', createCompactionApp);
