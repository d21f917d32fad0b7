import t from 'tap'
import { looksBinary, uploadMode } from '../../server/protocol/upload-mode.js'
import { DEFAULT_GITATTRIBUTES, LfsAttributes } from '../../storage/formats/gitattributes.js'

const attrs = new LfsAttributes(DEFAULT_GITATTRIBUTES)
const none = new LfsAttributes('')
const text = Buffer.from('{"model_type": "bert"}\n')
const MB = 1024 * 1024

t.test('uploadMode follows docs/hub-api.md §5.4 in order', async (t) => {
  t.equal(uploadMode({ path: 'empty.bin', size: 0, sample: Buffer.alloc(0) }, attrs, 10 * MB), 'regular', 'empty wins over an LFS rule')
  t.equal(uploadMode({ path: 'lfs.bin', size: 4, sample: Buffer.from('abcd') }, attrs, 10 * MB), 'lfs', 'a .gitattributes rule, however small')
  t.equal(uploadMode({ path: 'sub/test.lfs.txt', size: 5, sample: Buffer.from('hello') }, attrs, 10 * MB), 'lfs')
  t.equal(uploadMode({ path: 'big.txt', size: 10 * MB, sample: text }, attrs, 10 * MB), 'lfs', 'at the threshold')
  t.equal(uploadMode({ path: 'big.txt', size: 10 * MB - 1, sample: text }, attrs, 10 * MB), 'regular', 'just below it')
  t.equal(uploadMode({ path: 'data.dat', size: 100, sample: Buffer.from([1, 0, 2]) }, attrs, 10 * MB), 'lfs', 'binary sample')
  t.equal(uploadMode({ path: 'config.json', size: 24, sample: text }, attrs, 10 * MB), 'regular')
  t.equal(uploadMode({ path: 'model.safetensors', size: 24, sample: text }, none, 10 * MB), 'regular', 'no rules: the content decides')
})

t.test('looksBinary: text', async (t) => {
  t.equal(looksBinary(Buffer.alloc(0)), false, 'empty')
  t.equal(looksBinary(Buffer.from('plain ascii\n\ttabs\r\n')), false)
  t.equal(looksBinary(Buffer.from('UTF-8: é € 😀 日本語')), false)
  t.equal(looksBinary(Buffer.from('\uFEFFwith a BOM')), false)
})

t.test('looksBinary: a multi-byte sequence cut at the end of the sample is not binary', async (t) => {
  for (const ch of ['é', '€', '😀']) {
    const whole = Buffer.from(`${'x'.repeat(509)}${ch}`)
    for (let cut = 1; cut < Buffer.byteLength(ch); cut++) {
      const sample = whole.subarray(0, whole.length - cut)
      t.equal(looksBinary(sample), false, `${ch} missing its last ${cut} byte(s)`)
    }
  }
  t.equal(looksBinary(Buffer.from('€').subarray(0, 2)), false, 'nothing but a cut sequence')
})

t.test('looksBinary: NUL and invalid UTF-8 are binary', async (t) => {
  t.equal(looksBinary(Buffer.from([0])), true, 'a lone NUL')
  t.equal(looksBinary(Buffer.from('text\u0000more text')), true, 'NUL in text')
  t.equal(looksBinary(Buffer.from('ends with NUL\u0000')), true, 'NUL at the end')
  t.equal(looksBinary(Buffer.from([0x68, 0x69, 0xe9, 0x20, 0x61, 0x62, 0x63])), true, 'latin-1 é in the middle')
  t.equal(looksBinary(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('abcdef')])), true, 'invalid lead bytes')
  t.equal(looksBinary(Buffer.concat([Buffer.from('€').subarray(0, 2), Buffer.from('abcdef')])), true, 'a cut sequence that is not at the end')
  t.equal(looksBinary(Buffer.from([0xed, 0xa0, 0x80, 0x61, 0x62, 0x63, 0x64])), true, 'an encoded surrogate')
  t.equal(looksBinary(Buffer.from([0xc0, 0xaf, 0x61, 0x62, 0x63, 0x64])), true, 'an overlong encoding')
})

// @NOTE: regression tests for a bug: the last 3 bytes were dropped whatever they were, so bytes that
// can never start a UTF-8 sequence went unnoticed at the end of a sample (and short samples passed).
t.test('looksBinary: invalid bytes at the end are still binary (bug: only a cut sequence may be ignored)', async (t) => {
  t.equal(looksBinary(Buffer.concat([Buffer.from('abcdef'), Buffer.from([0xff])])), true, 'trailing 0xFF')
  t.equal(looksBinary(Buffer.concat([Buffer.from('abcdef'), Buffer.from([0x80])])), true, 'trailing lone continuation byte')
  t.equal(looksBinary(Buffer.concat([Buffer.from('abcdef'), Buffer.from([0xc3, 0x28])])), true, 'lead byte followed by ASCII')
  t.equal(looksBinary(Buffer.from([0xff, 0xfe, 0xfd])), true, 'a three-byte binary sample')
  t.equal(looksBinary(Buffer.from([0x89])), true, 'a one-byte binary sample')
})
