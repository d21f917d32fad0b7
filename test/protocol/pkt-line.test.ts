import t from 'tap'
import { FLUSH_PKT, gitProtocolParam, parseRefUpdates, pktLine, servicePreamble, wantsV2 } from '../../server/protocol/pkt-line.js'

t.test('pkt-line framing', async (t) => {
  t.equal(pktLine('a\n').toString(), '0006a\n', 'length counts its own four digits')
  t.equal(pktLine('').toString(), '0004')
  t.equal(FLUSH_PKT.toString(), '0000')
  t.equal(servicePreamble('git-upload-pack').toString(), '001e# service=git-upload-pack\n0000')
  t.equal(pktLine(Buffer.alloc(65516)).length, 65520, 'the largest packet')
  t.throws(() => pktLine(Buffer.alloc(65517)), RangeError)
})

t.test('Git-Protocol header', async (t) => {
  t.equal(gitProtocolParam('version=2'), 'version=2')
  t.equal(gitProtocolParam(['version=2:object-format=sha1']), 'version=2:object-format=sha1')
  t.equal(gitProtocolParam(undefined), null)
  t.equal(gitProtocolParam('version=2; rm -rf /'), null, 'nothing that is not key=value pairs')
  t.ok(wantsV2('version=2'))
  t.ok(wantsV2('object-format=sha1:version=2'))
  t.notOk(wantsV2('version=1'))
  t.notOk(wantsV2(null))
})

t.test('pre-receive ref update lines', async (t) => {
  const a = 'a'.repeat(40)
  const z = '0'.repeat(40)
  t.same(parseRefUpdates(`${z} ${a} refs/heads/main\n${a} ${z} refs/tags/v1\n`), [
    { old: z, new: a, ref: 'refs/heads/main' },
    { old: a, new: z, ref: 'refs/tags/v1' },
  ])
  t.same(parseRefUpdates(''), [])
  t.throws(() => parseRefUpdates(`${a} ${a} main\n`), /malformed/)
  t.throws(() => parseRefUpdates(`${a} ${a}\n`), /malformed/)
})
