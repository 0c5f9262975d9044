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
  } else if (process.env.ARCO_DEBUG) throw error;
  else {
    // A bug of ours: one line for the user, the stack only when asked for.
    process.stderr.write(
      `arco: unexpected error: ${(error as Error).message ?? String(error)} (ARCO_DEBUG=1 shows where)\n`,
    );
    process.exitCode = 1;
  }
}
// The progress poller may leave a timer behind after a detach; the exit code is already decided.
if (process.exitCode === 130) process.exit(130);
