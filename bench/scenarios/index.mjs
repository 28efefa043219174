/** Benchmark scenarios, in the order they run. */
import { calibration } from './calibration.mjs'
import { coldStart } from './cold-start.mjs'
import { memoryLimits } from './memory-limits.mjs'
import { oidc } from './oidc.mjs'
import { readiness } from './readiness.mjs'
import { tokenService } from './token-service.mjs'

export const SCENARIOS = [calibration, coldStart, memoryLimits, readiness, tokenService, oidc]
