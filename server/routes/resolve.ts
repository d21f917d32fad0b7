import type { OutgoingHttpHeaders } from 'node:http'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Context } from '../context.js'
import { errors, HubError } from '../errors.js'
import { parseRange } from '../protocol/range.js'
import { BlobNotFoundError } from '../../storage/blobs/blob-store.js'
import { contentTypeFor, contentDisposition } from '../protocol/content-type.js'
import { FILE_PREFIXES, FileRepoParams, fileRepoId, urlTarget } from './repo-params.js'
import type { RefSnapshot } from '../../storage/git/ref-snapshot.js'
import type { RepoRow } from '../../storage/db/repos-table.js'

const HEX40 = /^[0-9a-f]{40}$/

/**
 * GET|HEAD /{prefix}{repo}/resolve/{rev}/{path} and …/raw/… (docs/hub-api.md §7), served directly (mode A):
 * LFS content streams from the blob store with Range support, metadata comes from the index.
 * `raw` serves the git blob as stored (the pointer, for LFS files).
 */
export function resolveRoute(app: FastifyInstance, ctx: Context) {
  for (const { prefix, type } of FILE_PREFIXES) {
    const skip = (prefix ? 1 : 0) + 3
    for (const kind of ['resolve', 'raw'] as const) {
      app.route<{ Params: FileRepoParams }>({
        method: ['GET', 'HEAD'],
        url: `${prefix}/:ns/:name/${kind}/*`,
        schema: { params: FileRepoParams },
        config: { repo: { id: fileRepoId(type), action: 'read' } },
        handler: async (request, reply) => {
          const repo = request.repo
          const refs = ctx.content.refs(repo) // read once for parsing and resolving
          const f = ctx.content.remembered<FileAnswer>(refs, `${kind}:${request.url}`) ?? (await locate(ctx, repo, refs, kind, request.url, skip))
          // The Hub counts every GET or HEAD of a model's query file (config.json by default).
          if (kind === 'resolve') ctx.downloads.record(repo, f.path)
          reply.headers(f.headers)
          if (f.xet && request.method === 'GET' && /application\/vnd\.xet-fileinfo\+json/.test(request.headers.accept ?? '')) {
            return reply.type('application/vnd.xet-fileinfo+json').send({ ...f.xet, etag: f.etag, size: f.size })
          }
          if (request.headers['if-none-match'] === f.etag) return reply.code(304).send()
          return sendBody(ctx, request, reply, { size: f.size, lfsOid: f.lfsOid, blobOid: f.blobOid, repo })
        },
      })
    }
  }
}

/** What a resolve or raw URL answers, bar the body: the same for every request under one view of the refs. */
interface FileAnswer {
  path: string
  size: number
  lfsOid: string | null
  blobOid: string
  etag: string
  headers: Record<string, string>
  xet: { hash: string; refreshUrl: string; reconstructionUrl: string } | null
}

/**
 * Parses and resolves `url`'s revision and path to a file (or throws), and remembers the answer
 * with the refs it was resolved against (`ContentService.remember`): as long as no ref moves, the
 * next request for this URL skips all of it (bench/README.md, metadata).
 */
async function locate(ctx: Context, repo: RepoRow, refs: RefSnapshot, kind: 'resolve' | 'raw', url: string, skip: number): Promise<FileAnswer> {
  const { rev, path, commit } = await urlTarget(ctx, repo, url, skip, refs)
  const entry = path === '' ? null : await ctx.content.entry(repo, commit, path)
  if (!entry || entry.type !== 'file') throw errors.entryNotFound(commit)
  const lfs = kind === 'resolve' ? entry.lfs : null
  const etag = `"${lfs ? lfs.oid : entry.oid}"`
  const headers: Record<string, string> = {
    'X-Repo-Commit': commit,
    ETag: etag,
    'Accept-Ranges': 'bytes',
    'Content-Type': contentTypeFor(path),
    'Content-Disposition': contentDisposition(path),
    'Cache-Control': HEX40.test(rev) && repo.private === 0 ? 'public, max-age=31536000, immutable' : 'private, no-cache',
  }
  if (lfs) Object.assign(headers, { 'X-Linked-Etag': etag, 'X-Linked-Size': String(lfs.size) })
  // Files stored through Xet: the signals that let Xet clients reconstruct them (docs/xet-protocol.md §1.3).
  const xet = lfs && ctx.config.xet ? ctx.xet.downloadInfo(repo, commit, lfs.oid) : null
  if (xet) {
    headers['X-Xet-Hash'] = xet.hash
    headers.Link = `<${xet.refreshUrl}>; rel="xet-auth", <${xet.reconstructionUrl}>; rel="xet-reconstruction-info"`
  }
  return ctx.content.remember<FileAnswer>(refs, `${kind}:${url}`, {
    path,
    size: lfs ? lfs.size : kind === 'raw' && entry.lfs ? entry.lfs.pointerSize : entry.size,
    lfsOid: lfs?.oid ?? null,
    blobOid: entry.oid,
    etag,
    headers,
    xet,
  })
}

async function sendBody(
  ctx: Context,
  request: FastifyRequest,
  reply: FastifyReply,
  f: { size: number; lfsOid: string | null; blobOid: string; repo: RepoRow },
) {
  const range = request.method === 'HEAD' ? ({ kind: 'full' } as const) : parseRange(request.headers.range, f.size)
  if (range.kind === 'unsatisfiable') throw errors.rangeNotSatisfiable(f.size)
  const start = range.kind === 'partial' ? range.start : 0
  const end = range.kind === 'partial' ? range.end : f.size - 1
  if (range.kind === 'partial') reply.code(206).header('Content-Range', `bytes ${start}-${end}/${f.size}`)
  reply.header('Content-Length', String(f.size === 0 ? 0 : end - start + 1))
  if (request.method === 'HEAD') return reply.send()
  if (!f.lfsOid) {
    const blob = await ctx.content.readBlob(f.repo, f.blobOid)
    return reply.send(range.kind === 'partial' ? blob.subarray(start, end + 1) : blob)
  }
  if (f.size === 0) return reply.send(Buffer.alloc(0))
  try {
    // @NOTE: the fs driver writes to the socket through reused 1 MiB buffers instead of
    // reply.send(ReadStream), whose per-read allocations cost GC time (bench/README.md). Headers
    // are all set by now.
    const blob = await ctx.blobs.openRange(f.lfsOid, { start, end })
    reply.hijack()
    reply.raw.writeHead(reply.statusCode, reply.getHeaders() as OutgoingHttpHeaders)
    await blob.sendTo(reply.raw).catch((err: unknown) => request.log.warn({ err }, 'LFS download failed midway'))
    return reply
  } catch (err) {
    if (err instanceof BlobNotFoundError) throw new HubError(500, 'The LFS object of this file is missing from storage')
    throw err
  }
}
