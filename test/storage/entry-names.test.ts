import t from 'tap'
import { entryNameProblem, NfcNames } from '../../storage/git/entry-names.js'

t.test('names over 255 bytes, counted in UTF-8', async (t) => {
  t.equal(entryNameProblem('x', 'a'.repeat(255)), null)
  t.match(entryNameProblem('x', 'a'.repeat(256)), /256 bytes/)
  t.equal(entryNameProblem('x', 'é'.repeat(127)), null, '254 bytes')
  t.match(entryNameProblem('x', 'é'.repeat(128)), /256 bytes/, '128 characters')
})

t.test('NFC twins among siblings', async (t) => {
  const names = ['README.md', 'caf\u00e9', '\u212a', 'x']
  const index = new NfcNames(names)
  const has = (n: string) => names.includes(n)
  t.equal(index.twinOf('cafe\u0301', has), 'caf\u00e9', 'decomposed next to composed')
  t.equal(index.twinOf('K', has), '\u212a', 'an ASCII name next to a non-ASCII one with that NFC form')
  t.equal(index.twinOf('caf\u00e9', has), null, 'a name is not its own twin')
  t.equal(index.twinOf('new', has), null)
  t.equal(index.twinOf('x\u0301', has), null, 'a different name')
  t.equal(new NfcNames(['cafe\u0301']).twinOf('caf\u00e9', (n) => n === 'cafe\u0301'), 'cafe\u0301', 'composed next to decomposed')
  t.equal(index.twinOf('cafe\u0301', (n) => n !== 'caf\u00e9'), null, 'a removed name has no twin')
  t.same(NfcNames.twins(['a', 'b']), [])
  t.same(NfcNames.twins(['caf\u00e9', 'a', 'cafe\u0301']), [['caf\u00e9', 'cafe\u0301']])
})
