import t from 'tap'
import { queryBool, queryList } from '../../server/protocol/query.js'

t.test('queryBool: the spellings clients send', async (t) => {
  for (const v of ['true', 'True', 'TRUE', '1', 'yes', 'Yes', true]) t.equal(queryBool(v), true, JSON.stringify(v))
  for (const v of ['false', 'False', '0', 'no', 'NO', '', false]) t.equal(queryBool(v, true), false, JSON.stringify(v))
})

t.test('queryBool: anything else falls back', async (t) => {
  for (const v of ['maybe', 'on', 'off', 'truthy', '2', ' true', undefined, null, 1, {}]) {
    t.equal(queryBool(v), false, `${JSON.stringify(v)} → default false`)
    t.equal(queryBool(v, true), true, `${JSON.stringify(v)} → fallback true`)
  }
})

t.test('queryBool: a repeated key takes the last value', async (t) => {
  t.equal(queryBool(['true', 'false']), false)
  t.equal(queryBool(['0', '1']), true)
  t.equal(queryBool([], true), true, 'empty list → fallback')
})

t.test('queryList', async (t) => {
  t.same(queryList({}, 'expand'), [])
  t.same(queryList({ expand: 'likes' }, 'expand'), ['likes'])
  t.same(queryList({ expand: ['likes', 'downloads'] }, 'expand'), ['likes', 'downloads'], 'repeated key')
  t.same(queryList({ 'expand[]': 'formatted' }, 'expand'), ['formatted'], 'bracket form')
  t.same(queryList({ 'expand[]': ['a', 'b'] }, 'expand'), ['a', 'b'])
  t.same(queryList({ expand: 'a', 'expand[]': ['b', 'c'] }, 'expand'), ['a', 'b', 'c'], 'both forms')
  t.same(queryList({ expand: 3, filter: 'x' }, 'expand'), [], 'non-string single value ignored')
  t.same(queryList({ expandx: 'a', 'expand[x]': 'b' }, 'expand'), [], 'other keys ignored')
  t.same(queryList({ filter: [1, 'b'] }, 'filter'), ['1', 'b'], 'array members stringified')
})
