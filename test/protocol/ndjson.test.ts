import { Readable } from 'node:stream'
import t from 'tap'
import { BodyTooLargeError, ndjsonLines } from '../../server/protocol/ndjson.js'

async function* chunks(...parts: (Buffer | string)[]): AsyncGenerator<Buffer | string> {
  for (const p of parts) yield p
}

async function collect(source: AsyncIterable<Buffer | string>, max = 1 << 20): Promise<string[]> {
  const out: string[] = []
  for await (const l of ndjsonLines(source, max)) out.push(l)
  return out
}

t.test('one line per newline, trailing newline (py)', async (t) => {
  t.same(await collect(chunks('{"a":1}\n{"b":2}\n')), ['{"a":1}', '{"b":2}'])
})

t.test('no trailing newline (js): the last line is still yielded', async (t) => {
  t.same(await collect(chunks('{"a":1}\n{"b":2}')), ['{"a":1}', '{"b":2}'])
  t.same(await collect(chunks('only')), ['only'])
})

t.test('empty body', async (t) => {
  t.same(await collect(chunks()), [])
  t.same(await collect(chunks('')), [])
  t.same(await collect(chunks(Buffer.alloc(0), Buffer.alloc(0))), [])
})

t.test('lines split across chunks', async (t) => {
  t.same(await collect(chunks('{"a"', ':1}\n{"b', '":2', '}\n', '{"c":3}')), ['{"a":1}', '{"b":2}', '{"c":3}'])
  t.same(await collect(chunks('x', '\n', 'y', '\n')), ['x', 'y'], 'newline alone in a chunk')
  t.same(await collect(chunks('a\nb\nc\n')), ['a', 'b', 'c'], 'several lines in a chunk')
})

t.test('every split point of a body gives the same lines', async (t) => {
  const body = Buffer.from('{"key":"header","value":{"summary":"é😀"}}\n{"key":"file"}\n\n{"x":"日本"}')
  const expected = await collect(chunks(body))
  t.equal(expected.length, 4)
  for (let i = 0; i <= body.length; i++) {
    for (let j = i; j <= body.length; j += 7) {
      const got = await collect(chunks(body.subarray(0, i), body.subarray(i, j), body.subarray(j)))
      if (JSON.stringify(got) !== JSON.stringify(expected)) {
        t.fail(`split at ${i}/${j}: ${JSON.stringify(got)}`)
        return
      }
    }
  }
  t.pass('all splits agree')
})

t.test('a multi-byte character split across chunks is decoded whole', async (t) => {
  const euro = Buffer.from('€')
  t.same(await collect(chunks(Buffer.concat([Buffer.from('"'), euro.subarray(0, 1)]), Buffer.concat([euro.subarray(1), Buffer.from('"\n')]))), [
    '"€"',
  ])
  const emoji = Buffer.from('😀')
  t.same(await collect(chunks(emoji.subarray(0, 1), emoji.subarray(1, 2), emoji.subarray(2, 3), emoji.subarray(3))), ['😀'])
})

t.test('blank lines come through as empty strings, in order', async (t) => {
  t.same((await collect(chunks('a\n\nb\n\n'))).filter((l) => l !== ''), ['a', 'b'])
})

t.test('string and Buffer chunks mix; a Node Readable works as the source', async (t) => {
  t.same(await collect(chunks('a', Buffer.from('b\nc'))), ['ab', 'c'])
  t.same(await collect(Readable.from([Buffer.from('x\ny'), Buffer.from('z\n')])), ['x', 'yz'])
})

t.test('size limit', async (t) => {
  t.same(await collect(chunks('12345\n', '789'), 9), ['12345', '789'], 'exactly at the limit is fine')
  await t.rejects(collect(chunks('12345\n', '7890'), 9), BodyTooLargeError, 'one byte over')
  await t.rejects(collect(chunks('x'.repeat(100)), 10), BodyTooLargeError, 'one long line')

  // Lines before the limit have been handed out; the error stops the iteration.
  const seen: string[] = []
  const err = await (async () => {
    for await (const l of ndjsonLines(chunks('a\n', 'b\n', 'cccccccc\n', 'd\n'), 6)) seen.push(l)
  })().then(
    () => null,
    (e: unknown) => e,
  )
  t.type(err, BodyTooLargeError)
  t.equal((err as Error).name, 'BodyTooLargeError')
  t.same(seen, ['a', 'b'])

  // The limit counts bytes, not characters.
  await t.rejects(collect(chunks('éééé'), 7), BodyTooLargeError, '8 bytes in 4 characters')
})

t.test('stops reading the source once the limit is exceeded', async (t) => {
  let pulled = 0
  async function* endless() {
    for (;;) {
      pulled++
      yield 'x'.repeat(100)
    }
  }
  await t.rejects(collect(endless(), 1000), BodyTooLargeError)
  t.ok(pulled <= 11, `pulled ${pulled} chunks`)
})
