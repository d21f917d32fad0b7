import { Type, type Static } from '@sinclair/typebox'
import type { UserRow } from '../../../storage/db/users-table.js'

export const NameParams = Type.Object({ name: Type.String({ maxLength: 200 }) })
export type NameParams = Static<typeof NameParams>

export const Account = Type.Object({
  id: Type.String(),
  name: Type.String(),
  type: Type.Union([Type.Literal('user'), Type.Literal('org')]),
  fullname: Type.String(),
  isAdmin: Type.Boolean(),
  createdAt: Type.String(),
})

export function accountJson(u: UserRow): Static<typeof Account> {
  return { id: u.id, name: u.name, type: u.type, fullname: u.fullname, isAdmin: u.is_admin === 1, createdAt: u.created_at }
}

