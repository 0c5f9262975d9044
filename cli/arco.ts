import { CliError, CliExit } from './apiCall.ts';
import { buildProgram } from './program.ts';

const program = buildProgram();

// `pipeline X` is `arco pipeline X` (the runbook writes `pipeline run …`).
const argv =
  process.env.ARCO_CLI_AS === 'pipeline'
    ? [...process.argv.slice(0, 2), 'pipeline', ...process.argv.slice(2)]
    : process.argv;
try {
  await program.parseAsync(argv);
} catch (error) {
  if (error instanceof CliExit) process.exitCode = error.code;
  else if (error instanceof CliError) {
    process.stderr.write(`arco: ${error.message}\n`);
    process.exitCode = 1;
  } else throw error;
}
// The progress poller may leave a timer behind after a detach; the exit code is already decided.
if (process.exitCode === 130) process.exit(130);
