#!/usr/bin/env node
/**
 * The raw Argon2id ceiling of the cores this process runs on, with the server's own password
 * module (same parameters, same native addon), no HTTP and no database: the time of one
 * verification alone, and verifications per second with 1 and with `concurrency` in flight
 * (each for `seconds`; with 0 seconds, the time of one verification only).
 *
 *   node bench/lib/hash-rate.mjs <compiled password module> <seconds> <concurrency>
 */
import { availableParallelism } from 'node:os'
import { pathToFileURL } from 'node:url'

const [modulePath, secondsArg, concurrencyArg] = process.argv.slice(2)
const { hashPassword, verifyPassword, setPasswordHashConcurrency } = await import(
  pathToFileURL(modulePath).href
)
const seconds = Number(secondsArg)
const concurrency = Number(concurrencyArg)
const stored = await hashPassword('bench password')

const single = []
for (let i = 0; i < 15; i++) {
  const t0 = performance.now()
  if (!(await verifyPassword(stored, 'bench password'))) throw new Error('verification failed')
  single.push(performance.now() - t0)
}
single.sort((a, b) => a - b)

async function rate(inFlight) {
  setPasswordHashConcurrency(inFlight)
  let done = 0
  const stop = performance.now() + seconds * 1000
  const t0 = performance.now()
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (performance.now() < stop) {
        await verifyPassword(stored, 'bench password')
        done++
      }
    }),
  )
  return done / ((performance.now() - t0) / 1000)
}

const result = { cores: availableParallelism(), singleMs: single[Math.floor(single.length / 2)] }
if (seconds > 0) {
  const one = await rate(1)
  const many = await rate(concurrency)
  Object.assign(result, { perSecond: { 1: one, [concurrency]: many }, best: Math.max(one, many) })
}
process.stdout.write(JSON.stringify(result))
