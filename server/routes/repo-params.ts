import { Type, type Static } from '@sinclair/typebox'
import type { FastifyRequest } from 'fastify'
import type { RepoRow, RepoType } from '../../storage/db/repos-repo.js'
import type { Action } from '../auth/access.js'
import type { Context } from '../context.js'
import { errors } from '../errors.js'
import { typeFromSegment } from '../protocol/repo-id.js'
import { BadEncodingError, rawSegments, revisionAndPath } from '../protocol/url-path.js'

/** `/api/{types}/{ns}/{name}/…` parameters. */
export const ApiRepoParams = Type.Object({
  // Any segment: an unknown type (`kernels`, docs/hub-api.md §1.2) is a missing repo (apiRepo), not a 400.
  types: Type.String(),
  ns: Type.String(),
  name: Type.String(),
  '*': Type.Optional(Type.String()),
})
export type ApiRepoParams = Static<typeof ApiRepoParams>

/** `/{prefix}{ns}/{name}/…` parameters of file and git URLs (the type comes from the prefix). */
export const FileRepoParams = Type.Object({ ns: Type.String(), name: Type.String(), '*': Type.Optional(Type.String()) })
export type FileRepoParams = Static<typeof FileRepoParams>

/** The three file-URL prefixes and the repo type each serves. */
export const FILE_PREFIXES: readonly { prefix: string; type: RepoType }[] = [
  { prefix: '', type: 'model' },
  { prefix: '/datasets', type: 'dataset' },
  { prefix: '/spaces', type: 'space' },
]

export function apiRepo(ctx: Context, request: FastifyRequest, params: ApiRepoParams, action: Action): RepoRow {
  const type = typeFromSegment(params.types)
  if (!type) throw errors.repoNotFound()
  return ctx.repos.get(type, params.ns, params.name, request.actor, action)
}

/**
 * The raw (still percent-encoded) URL segments after the first `skip` ones. Revisions and paths
 * are parsed from these, never from Fastify's decoded params (docs/hub-api.md §1.4).
 */
export function rawTail(request: FastifyRequest, skip: number): string[] {
  return rawSegments(request.url).slice(skip)
}

/** What a file or tree URL names: its revision and path, and the commit the revision resolved to. */
export interface UrlTarget {
  rev: string
  path: string
  commit: string
}

/**
 * Parses the revision and path from `url`'s segments after the first `skip` (docs/hub-api.md §1.4) and
 * resolves the revision against the shared view of the refs, remembering the answer with that
 * view: as long as no ref moves, the same URL skips both (bench/README.md, metadata).
 */
export async function urlTarget(ctx: Context, repo: RepoRow, url: string, skip: number, refs = ctx.content.refs(repo)): Promise<UrlTarget> {
  const key = `target:${skip}:${url}`
  const known = ctx.content.remembered<UrlTarget>(refs, key)
  if (known) return known
  const { rev, path } = await decoding(() => revisionAndPath(rawSegments(url).slice(skip), (name) => ctx.content.isRef(repo, name, refs)))
  const { commit } = await ctx.content.resolve(repo, rev, refs)
  return ctx.content.remember<UrlTarget>(refs, key, { rev, path, commit })
}

/** Maps a bad percent-encoding to a 400 instead of a 500. */
export async function decoding<T>(fn: () => Promise<T> | T): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    if (err instanceof BadEncodingError) throw errors.badRequest(err.message)
    throw err
  }
}

/**
 * For routes whose JSON body is optional (clients send none at all): an absent body validates
 * as `{}` instead of failing the schema.
 */
export async function optionalBody(request: FastifyRequest): Promise<void> {
  if (request.body === undefined || request.body === null) request.body = {}
}
