/** Benchmark scenarios, in the order they run. */
import { calibration } from './calibration.mjs'
import { coldStart } from './cold-start.mjs'
import { oidc } from './oidc.mjs'
import { readiness } from './readiness.mjs'
import { tokenService } from './token-service.mjs'

export const SCENARIOS = [calibration, coldStart, readiness, tokenService, oidc]
