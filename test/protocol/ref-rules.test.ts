import t from 'tap'
import { refChangeProblem } from '../../server/protocol/ref-rules.js'

const A = 'a'.repeat(40)
const B = 'b'.repeat(40)

t.test('the rules a ref change keeps, from the API or a push', async (t) => {
  const rule = (ref: string, old: string | null, next: string | null) => refChangeProblem({ ref, old, next }, 'main')
  t.equal(rule('refs/heads/feature', null, A), null, 'a new branch')
  t.equal(rule('refs/heads/feature', A, B), null, 'a branch moves')
  t.equal(rule('refs/heads/feature', A, null), null, 'a branch is deleted')
  t.equal(rule('refs/tags/v1', null, A), null, 'a new tag')
  t.equal(rule('refs/tags/v1', A, null), null, 'a tag is deleted')
  t.match(rule('refs/tags/v1', A, B), { status: 409, message: /Tag v1 already exists/ }, 'a tag never moves')
  t.match(rule('refs/tags/v1', A, A), { status: 409 }, 'nor is created twice')
  t.match(rule('refs/heads/main', A, null), { status: 403, message: /default branch/ }, 'the default branch stays')
  t.match(rule('refs/heads/HEAD', null, A), { status: 400, message: /"HEAD" is reserved/ })
  t.match(rule('refs/tags/HEAD', null, A), { status: 400, message: /Invalid tag name/ })
  t.match(rule('refs/heads/refs/heads/x', null, A), { status: 400, message: /reserved/ })
  t.match(rule(`refs/heads/${A}`, null, A), { status: 400, message: /commit id/ })
  t.match(rule('refs/heads/', null, A), { status: 400, message: /empty/ })
  t.match(rule('refs/pr/1', null, A), { status: 403, message: /only branches/ })
  t.match(rule('refs/notes/x', null, A), { status: 403 })
})
