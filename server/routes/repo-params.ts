import { Type, type Static } from '@sinclair/typebox'
import type { FastifyRequest } from 'fastify'
import type { RepoRow, RepoType } from '../../storage/db/repos-table.js'
import type { Context } from '../context.js'
import { errors } from '../errors.js'
import { typeFromSegment, type RepoId } from '../protocol/repo-id.js'
import { BadEncodingError, rawSegments, revisionAndPath } from '../protocol/url-path.js'

/** `/api/{types}/{ns}/{name}/…` parameters. */
export const ApiRepoParams = Type.Object({
  // Any segment: an unknown type (`kernels`, docs/hub-api.md §1.2) is a missing repo (apiRepoId), not a 400.
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

type RepoIdOf = (request: FastifyRequest) => RepoId

const urlIds = new WeakSet<RepoIdOf>()

function fromUrl(id: RepoIdOf): RepoIdOf {
  urlIds.add(id)
  return id
}

/**
 * Whether `id` is one of the functions below, which read the repo id from the URL. Only such a
 * request may be redirected to a moved repo's new id: the same request with an id from the body
 * would be sent back to its own URL, again and again (issue 13, item 7).
 */
export function readsUrl(id: RepoIdOf): boolean {
  return urlIds.has(id)
}

/** The repo of `/api/{types}/{ns}/{name}/…`; an unknown type is a missing repo, whoever asks. */
export const apiRepoId = fromUrl((request) => {
  const params = request.params as ApiRepoParams
  const type = typeFromSegment(params.types)
  if (!type) throw errors.repoNotFound()
  return { type, namespace: params.ns, name: params.name }
})

/** The repo of a file URL (`/{prefix}{ns}/{name}/…`) whose prefix names `type`. */
export function fileRepoId(type: RepoType): RepoIdOf {
  return fromUrl((request) => {
    const params = request.params as FileRepoParams
    return { type, namespace: params.ns, name: params.name }
  })
}

/** The repo of a git or git-lfs URL, whose name carries git's `.git` suffix or not. */
export function gitRepoId(type: RepoType): RepoIdOf {
  return fromUrl((request) => {
    const params = request.params as FileRepoParams
    return { type, namespace: params.ns, name: stripGit(params.name) }
  })
}

/** The repo name in git and LFS URLs carries git's `.git` suffix; accept it with or without. */
function stripGit(name: string): string {
  return name.endsWith('.git') ? name.slice(0, -4) : name
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
