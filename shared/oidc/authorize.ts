/**
 * The authorization code flow after the request is valid (RFC 6749 §4.1, OpenID Connect Core
 * §3.1.2): authenticate the person (or reuse their session), ask consent where needed, issue
 * a code. Steps that need the person go through an interaction: the request is kept server
 * side under a random handle while they sign in and consent.
 */
import { digestOf, randomToken } from '../crypto/random.ts'
import {
  consumeInteraction,
  findConsent,
  insertAuthorizationCode,
  insertPendingRequest,
  type PendingRequest,
} from '../db/authorization.ts'
import type { Queryable } from '../db/database.ts'
import { oauthDescription } from '../http/errors.ts'
import { type Reply, redirect } from '../http/reply.ts'
import type { Client } from '../oauth/clients.ts'
import type { RequestScope } from '../request-scope.ts'
import { AuthorizationRedirectError, type AuthorizationRequest } from './authorization-request.ts'
import { authorizationResponse } from './authorization-response.ts'
import { verifyIdTokenHint } from './id-token.ts'
import { policyOf } from './policy.ts'
import { codeForSignedIn, signedInOf } from './sessions.ts'

type Ctx = RequestScope

/** Redirects an error to the client (RFC 6749 §4.1.2.1), with iss (RFC 9207). */
export function errorResponse(issuer: string, err: AuthorizationRedirectError): Reply {
  return authorizationResponse(err.target, {
    error: err.code,
    error_description: oauthDescription(err.message),
    state: err.target.state,
    iss: issuer,
  })
}

/** Keeps a request for the pages that need the person; returns its URL-safe handle. */
export async function startInteraction(
  q: Queryable,
  ctx: Ctx,
  request: AuthorizationRequest,
): Promise<string> {
  const handle = randomToken()
  await insertPendingRequest(q, ctx.org.id, {
    handleDigest: digestOf(handle),
    kind: 'interaction',
    clientId: request.clientId,
    parameters: request as unknown as Record<string, unknown>,
    ttlSeconds: policyOf(ctx.org).interactionSeconds,
  })
  return handle
}

export interface Interaction {
  readonly handle: string
  readonly pending: PendingRequest
}

/**
 * Takes a valid request as far as it can go: a code for the client, or a page for the
 * person (login, consent), or an error for the client.
 */
export async function authorize(
  ctx: Ctx,
  client: Client,
  request: AuthorizationRequest,
  interaction?: Interaction,
): Promise<Reply> {
  try {
    return await proceed(ctx, client, request, interaction)
  } catch (err) {
    if (err instanceof AuthorizationRedirectError) return errorResponse(ctx.org.issuer, err)
    throw err
  }
}

async function proceed(
  ctx: Ctx,
  client: Client,
  request: AuthorizationRequest,
  interaction?: Interaction,
): Promise<Reply> {
  const target = {
    redirectUri: request.redirectUri,
    state: request.state,
    responseMode: request.responseMode,
  }
  const fail = (
    code: ConstructorParameters<typeof AuthorizationRedirectError>[0],
    description: string,
  ): never => {
    throw new AuthorizationRedirectError(code, description, target)
  }
  // Before the transaction: checking the hint may read keys through the pool, and a
  // transaction must never wait for a second connection.
  let hintSubject: string | undefined
  if (request.idTokenHint) {
    const hint = await verifyIdTokenHint(ctx.runtime, ctx.org, request.idTokenHint)
    if (!hint) fail('invalid_request', 'id_token_hint is not an ID token issued here')
    hintSubject = hint!.sub
  }
  const code = randomToken()
  const codeDigest = digestOf(code)
  const policy = policyOf(ctx.org)
  // What the code records of the request, whichever way it is issued.
  const asked = {
    clientId: client.clientId,
    redirectUri: request.redirectUri,
    scope: request.scope,
    nonce: request.nonce ?? null,
    codeChallenge: request.codeChallenge ?? null,
    resource: request.resource ?? null,
  }
  const issuedResponse = () =>
    authorizationResponse(target, { code, state: request.state, iss: ctx.org.issuer })

  // Single sign-on's common case, a signed-in browser asking for nothing that needs a look at
  // the session first (no prompt, max_age, hint or authorization details, no interaction):
  // one statement finds the session and stores the code. When it cannot, nothing is written
  // and the steps below decide what the person sees.
  const plain =
    !interaction &&
    request.prompt.length === 0 &&
    request.maxAge === undefined &&
    !request.idTokenHint &&
    !request.authorizationDetails?.length
  if (plain) {
    const issued = await codeForSignedIn(ctx, {
      ...asked,
      digest: codeDigest,
      firstParty: client.firstParty,
      ttlSeconds: policy.authorizationCodeSeconds,
    })
    if (issued) return issuedResponse()
  }

  // With an interaction, consuming it and storing the code are one transaction. Without one,
  // nothing here writes anything a later step would need to undo (the session's touch, a new
  // interaction, the code), so each statement runs on its own in one round trip (ctx.db).
  const decide = async (q: Queryable) => {
    const live = await signedInOf(q, ctx)
    const authenticatedHere =
      live !== undefined &&
      interaction?.pending.sessionId === live.sessionId &&
      interaction.pending.authenticatedAt !== null
    const tooOld =
      live !== undefined &&
      request.maxAge !== undefined &&
      Date.now() - live.authTime.getTime() > request.maxAge * 1000
    const needsLogin =
      !live ||
      (!authenticatedHere &&
        (request.prompt.includes('login') ||
          tooOld ||
          (hintSubject !== undefined && hintSubject !== live.userId)))
    if (needsLogin) {
      if (request.prompt.includes('none')) fail('login_required', 'the user must sign in')
      const handle = interaction?.handle ?? (await startInteraction(q, ctx, request))
      return redirect(`${ctx.org.issuer}/auth/login?interaction=${handle}`, 303)
    }

    if (!client.firstParty) {
      const consented = interaction?.pending.consentedAt != null
      const remembered = await findConsent(q, live.userId, client.clientId)
      const covered = remembered !== undefined && request.scope.every((s) => remembered.includes(s))
      const needsConsent =
        !consented &&
        (request.prompt.includes('consent') || !covered || (request.authorizationDetails?.length ?? 0) > 0)
      if (needsConsent) {
        if (request.prompt.includes('none')) fail('consent_required', 'the user must consent')
        const handle = interaction?.handle ?? (await startInteraction(q, ctx, request))
        return redirect(`${ctx.org.issuer}/auth/consent?interaction=${handle}`, 303)
      }
    }

    if (interaction && !(await consumeInteraction(q, interaction.pending.id)))
      fail('invalid_request', 'this authorization request was already completed')
    await insertAuthorizationCode(
      q,
      ctx.org.id,
      codeDigest,
      {
        ...asked,
        userId: live.userId,
        sessionId: live.sessionId,
        authorizationDetails: request.authorizationDetails ? [...request.authorizationDetails] : null,
        authTime: live.authTime,
        amr: live.amr,
        acr: null,
      },
      policy.authorizationCodeSeconds,
    )
    return issuedResponse()
  }
  return interaction ? ctx.db.transaction(decide) : decide(ctx.db)
}
