import { registerAppFunction } from '../../shared/http/appFunction.ts';
import { createApiApp } from './app.ts';

registerAppFunction('api', createApiApp);
