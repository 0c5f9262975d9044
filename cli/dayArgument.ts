import { InvalidArgumentError } from 'commander';

/**
 * A day option's value as the API takes it: a calendar day `YYYY-MM-DD`, `today` or `yesterday` (the
 * API resolves those in the pipeline's zone). Anything else is refused by commander before a call,
 * with `use YYYY-MM-DD, today or yesterday`.
 */
export function dayArgument(value: string): string {
  if (value === 'today' || value === 'yesterday') return value;
  const time = /^\d{4}-\d{2}-\d{2}$/.test(value) ? Date.parse(`${value}T00:00:00Z`) : Number.NaN;
  if (Number.isNaN(time) || new Date(time).toISOString().slice(0, 10) !== value)
    throw new InvalidArgumentError('use YYYY-MM-DD, today or yesterday');
  return value;
}
