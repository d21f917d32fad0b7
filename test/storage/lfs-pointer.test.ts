import t from 'tap'
import { formatPointer, MAX_POINTER_SIZE, parsePointer } from '../../storage/formats/lfs-pointer.js'

const OID = 'c4b1e8f9a2d3c4b5a6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d'
const canonical = (size: number | string, oid = OID) =>
  `version https://git-lfs.github.com/spec/v1\noid sha256:${oid}\nsize ${size}\n`

t.test('formatPointer writes the three canonical lines (Appendix B)', async (t) => {
  t.equal(formatPointer({ oid: OID, size: 497774208 }), canonical(497774208))
  t.equal(Buffer.byteLength(formatPointer({ oid: OID, size: 123456789 })), 134, 'pointerSize for a 9-digit size')
  for (const size of [0, 7, 10, 99999, 2 ** 40]) {
    const len = Buffer.byteLength(formatPointer({ oid: OID, size }))
    t.equal(len, 43 + 76 + 6 + String(size).length, `43 + 76 + (6 + digits) for ${size}`)
  }
})

t.test('parse(format(p)) round-trips', async (t) => {
  for (const size of [0, 1, 4, 497774208, Number.MAX_SAFE_INTEGER]) {
    const text = formatPointer({ oid: OID, size })
    t.same(parsePointer(Buffer.from(text)), { oid: OID, size })
    t.same(parsePointer(new TextEncoder().encode(text)), { oid: OID, size }, 'a plain Uint8Array works too')
  }
})

t.test('anything else is not a pointer', async (t) => {
  const bad: [string, string][] = [
    ['', 'empty'],
    [canonical(5).replace(/\n/g, '\r\n'), 'CRLF'],
    [canonical(5).slice(0, -1), 'no final newline'],
    [canonical(5) + '\n', 'extra blank line'],
    [canonical(5) + 'ext-0-foo sha256:x\n', 'extra key'],
    [' ' + canonical(5), 'leading space'],
    [canonical(5, OID.toUpperCase()), 'uppercase oid'],
    [canonical(5, OID.slice(1)), 'short oid'],
    [canonical(5, OID + '0'), 'long oid'],
    [canonical(-5), 'negative size'],
    [canonical('1.5'), 'fractional size'],
    [canonical(''), 'missing size'],
    [canonical('9007199254740993'), 'size beyond safe integers'],
    [canonical(5).replace('sha256:', 'sha1:'), 'other algorithm'],
    [canonical(5).replace('/v1', '/v2'), 'other version'],
    [canonical(5).replace('https://git-lfs.github.com/spec/v1', 'https://hawser.github.com/spec/v1'), 'pre-release version url'],
    ['oid sha256:' + OID + '\nversion https://git-lfs.github.com/spec/v1\nsize 5\n', 'lines out of order'],
    ['{"model_type": "bert"}\n', 'a regular file'],
  ]
  for (const [text, why] of bad) t.equal(parsePointer(Buffer.from(text)), null, why)
  t.equal(parsePointer(new Uint8Array([0xff, 0xfe, 0, 1])), null, 'binary')
})

t.test('size limit', async (t) => {
  t.equal(MAX_POINTER_SIZE, 1024)
  const big = Buffer.concat([Buffer.from(canonical(5)), Buffer.alloc(MAX_POINTER_SIZE, 0x20)])
  t.equal(parsePointer(big), null, 'over 1024 bytes is never a pointer')
})
