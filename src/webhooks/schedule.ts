/** How long a delivery is retried before it is marked failed. */
export const RETRY_WINDOW_MS = 24 * 60 * 60 * 1000

const FIRST_RETRY_MS = 10_000
const LONGEST_WAIT_MS = 60 * 60 * 1000

/**
 * When to try a failed delivery again: exponential backoff from 10 s, doubling up to one hour between attempts,
 * with ±20 % jitter so that a receiver coming back from an outage is not hit by every retry at once. The last
 * attempt is made at the end of the 24-hour window; after it, `null`: give up.
 */
export function nextAttemptAt(
  attemptsMade: number,
  createdAt: Date,
  now: Date,
  random: () => number = Math.random,
): Date | null {
  const deadline = createdAt.getTime() + RETRY_WINDOW_MS
  if (now.getTime() >= deadline) return null
  const exponent = Math.min(Math.max(attemptsMade - 1, 0), 20)
  const wait = Math.min(FIRST_RETRY_MS * 2 ** exponent, LONGEST_WAIT_MS)
  const jittered = wait * (0.8 + 0.4 * random())
  return new Date(Math.min(now.getTime() + jittered, deadline))
}
