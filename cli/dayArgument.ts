import { InvalidArgumentError } from 'commander';
import { isCalendarDay } from '../shared/orchestration/pipeline/decide.ts';

/**
 * A day option's value as the API takes it: a calendar day `YYYY-MM-DD`, `today` or `yesterday` (the
 * API resolves those in the pipeline's zone). Anything else is refused by commander before a call,
 * with `use YYYY-MM-DD, today or yesterday`.
 */
export function dayArgument(value: string): string {
  if (value === 'today' || value === 'yesterday') return value;
  if (!isCalendarDay(value)) throw new InvalidArgumentError('use YYYY-MM-DD, today or yesterday');
  return value;
}
