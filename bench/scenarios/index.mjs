/** Benchmark scenarios, in the order they run. Later issues add theirs here. */
import { coldStart } from './cold-start.mjs'
import { readiness } from './readiness.mjs'

export const SCENARIOS = [coldStart, readiness]
