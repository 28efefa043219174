/** Users in the admin API: request schemas and the JSON view (OpenID Connect Core §5.1 names). */
import * as z from 'zod'
import type { User } from '../db/users.ts'

// NIST SP 800-63B §3.1.1.2: length matters, composition rules do not; no upper limit below 64.
export const Password = z.string().min(12, { message: 'must be at least 12 characters' }).max(256)

const Address = z.strictObject({
  formatted: z.string().max(500).optional(),
  street_address: z.string().max(300).optional(),
  locality: z.string().max(200).optional(),
  region: z.string().max(200).optional(),
  postal_code: z.string().max(40).optional(),
  country: z.string().max(100).optional(),
})

const text = (max: number) => z.string().trim().min(1).max(max)
const url = z.url({ protocol: /^https?$/ }).max(2000)

const fields = {
  email: z.email().max(320),
  email_verified: z.boolean(),
  name: text(200).nullable(),
  given_name: text(100).nullable(),
  family_name: text(100).nullable(),
  middle_name: text(100).nullable(),
  nickname: text(100).nullable(),
  preferred_username: text(100).nullable(),
  profile: url.nullable(),
  picture: url.nullable(),
  website: url.nullable(),
  gender: text(50).nullable(),
  birthdate: z
    .string()
    .regex(/^(\d{4}|\d{4}-\d{2}-\d{2}|0000-\d{2}-\d{2})$/, {
      message: 'must be YYYY, YYYY-MM-DD or 0000-MM-DD',
    })
    .nullable(),
  zoneinfo: text(100).nullable(),
  locale: z
    .string()
    .regex(/^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$/, { message: 'must be a BCP 47 language tag' })
    .nullable(),
  phone_number: z
    .string()
    .regex(/^\+?[0-9 ().-]{4,30}(;ext=\d+)?$/, { message: 'must be a phone number (E.164 preferred)' })
    .nullable(),
  phone_number_verified: z.boolean(),
  address: Address.nullable(),
  is_active: z.boolean(),
}

export const CreateUser = z.strictObject({
  ...Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, v.optional()])),
  email: fields.email,
  password: Password.optional(),
}) as unknown as z.ZodType<
  Partial<z.output<z.ZodObject<typeof fields>>> & { email: string; password?: string }
>

export const UpdateUser = z
  .strictObject(Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, v.optional()])))
  .refine((v) => Object.keys(v).length > 0, {
    message: 'must change at least one field',
  }) as unknown as z.ZodType<Partial<z.output<z.ZodObject<typeof fields>>>>

export type UserInput = Partial<z.output<z.ZodObject<typeof fields>>>

export const SetPassword = z.strictObject({ password: Password })
export const UserParams = z.object({ id: z.uuid() })

const PROFILE_KEYS = [
  'middle_name',
  'nickname',
  'preferred_username',
  'profile',
  'picture',
  'website',
  'gender',
  'birthdate',
  'zoneinfo',
  'address',
] as const

/** The stored form of a create or update (profile claims merged into the current profile). */
export function toStored(input: UserInput, current?: User) {
  const profile: Record<string, unknown> = { ...(current?.profile ?? {}) }
  for (const key of PROFILE_KEYS) {
    if (input[key] === null) delete profile[key]
    else if (input[key] !== undefined) profile[key] = input[key]
  }
  const pick = <T>(value: T | undefined, fallback: T) => (value === undefined ? fallback : value)
  return {
    email: pick(input.email, current?.email ?? ''),
    emailVerified: pick(input.email_verified, current?.emailVerified ?? false),
    name: pick(input.name, current?.name ?? null),
    givenName: pick(input.given_name, current?.givenName ?? null),
    familyName: pick(input.family_name, current?.familyName ?? null),
    phoneNumber: pick(input.phone_number, current?.phoneNumber ?? null),
    phoneNumberVerified: pick(input.phone_number_verified, current?.phoneNumberVerified ?? false),
    locale: pick(input.locale, current?.locale ?? null),
    profile,
    isActive: pick(input.is_active, current?.isActive ?? true),
  }
}

export function userView(u: User) {
  return {
    id: u.id,
    email: u.email,
    email_verified: u.emailVerified,
    name: u.name,
    given_name: u.givenName,
    family_name: u.familyName,
    ...u.profile,
    locale: u.locale,
    phone_number: u.phoneNumber,
    phone_number_verified: u.phoneNumberVerified,
    is_active: u.isActive,
    has_password: u.passwordHash !== null,
    password_changed_at: u.passwordChangedAt?.toISOString() ?? null,
    created_at: u.createdAt.toISOString(),
    updated_at: u.updatedAt.toISOString(),
  }
}

/**
 * A user as the API answers it (userView): the OpenID Connect standard claims, of which the
 * profile claims appear only when set, and the account's state. Never a password hash.
 */
export const UserResource = z.object({
  id: z.uuid(),
  email: z.string(),
  email_verified: z.boolean(),
  name: z.string().nullable(),
  given_name: z.string().nullable(),
  family_name: z.string().nullable(),
  ...Object.fromEntries(PROFILE_KEYS.map((k) => [k, fields[k].unwrap().optional()])),
  locale: z.string().nullable(),
  phone_number: z.string().nullable(),
  phone_number_verified: z.boolean(),
  is_active: z.boolean(),
  has_password: z.boolean(),
  password_changed_at: z.iso.datetime().nullable(),
  created_at: z.iso.datetime(),
  updated_at: z.iso.datetime(),
})
