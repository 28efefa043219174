/**
 * Private keys at rest (DESIGN.md §5): AES-256-GCM under a key derived by HKDF-SHA256 from
 * MASTER_KEY, bound to the organization and kid both through the derivation and as
 * additional authenticated data, so a sealed key copied to another row does not open.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto'

const SALT = 'zenoauth/signing-key/v1'
const IV_BYTES = 12
const TAG_BYTES = 16

/** A sealed key that does not open: another MASTER_KEY sealed it, or it was tampered with. */
export class KeyDecryptionError extends Error {
  readonly code = 'ERR_KEY_DECRYPTION'
}

function keyFor(masterKey: Buffer, binding: string): Buffer {
  return Buffer.from(hkdfSync('sha256', masterKey, SALT, binding, 32))
}

const bindingOf = (organizationId: string, kid: string) => `${organizationId}/${kid}`

/** IV ‖ ciphertext ‖ tag. */
export function sealPrivateKey(
  masterKey: Buffer,
  organizationId: string,
  kid: string,
  pkcs8: Buffer,
): Buffer {
  const binding = bindingOf(organizationId, kid)
  const iv = randomBytes(IV_BYTES)
  const cipher = createCipheriv('aes-256-gcm', keyFor(masterKey, binding), iv)
  cipher.setAAD(Buffer.from(binding))
  const ciphertext = Buffer.concat([cipher.update(pkcs8), cipher.final()])
  return Buffer.concat([iv, ciphertext, cipher.getAuthTag()])
}

/** @throws KeyDecryptionError when the key does not open with this MASTER_KEY and binding. */
export function openPrivateKey(
  masterKey: Buffer,
  organizationId: string,
  kid: string,
  sealed: Buffer,
): Buffer {
  const binding = bindingOf(organizationId, kid)
  try {
    const decipher = createDecipheriv('aes-256-gcm', keyFor(masterKey, binding), sealed.subarray(0, IV_BYTES))
    decipher.setAAD(Buffer.from(binding))
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES))
    return Buffer.concat([
      decipher.update(sealed.subarray(IV_BYTES, sealed.length - TAG_BYTES)),
      decipher.final(),
    ])
  } catch {
    throw new KeyDecryptionError(
      `signing key ${kid} does not decrypt: MASTER_KEY is not the one that encrypted it, or the key was altered`,
    )
  }
}
