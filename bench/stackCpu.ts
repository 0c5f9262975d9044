import { readdirSync, readFileSync } from 'node:fs';

/** Linux clock ticks per second (USER_HZ), the unit of /proc/<pid>/stat's CPU times. */
const TICKS_PER_SECOND = 100;

/**
 * CPU seconds (user + system) used so far by this process and every live process under it (the
 * function processes, the stand-ins, the emulators' JVMs and the bench's worker), in total and by
 * process. Read from Linux's /proc/<pid>/stat (fields 4 `ppid`, 14 `utime`, 15 `stime`); null
 * elsewhere. Two readings bracket a shape, so what the stack spends per task is measured however
 * busy or noisy the machine is, and `byProcess` shows which part of the stack spends it.
 */
export function stackCpuSeconds(): { total: number; byProcess: Map<string, number> } | null {
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return null;
  }
  const parents = new Map<number, number>();
  const ticks = new Map<number, number>();
  for (const name of entries) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // After the command name, which is in parentheses and may hold spaces: field 3 onwards.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    parents.set(Number(name), Number(fields[1]));
    ticks.set(Number(name), Number(fields[11]) + Number(fields[12]));
  }
  const inTree = (pid: number): boolean => {
    for (let at: number | undefined = pid; at !== undefined && at > 1; at = parents.get(at))
      if (at === process.pid) return true;
    return false;
  };
  let total = 0;
  const byProcess = new Map<string, number>();
  for (const [pid, used] of ticks) {
    if (!inTree(pid)) continue;
    total += used;
    const label = processLabel(pid);
    byProcess.set(label, (byProcess.get(label) ?? 0) + used / TICKS_PER_SECOND);
  }
  return { total: total / TICKS_PER_SECOND, byProcess };
}

/**
 * What a process of the stack is, from its command line: a function's name (the JSON argument of
 * `local/functionProcess.ts`), `stand-ins`, `firestore emulator`, `pubsub emulator`, `worker` or
 * `bench` (this process and anything unrecognised).
 */
function processLabel(pid: number): string {
  if (pid === process.pid) return 'bench';
  let command: string;
  try {
    command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return 'bench';
  }
  const functionName = /functionProcess\.ts \{"name":"([^"]+)"/.exec(command)?.[1];
  if (functionName) return functionName;
  if (command.includes('standInsProcess')) return 'stand-ins';
  if (command.includes('cloud-firestore-emulator')) return 'firestore emulator';
  if (command.includes('pubsub-emulator')) return 'pubsub emulator';
  if (command.includes('instantWorker')) return 'worker';
  return 'bench';
}

/**
 * The CPU spent between two readings of `stackCpuSeconds`, by process, in milliseconds per `units`
 * (tasks or requests), largest first: `compaction 12.3, stand-ins 8.1, …`. Processes below
 * 0.05 ms/unit are left out; "n/a" when /proc could not be read.
 */
export function cpuBreakdown(
  before: ReturnType<typeof stackCpuSeconds>,
  after: ReturnType<typeof stackCpuSeconds>,
  units: number,
): string {
  if (!before || !after) return 'n/a';
  return [...after.byProcess]
    .map(
      ([label, seconds]) => [label, ((seconds - (before.byProcess.get(label) ?? 0)) * 1000) / units] as const,
    )
    .filter(([, ms]) => ms >= 0.05)
    .sort((a, b) => b[1] - a[1])
    .map(([label, ms]) => `${label} ${ms.toFixed(1)}`)
    .join(', ');
}
