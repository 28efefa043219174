/** Calibration: Ed25519 signatures per second on this core (node:crypto, one-shot). */
import { generateKeyPairSync, sign } from 'node:crypto'

const { privateKey } = generateKeyPairSync('ed25519')
const data = Buffer.alloc(400, 7)
for (let i = 0; i < 2000; i++) sign(null, data, privateKey)
const started = performance.now()
let n = 0
while (performance.now() - started < 2000) {
  sign(null, data, privateKey)
  n++
}
console.log(Math.round(n / ((performance.now() - started) / 1000)))
