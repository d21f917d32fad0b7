import t from 'tap'
import {
  parseRepoType,
  repoPartProblem,
  RESERVED_NAMESPACES,
  SEGMENT_BY_TYPE,
  TYPE_BY_SEGMENT,
  URL_PREFIX,
} from '../../server/protocol/repo-id.js'

t.test('valid parts (hub-py validate_repo_id)', async (t) => {
  for (const p of ['a', 'bert-base', 'bert_base.v2', 'A1', 'x'.repeat(96), 'a.b-c_d', 'gpt2', '_x', 'x_', 'v1.0']) {
    t.equal(repoPartProblem(p, 'name'), null, p)
  }
})

t.test('invalid parts', async (t) => {
  const cases: [string, RegExp][] = [
    ['', /1 to 96/],
    ['x'.repeat(97), /1 to 96/],
    ['a b', /may only contain/],
    ['a/b', /may only contain/],
    ['café', /may only contain/],
    ['a+b', /may only contain/],
    ['.a', /start or end/],
    ['-a', /start or end/],
    ['a.', /start or end/],
    ['a-', /start or end/],
    ['a--b', /"--"/],
    ['a..b', /"\.\."/],
    ['model.git', /\.git/],
    ['model.GIT', /\.git/],
  ]
  for (const [p, why] of cases) {
    const problem = repoPartProblem(p, 'name')
    t.match(problem ?? '', why, JSON.stringify(p))
    t.match(problem ?? '', /^name /, 'the message names the part')
  }
})

t.test('type mappings are inverse of each other', async (t) => {
  t.same(TYPE_BY_SEGMENT, { models: 'model', datasets: 'dataset', spaces: 'space' })
  for (const [segment, type] of Object.entries(TYPE_BY_SEGMENT)) t.equal(SEGMENT_BY_TYPE[type], segment)
  t.same(URL_PREFIX, { model: '', dataset: 'datasets/', space: 'spaces/' })
})

t.test('parseRepoType', async (t) => {
  t.equal(parseRepoType(undefined), 'model')
  t.equal(parseRepoType(null), 'model')
  t.equal(parseRepoType('model'), 'model')
  t.equal(parseRepoType('dataset'), 'dataset')
  t.equal(parseRepoType('space'), 'space')
  for (const bad of ['models', 'datasets', 'Model', 'kernel', '', 1, {}]) t.equal(parseRepoType(bad), null, JSON.stringify(bad))
})

t.test('reserved namespaces (docs/hub-api.md §1.3)', async (t) => {
  for (const ns of ['api', 'models', 'datasets', 'spaces', 'kernels', 'buckets']) t.ok(RESERVED_NAMESPACES.has(ns), ns)
  t.notOk(RESERVED_NAMESPACES.has('acme'))
})
