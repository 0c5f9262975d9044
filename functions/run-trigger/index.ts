import { registerAppFunction } from '../../shared/http/appFunction.ts';
import { createRunTriggerApp } from './app.ts';

registerAppFunction('run-trigger', createRunTriggerApp);
