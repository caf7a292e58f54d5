// What every scenario returns: one row of RELIABILITY.md, and the reasons it failed, if it did.
export interface ScenarioResult {
  scenario: string
  load: string
  /** one-line verdict, e.g. "503 in ≤ 180 ms during the outage; served again 1.2 s after" */
  result: string
  /** the measured numbers, `name value` pairs */
  figures: string[]
  /** assertions that did not hold; empty when the scenario passed */
  failures: string[]
}

export interface ScenarioContext {
  /** length of the held-load scenario */
  minutes: number
  log(message: string): void
}

export type Scenario = (context: ScenarioContext) => Promise<ScenarioResult>

/** Collects failed expectations instead of throwing, so a scenario reports every figure it measured. */
export class Expectations {
  readonly failures: string[] = []

  that(condition: boolean, description: string): boolean {
    if (!condition) this.failures.push(description)
    return condition
  }
}

export const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`
export const millis = (ms: number) => `${Math.round(ms)} ms`
export const mebibytes = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`
export const userIds = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => `${prefix}-${i}`)
