import { registerAppFunction } from '../../shared/http/appFunction.ts';
import { createTaskCompletionApp } from './app.ts';

registerAppFunction('task-completion', createTaskCompletionApp);
