import { Type } from '@sinclair/typebox'
import type { RepoRow } from '../../storage/db/repos-table.js'
import type { FileEntry } from '../services/content-service.js'

const Sibling = Type.Object({
  rfilename: Type.String(),
  size: Type.Optional(Type.Number()),
  blobId: Type.Optional(Type.String()),
  lfs: Type.Optional(Type.Object({ size: Type.Number(), sha256: Type.String(), pointerSize: Type.Number() })),
})

/** Repo info (docs/hub-api.md §3.5) and listing entries (docs/hub-api.md §10) share this shape; listings omit siblings. */
export const RepoInfoSchema = Type.Object({
  _id: Type.String(),
  id: Type.String(),
  modelId: Type.Optional(Type.String()),
  author: Type.String(),
  sha: Type.Optional(Type.String()),
  lastModified: Type.String(),
  createdAt: Type.String(),
  private: Type.Boolean(),
  gated: Type.Union([Type.Literal(false), Type.Literal('auto'), Type.Literal('manual')]),
  disabled: Type.Boolean(),
  downloads: Type.Number(),
  likes: Type.Number(),
  tags: Type.Array(Type.String()),
  pipeline_tag: Type.Optional(Type.String()),
  library_name: Type.Optional(Type.String()),
  sdk: Type.Optional(Type.String()),
  cardData: Type.Optional(Type.Object({}, { additionalProperties: true })),
  siblings: Type.Optional(Type.Array(Sibling)),
  usedStorage: Type.Number(),
})

export interface RepoFacts {
  sha: string | null
  lastModified: string
  tags: string[]
  cardData: Record<string, unknown> | null
  pipelineTag: string | null
  libraryName: string | null
  usedStorage: number
}

/** The JSON object clients read for a repo; `siblings` only when given (repo info, not listings). */
export function repoInfoJson(repo: RepoRow, facts: RepoFacts, siblings?: { files: FileEntry[]; blobs: boolean }) {
  const id = `${repo.namespace}/${repo.name}`
  return {
    _id: repo.id,
    id,
    ...(repo.type === 'model' ? { modelId: id } : {}),
    author: repo.namespace,
    ...(facts.sha ? { sha: facts.sha } : {}),
    lastModified: facts.lastModified,
    createdAt: repo.created_at,
    private: repo.private === 1,
    gated: repo.gated ?? (false as const),
    disabled: repo.disabled === 1,
    downloads: repo.downloads,
    likes: repo.likes,
    tags: facts.tags,
    ...(facts.pipelineTag ? { pipeline_tag: facts.pipelineTag } : {}),
    ...(facts.libraryName ? { library_name: facts.libraryName } : {}),
    ...(repo.sdk ? { sdk: repo.sdk } : {}),
    ...(facts.cardData ? { cardData: facts.cardData } : {}),
    ...(siblings
      ? {
          siblings: siblings.files.map((f) =>
            siblings.blobs
              ? {
                  rfilename: f.path,
                  size: f.size,
                  blobId: f.oid,
                  ...(f.lfs ? { lfs: { size: f.lfs.size, sha256: f.lfs.oid, pointerSize: f.lfs.pointerSize } } : {}),
                }
              : { rfilename: f.path },
          ),
        }
      : {}),
    usedStorage: facts.usedStorage,
  }
}
