import { resolve } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { readStackEnv } from '../local/stackEnv.ts';
import { existingLocalSecret, mintLocalToken } from '../shared/auth/localTokens.ts';
import { isRole, type Role, SCOPE_ID_PATTERN } from '../shared/auth/principal.ts';
import { registerAutomationCommands } from './automationCommands.ts';
import { registerDeltaCommands } from './deltaCommands.ts';
import { registerPipelineCommands } from './pipelineCommands.ts';
import { registerPointerCommands } from './pointerCommands.ts';
import { registerRegistryCommands } from './registryCommands.ts';
import { registerRunCommands } from './runCommands.ts';
import { registerStateCommands } from './stateCommands.ts';
import { registerTriageCommands } from './triageCommands.ts';

const dataDir = () => resolve(process.env.ARCO_DATA_DIR ?? '.arco');

const scopeId = (value: string) => {
  if (!SCOPE_ID_PATTERN.test(value)) throw new InvalidArgumentError('use lowercase letters, digits, - and _');
  return value;
};

const roleList = (value: string): Role[] => {
  const roles = value
    .split(',')
    .map((r) => r.trim())
    .filter(Boolean);
  const unknown = roles.filter((r) => !isRole(r));
  if (unknown.length)
    throw new InvalidArgumentError(`unknown role(s) ${unknown.join(', ')}; use operator, producer, consumer`);
  return roles as Role[];
};

/**
 * The whole `arco` program (every command registered, nothing parsed yet), so tests can walk it; the
 * `arco` and `pipeline` executables parse their argv with it (cli/arco.ts).
 */
export function buildProgram(): Command {
  const program = new Command('arco')
    .description(
      'Operate Arco Serverless: runs, backfills, Delta tables, the contract registry and the local stack.',
    )
    .showHelpAfterError();

  program
    .command('token')
    .description('Print a bearer token for the local stack (signed with the secret in $ARCO_DATA_DIR).')
    .option('--tenant <tenant>', 'tenant id', scopeId)
    .option('--workspace <workspace>', 'workspace id', scopeId)
    .option('--roles <roles>', 'comma-separated roles: operator,producer,consumer', roleList, [])
    .option('--internal', 'an internal identity (task callbacks, /compact, /rebuild, automation)', false)
    .option('--subject <subject>', 'who the token speaks for', undefined)
    .option('--ttl <seconds>', 'lifetime in seconds', (v) => Number.parseInt(v, 10), 12 * 3600)
    .action(async (options) => {
      if (!options.internal && !(options.tenant && options.workspace))
        program.error('error: --tenant and --workspace are required unless --internal is given');
      if (Boolean(options.tenant) !== Boolean(options.workspace))
        program.error('error: give --tenant and --workspace together');
      let secret = '';
      try {
        secret = existingLocalSecret(dataDir());
      } catch (error) {
        program.error(`error: ${(error as Error).message}`);
      }
      const token = await mintLocalToken(secret, {
        tenant: options.tenant,
        workspace: options.workspace,
        roles: options.roles,
        internal: options.internal,
        subject: options.subject,
        ttlSeconds: options.ttl,
      });
      process.stdout.write(`${token}\n`);
      // Still printed (a role-less token is a valid test of 403s), but a user who forgot --roles learns why.
      if (!options.internal && !options.roles.length)
        process.stderr.write(
          'arco token: no --roles given: routes that need a role (operator, producer or consumer) answer 403 to this token\n',
        );
    });

  program
    .command('env')
    .description('Print the export lines of the running local stack ($ARCO_DATA_DIR/stack.env).')
    .action(() => {
      const env = readStackEnv(dataDir());
      if (!env)
        program.error(`error: no ${dataDir()}/stack.env; start the local stack with \`npm start\` first`);
      process.stdout.write(env!);
    });

  registerPipelineCommands(program);
  registerRunCommands(program);
  registerTriageCommands(program);
  registerPointerCommands(program);
  registerAutomationCommands(program);
  registerRegistryCommands(program);
  registerDeltaCommands(program);
  registerStateCommands(program);
  return program;
}
