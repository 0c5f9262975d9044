import { registerAppFunction } from '../../shared/http/appFunction.ts';
import { createRebuildApp } from './app.ts';

registerAppFunction('rebuild', createRebuildApp);
