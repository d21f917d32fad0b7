/**
 * Users, orgs and tokens through the admin HTTP API (issue 5), for the access and client tests. Not a test file.
 */
import { ADMIN_TOKEN } from './server.js'

export interface IssuedToken {
  id: string
  token: string
  name: string
  role: 'read' | 'write'
  user: string
  createdAt: string
  expiresAt: string | null
}

/** A call to the admin API with the site admin's token; throws unless 200. */
export async function adminCall<T = unknown>(baseUrl: string, method: string, path: string, body?: unknown, token = ADMIN_TOKEN): Promise<T> {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  const text = await res.text()
  if (res.status !== 200) throw new Error(`${method} ${path}: ${res.status} ${text}`)
  return (text ? JSON.parse(text) : null) as T
}

export const createUser = (url: string, name: string, fullname?: string) =>
  adminCall<{ id: string; name: string; type: string }>(url, 'POST', '/api/admin/users', { name, ...(fullname ? { fullname } : {}) })

export const createOrg = (url: string, name: string, fullname?: string) =>
  adminCall<{ id: string; name: string; type: string }>(url, 'POST', '/api/admin/orgs', { name, ...(fullname ? { fullname } : {}) })

export const addMember = (url: string, org: string, user: string, role: 'read' | 'write' | 'admin') =>
  adminCall(url, 'PUT', `/api/admin/orgs/${encodeURIComponent(org)}/members/${encodeURIComponent(user)}`, { role })

export const createToken = (url: string, user: string, role: 'read' | 'write', extra: { name?: string; expiresAt?: string } = {}) =>
  adminCall<IssuedToken>(url, 'POST', '/api/admin/tokens', { user, role, ...extra })

export const revokeToken = (url: string, id: string) => adminCall(url, 'DELETE', `/api/admin/tokens/${encodeURIComponent(id)}`)

/** POST /api/repos/create with `token`; returns the repo id; throws unless 200. */
export async function createRepoWith(url: string, token: string, namespace: string, name: string, priv: boolean, type?: string): Promise<string> {
  const res = await fetch(`${url}/api/repos/create`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name, organization: namespace, private: priv, ...(type ? { type } : {}) }),
  })
  if (res.status !== 200) throw new Error(`create ${namespace}/${name}: ${res.status} ${await res.text()}`)
  return ((await res.json()) as { name: string }).name
}
